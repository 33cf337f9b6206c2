"""gRPC SDS judged from its own stats, on real Envoy outputs (``capture_links.py``): an sds container that
died after delivering, and one that was never there when the Envoy started."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from gloomon.domain.cells import sds_stream_words
from gloomon.domain.model import AdminFetch, Component, EnvoyStats, SecretsDump
from gloomon.domain.parse.envoy import parse_secrets_dump, parse_stats
from gloomon.domain.parse.logs import parse_log_line
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap

FIXTURES = Path(__file__).parent / "fixtures"
POD = "gateway-proxy-1"


def real_stats(name: str) -> EnvoyStats:
    stats = parse_stats((FIXTURES / f"links_{name}_stats.txt").read_bytes())
    assert isinstance(stats, EnvoyStats)
    return stats


def holding(stats: str, *, at=NOW) -> AdminFetch:  # type: ignore[no-untyped-def]
    """A gateway-proxy holding the secret's certificates, with the real stats ``stats``."""
    rot = rotation()
    return replace(fetch(POD, rot.leaf_new.info, [rot.ca_new.info], at=at), stats=real_stats(stats))


def poll(answer: AdminFetch, *, at=NOW, previous=None, logs=()):  # type: ignore[no-untyped-def]
    rot = rotation()
    return snap(
        [answer], [secret(rot.leaf_new.info, [rot.ca_new.info])], at=at, previous=previous, log_events=logs
    )


def test_an_open_sds_stream_is_no_finding() -> None:
    result = poll(holding("connected_gw"))
    assert not [f for f in result.findings if f.code.startswith("sds-")]
    assert sds_stream_words(result.targets[0], NOW) == "open"


def test_sds_died_after_delivering_warns_before_any_rotation_is_missed() -> None:
    first = poll(holding("sds_died_gw"))
    assert codes(first)["sds-stream-down"] == [("info", POD)]  # a restarted sds is back within 30 s
    at = NOW + timedelta(seconds=40)
    later = poll(holding("sds_died_gw", at=at), at=at, previous=first)
    assert codes(later)["sds-stream-down"] == [("warning", POD)]
    finding = next(f for f in later.findings if f.code == "sds-stream-down")
    assert "will miss the next rotation" in finding.message
    assert (
        "20 failed updates" in finding.message
        and "18 failed connects to gateway_proxy_sds" in finding.message
    )
    assert "logs gateway-proxy-1 -c sds --previous" in finding.hint
    assert "target-lagging" not in codes(later) and later.targets[0].in_sync_with_secret is True
    assert sds_stream_words(later.targets[0], at) == "closed for 40s · 20 failed updates"


def test_the_logged_sds_stream_close_dates_it_on_the_first_poll() -> None:
    line = (FIXTURES / "links_sds_died_gw_log.txt").read_text().splitlines()[3]
    event = parse_log_line(line, component=Component.GATEWAY_PROXY, pod=POD, container="gateway-proxy")
    assert event.fields["method"] == "StreamSecrets" and event.fields["failing_seconds"] == "60"
    assert event.ts is not None
    at = event.ts + timedelta(seconds=5)
    result = poll(holding("sds_died_gw", at=at), at=at, logs=[event])
    assert result.targets[0].sds_down_since == event.ts - timedelta(seconds=60)
    assert codes(result)["sds-stream-down"] == [("warning", POD)]


def test_secrets_whose_initial_fetch_timed_out_are_the_finding_and_shown_warming() -> None:
    warming = parse_secrets_dump((FIXTURES / "links_sds_never_gw_warming.json").read_bytes(), warming=True)
    assert isinstance(warming, SecretsDump)
    answer = replace(fetch(POD, None, []), stats=real_stats("sds_never_gw"), secrets=warming)
    result = poll(answer)
    assert codes(result)["sds-initial-fetch-timeout"] == [("critical", POD)]
    assert "sds-not-delivered" not in codes(result)  # the same trouble, now with why
    finding = next(f for f in result.findings if f.code == "sds-initial-fetch-timeout")
    assert "server_cert, validation_context timed out" in finding.message
    assert "still warming: server_cert, validation_context" in finding.message
    assert "10 connections refused" in finding.message
    assert "21 failed connects to gateway_proxy_sds" in finding.message
    words = sds_stream_words(result.targets[0], NOW)
    assert words is not None and "warming: server_cert, validation_context" in words
    young = replace(answer, server=replace(answer.server, uptime_seconds=20.0))  # type: ignore[type-var]
    assert codes(poll(young))["sds-initial-fetch-timeout"] == [("info", POD)]
