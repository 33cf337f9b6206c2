"""The link to gloo judged from the signals production gives, on real Envoy outputs (``capture_links.py``):
no health checks exist there, so ``/clusters`` says healthy whatever the link does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from gloomon.domain.cells import link_words, xds_words
from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import AdminFetch, Component, ContextState, EnvoyStats, LinkState, LogEvent
from gloomon.domain.parse.envoy import parse_stats
from gloomon.domain.parse.logs import parse_log_line
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap

FIXTURES = Path(__file__).parent / "fixtures"


def real_stats(name: str) -> EnvoyStats:
    stats = parse_stats((FIXTURES / f"links_{name}_stats.txt").read_bytes())
    assert isinstance(stats, EnvoyStats)
    return stats


def log_line(name: str, index: int, pod: str, component: Component) -> LogEvent:
    line = (FIXTURES / f"links_{name}_log.txt").read_text().splitlines()[index]
    return parse_log_line(line, component=component, pod=pod, container="gateway-proxy")


def answer(pod: str, stats: str, *, at=NOW, uptime: float = 3600.0) -> AdminFetch:  # type: ignore[no-untyped-def]
    """The pod's answers with ``/clusters`` healthy (as in production: no health checks) and real stats."""
    rot = rotation()
    return replace(
        fetch(pod, rot.leaf_new.info, [rot.ca_new.info], at=at, uptime=uptime), stats=real_stats(stats)
    )


def poll(answers: list[AdminFetch], *, at=NOW, previous=None, logs=()):  # type: ignore[no-untyped-def]
    rot = rotation()
    return snap(
        answers, [secret(rot.leaf_new.info, [rot.ca_new.info])], at=at, previous=previous, log_events=logs
    )


def test_the_stats_filter_reads_the_link_and_sds_stream_counters() -> None:
    connected = real_stats("connected_gw")
    assert connected.control_plane_connected is True
    xds = connected.upstream_for("xds_cluster")
    assert xds is not None and (xds.cx_active, xds.cx_connect_fail, xds.cx_total) == (1, 0, 1)
    server = connected.sds_for("server_cert")
    assert server is not None and server.connected is True and server.init_fetch_timeout == 0
    never = real_stats("sds_never_gw")
    server = never.sds_for("server_cert")
    assert server is not None and server.connected is False and server.init_fetch_timeout == 1
    assert never.secrets_not_ready["cluster.xds_cluster"] == 10
    sds = never.upstream_for("gateway_proxy_sds")
    assert sds is not None and sds.cx_connect_fail == 21
    gloo = real_stats("gloo_down_gloo").upstream_for("gloo_xds_cluster")
    assert gloo is not None and gloo.cx_connect_fail == 10 and gloo.cx_active == 0


def test_connected_gateway_proxy_is_healthy_though_no_health_check_exists() -> None:
    result = poll([answer("gateway-proxy-1", "connected_gw")])
    link = result.targets[0].xds
    assert link is not None and link.state is LinkState.CONNECTED and link.connected is True
    assert xds_words(result.targets[0]) == "healthy"
    assert link_words(result.targets[0], NOW) == "ADS stream open"
    assert not [f for f in result.findings if f.code.startswith("xds-")]


def test_closed_ads_stream_with_healthy_flags_is_a_warning_then_critical() -> None:
    """gloo's process down: TLS to its sidecar succeeds, the stream is cut. /clusters stays healthy."""
    first = poll([answer("gateway-proxy-1", "gloo_down_gw")])
    assert codes(first)["xds-disconnected"] == [("warning", "gateway-proxy-1")]
    message = next(f.message for f in first.findings if f.code == "xds-disconnected")
    assert "control_plane.connected_state 0" in message and "health check" not in message
    assert "come up empty" not in message
    later = NOW + timedelta(minutes=2)
    still = poll([answer("gateway-proxy-1", "gloo_down_gw", at=later)], at=later, previous=first)
    assert codes(still)["xds-disconnected"] == [("warning", "gateway-proxy-1")]
    long = NOW + timedelta(minutes=3, seconds=5)
    gone = poll([answer("gateway-proxy-1", "gloo_down_gw", at=long)], at=long, previous=still)
    assert codes(gone)["xds-disconnected"] == [("critical", "gateway-proxy-1")]
    finding = next(f for f in gone.findings if f.code == "xds-disconnected")
    assert "for 3m5s" in finding.message and "would come up empty after a restart" in finding.message
    assert gone.targets[0].xds_down_since == NOW
    assert xds_words(gone.targets[0]).startswith("down")
    assert link_words(gone.targets[0], long).startswith("ADS stream closed for 3m5s")


def test_the_outage_is_dated_across_a_poll_that_could_not_reach_the_envoy() -> None:
    """Its "down since" carries as every other "since" does: a poll whose admin request failed says
    nothing about the link, so the outage counts from when it was first seen."""
    first = poll([answer("gateway-proxy-1", "gloo_down_gw")])
    later = NOW + timedelta(minutes=1)
    blind = poll(
        [fetch("gateway-proxy-1", None, [], at=later, error="port-forward: reset")], at=later, previous=first
    )
    assert blind.targets[0].xds is None
    long = NOW + timedelta(minutes=3, seconds=5)
    gone = poll([answer("gateway-proxy-1", "gloo_down_gw", at=long)], at=long, previous=blind)
    assert gone.targets[0].xds_down_since == NOW
    assert codes(gone)["xds-disconnected"] == [("critical", "gateway-proxy-1")]


def test_a_young_envoy_disconnected_is_information() -> None:
    result = poll([answer("gateway-proxy-1", "gloo_down_gw", uptime=20)])
    assert codes(result)["xds-disconnected"] == [("info", "gateway-proxy-1")]


