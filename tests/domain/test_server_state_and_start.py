"""What an Envoy's admin data says about the server: the ``server.state`` gauge read as ``/ready`` names
it, and the Envoy's start dated from the uptime ``/server_info`` gave when it was read (sources pass
facts; the domain interprets them)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.model import EnvoyStats, ParseError, ServerInfo
from gloomon.domain.parse.metrics import server_state
from tests.domain.certs import NOW, make_ca, make_leaf
from tests.domain.fleet_helpers import fetch, secret, snap


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"server.state": 0, "server.uptime": 12}, "LIVE"),
        ({"server.state": 1, "server.uptime": 12}, "DRAINING"),
        ({"server.state": 3, "server.uptime": 12}, "INITIALIZING"),
        ({"server.state": 0, "server.uptime": 0}, None),  # before Envoy's first stats flush: not trusted
        ({"server.state": 9, "server.uptime": 12}, None),
        ({"server.uptime": 12}, None),
    ],
)
def test_server_state_from_the_stats_gauge(raw: dict[str, int | str], expected: str | None) -> None:
    assert server_state(EnvoyStats(raw=raw)) == expected


def test_no_server_state_from_unparseable_stats() -> None:
    assert server_state(ParseError("/stats", "bad")) is None


def test_the_envoy_start_is_dated_from_when_server_info_was_read_not_from_each_poll() -> None:
    """/server_info is read once; polls an hour later pass the same answer on, with when it was read."""
    ca = make_ca()
    leaf = make_leaf(ca)
    read_at = NOW - timedelta(hours=1)
    first = fetch("gateway-proxy-1", leaf.info, [ca.info], uptime=30.0)
    assert isinstance(first.server, ServerInfo)
    later = replace(first, server=replace(first.server, read_at=read_at))
    (target,) = snap([later], [secret(leaf.info, [ca.info])]).targets
    assert target.envoy_started_at == read_at - timedelta(seconds=30)
    (fresh,) = snap([first], [secret(leaf.info, [ca.info])]).targets  # read with this poll
    assert fresh.envoy_started_at == NOW - timedelta(seconds=30)
