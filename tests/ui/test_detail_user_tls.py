"""The detail pane shows the user's TLS failures as an information line, apart from the mTLS link."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import EnvoyStats, TlsStats
from gloomon.ui.widgets.detail_pane import detail_renderable
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import fetch, secret, snap
from tests.ui.harness import PALETTE


def _pane(*tls: TlsStats) -> str:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    held = fetch("gateway-proxy-1", leaf, ca)
    assert isinstance(held.stats, EnvoyStats)
    snapshot = snap([replace(held, stats=replace(held.stats, tls=tls))], [secret(leaf, ca)])
    console = Console(width=100, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(detail_renderable(snapshot.targets[0], snapshot, NOW, PALETTE, HealthPolicy()))
    return captured.get()


def test_user_tls_failures_are_an_information_line() -> None:
    text = _pane(
        TlsStats("cluster.xds_cluster", handshake=3),
        TlsStats("listener.[__]_8443", handshake=9, connection_error=12),
    )
    assert "user TLS" in text and "12 TLS failures on user listeners/upstreams" in text
    assert "Findings" not in text


def test_no_user_tls_line_without_user_failures() -> None:
    assert "user TLS" not in _pane(TlsStats("cluster.xds_cluster", handshake=3, fail_verify_error=2))