def test_the_logged_stream_close_dates_the_outage_on_the_first_poll() -> None:
    """``check`` polls once: "closed since 65s ago" says how long the stream has been failing."""
    event = log_line("gloo_down_gw", 5, "gateway-proxy-1", Component.GATEWAY_PROXY)
    assert event.fields["method"] == "StreamAggregatedResources"
    assert event.fields["failing_seconds"] == "65"
    assert event.ts is not None
    at = event.ts + timedelta(seconds=20)
    result = poll([answer("gateway-proxy-1", "gloo_down_gw", at=at)], at=at, logs=[event])
    link = result.targets[0].xds
    assert link is not None and result.targets[0].xds_down_since == event.ts - timedelta(seconds=65)
    finding = next(f for f in result.findings if f.code == "xds-disconnected")
    assert "for 1m25s" in finding.message and "connection termination" in finding.message
    # a close logged over a minute ago no longer dates this outage (Envoy repeats it at least every 30 s)
    much_later = event.ts + timedelta(seconds=140)
    result = poll([answer("gateway-proxy-1", "gloo_down_gw", at=much_later)], at=much_later, logs=[event])
    assert result.targets[0].xds_down_since == much_later


def test_an_untrusted_gloo_says_tls_in_the_finding() -> None:
    event = log_line("untrusted_gw", 3, "gateway-proxy-1", Component.GATEWAY_PROXY)
    result = poll([answer("gateway-proxy-1", "untrusted_gw")], logs=[event])
    finding = next(f for f in result.findings if f.code == "xds-disconnected")
    assert "TLS_error" in finding.message and "compare this pod's bundle" in finding.hint


def test_sds_streams_closing_are_not_the_link_to_gloo() -> None:
    event = log_line("sds_died_gw", 0, "gateway-proxy-1", Component.GATEWAY_PROXY)
    assert event.fields["method"] == "StreamSecrets"
    result = poll([answer("gateway-proxy-1", "sds_died_gw")], logs=[event])
    link = result.targets[0].xds
    assert link is not None and link.state is LinkState.CONNECTED and link.stream_closed is None


def test_gloo_process_down_behind_a_healthy_sidecar_is_gloos_own_finding() -> None:
    first = poll([answer("gloo-1", "connected_gloo")])
    assert first.targets[0].xds is not None and first.targets[0].xds.state is LinkState.CONNECTED
    assert link_words(first.targets[0], NOW) == "1 client connected through the sidecar"
    at = NOW + timedelta(seconds=10)
    down = poll([answer("gloo-1", "gloo_down_gloo", at=at)], at=at, previous=first)
    assert codes(down)["gloo-process-down"] == [("warning", "gloo-1")]
    finding = next(f for f in down.findings if f.code == "gloo-process-down")
    assert "10 failed connects on gloo_xds_cluster" in finding.message
    assert "logs gloo-1 -c gloo --previous" in finding.hint


def test_an_idle_sidecar_is_no_recent_connection_attempt_not_healthy() -> None:
    """extauth's sidecar with no open connection and no failure: no evidence either way."""
    rot = rotation()
    result = poll([fetch("extauth-1", rot.leaf_new.info, [rot.ca_new.info])])
    target = result.targets[0]
    assert target.xds is not None and target.xds.state is LinkState.IDLE and target.xds.healthy
    assert xds_words(target) == "no attempt"
    assert link_words(target, NOW).startswith("no recent connection attempt")
    assert not [f for f in result.findings if f.pod == "extauth-1"]


def test_passing_health_checks_are_evidence_where_they_exist() -> None:
    """The lab configures health checks (production does not): passing ones show the link works."""
    rot = rotation()
    body = b"cluster.xds_cluster.health_check.success: 12\ncluster.xds_cluster.upstream_cx_active: 0\n"
    checked = replace(fetch("rate-limit-1", rot.leaf_new.info, [rot.ca_new.info]), stats=parse_stats(body))
    target = poll([checked]).targets[0]
    assert target.xds is not None and target.xds.state is LinkState.CONNECTED
    assert link_words(target, NOW) == "its health checks pass (no open connection)"
    failing = replace(
        fetch("rate-limit-1", rot.leaf_new.info, [rot.ca_new.info], xds_healthy=False),
        stats=parse_stats(body),
    )
    assert poll([failing]).targets[0].xds.state is LinkState.FAILING  # type: ignore[union-attr]


def test_a_stream_close_belongs_to_its_own_clusters_pod_of_that_name() -> None:
    """Two clusters can run pods of the same name; a close logged by east's says nothing of west's."""
    rot = rotation()
    event = replace(log_line("gloo_down_gw", 5, "gateway-proxy-1", Component.GATEWAY_PROXY), context="east")
    at = event.ts + timedelta(seconds=20) if event.ts else NOW
    answers = [
        replace(one, target=replace(one.target, context=context))
        for context in ("east", "west")
        for one in [answer("gateway-proxy-1", "gloo_down_gw", at=at)]
    ]
    result = build_snapshot(
        taken_at=at,
        namespace=answers[0].target.namespace,
        contexts=["east", "west"],
        fetches=answers,
        secrets=[
            replace(secret(rot.leaf_new.info, [rot.ca_new.info]), context=context)
            for context in ("east", "west")
        ],
        cronjob=None,
        policy=HealthPolicy(),
        log_events=[event],
        context_states=[ContextState("east", gloo_installed=True), ContextState("west", gloo_installed=True)],
    )
    links = {t.ref.context: t.xds for t in result.targets}
    assert links["east"] is not None and links["east"].stream_closed is not None
    assert links["west"] is not None and links["west"].stream_closed is None
