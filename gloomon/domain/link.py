"""A target's links as the signals production gives show them: to gloo (reference/real-clusters.md §1)
and to its ``sds`` container (§2: every secret has its own gRPC stream, with its own state).

No health checks exist in production, so ``/clusters`` health flags are one more signal where they exist
(the lab's), never the only one: an ADS client (gateway-proxy, kube-gateway) has its stream state
(``control_plane.connected_state``), every client its xDS cluster's connection counters, and the Envoy
logs ``gRPC config stream … closed since Ns ago`` once a failure outlasts its 30 s backoff. extauth's and
rate-limit's sidecars are plain TCP proxies: their counters move only when their process reconnects, so
no open connection and no failure is "idle", not "healthy". For gloo, the link is the hop from its
sidecar to its own process (``gloo_xds_cluster``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from gloomon.domain.compare.carry import down_since, last_rise
from gloomon.domain.health.policy import rose_recently
from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    AdminFetch,
    ClustersReport,
    Component,
    EnvoyStats,
    LinkState,
    LogEvent,
    LogKind,
    TargetRef,
    TargetStatus,
    XdsLink,
)
from gloomon.domain.parse.envoy import xds_cluster_names

__all__ = [
    "ADS",
    "SDS",
    "StreamCloses",
    "sds_down_since",
    "sds_stream_closed",
    "stream_closed",
    "stream_closes",
    "xds_down_since",
    "xds_link",
]


def xds_link(
    fetch: AdminFetch,
    component: Component,
    namespace: str,
    stats: EnvoyStats | None,
    prev: TargetStatus | None,
    now: datetime,
    closed: LogEvent | None = None,
) -> tuple[XdsLink | None, datetime | None]:
    """The link to gloo, and when its failed connects last rose, from the signals production gives
    (reference/real-clusters.md §1): the ADS stream state of an ADS client, the xDS cluster's connection
    counters (``/stats``, cluster-wide; ``/clusters`` per host when ``/stats`` lacks them), health flags
    where health checks exist, and the latest ``gRPC config stream … closed`` warning (``closed``). For
    gloo, the hop from its sidecar to its own process (``gloo_xds_cluster``)."""
    last = prev.xds_connect_fail_last_rise if prev is not None else None
    old = prev.xds if prev is not None else None
    clusters = fetch.clusters if isinstance(fetch.clusters, ClustersReport) else None
    if clusters is None and stats is None:
        return (old if fetch.clusters is None and fetch.stats is None else None), last
    gloo = component is Component.GLOO
    names = xds_cluster_names(component, namespace)
    cluster = next((c for n in names if clusters is not None and (c := clusters.get(n)) is not None), None)
    counters = stats.upstream_for(names[-1]) if stats is not None else None
    connected = stats.control_plane_connected if stats is not None and not gloo else None
    if cluster is None and counters is None and connected is None:
        return None, last
    if counters is not None:
        fails, active, total = counters.cx_connect_fail, counters.cx_active, counters.cx_total
    else:
        assert cluster is not None
        fails = cluster.cx_connect_fail
        active = sum(host.cx_active for host in cluster.hosts)
        total = sum(host.cx_total for host in cluster.hosts)
    before = old.cx_connect_fail if old is not None else None
    last = last_rise(now, fails, before, last)
    checks_fail = cluster is not None and bool(cluster.hosts) and not cluster.healthy
    # health checks passing (only where configured: not in production) prove the mTLS connects work
    passed = stats.raw.get("cluster.xds_cluster.health_check.success") if stats is not None else None
    checks_pass = not gloo and not checks_fail and isinstance(passed, int) and passed > 0
    closed_at = (closed.received or closed.ts) if closed is not None else None
    fresh_close = closed_at is not None and rose_recently(closed_at, now)
    if connected is False:
        state = LinkState.DISCONNECTED
    elif connected is True and not (before is not None and fails > before):
        state = LinkState.CONNECTED
    elif rose_recently(last, now) or checks_fail or (connected is None and fresh_close and not active):
        state = LinkState.DISCONNECTED if gloo else LinkState.FAILING
    elif active > 0 or connected is True or checks_pass:
        state = LinkState.CONNECTED
    else:
        state = LinkState.IDLE
    link = XdsLink(
        cluster=cluster.name if cluster is not None else names[-1],
        healthy=state in (LinkState.CONNECTED, LinkState.IDLE),
        cx_connect_fail=fails,
        cx_active=active,
        state=state,
        connected=connected,
        cx_total=total,
        health_checks_fail=checks_fail,
        health_checks_pass=checks_pass,
        stream_closed=closed.message if closed is not None else None,
        stream_closed_at=closed_at,
    )
    return link, last


#: the gRPC method of each stream an Envoy of Gloo opens: its ADS stream to gloo, its SDS streams
ADS, SDS = "StreamAggregatedResources", "StreamSecrets"


#: the latest stream close per (context, pod, method); the context None where the line's is unknown
StreamCloses = Mapping[tuple[str | None, str, str], LogEvent]


def stream_closes(events: Sequence[LogEvent]) -> dict[tuple[str | None, str, str], LogEvent]:
    """Per (context, pod, method), the latest ``<method> gRPC config stream … closed`` its Envoy logged
    at warning or above: ``StreamAggregatedResources`` is the link to gloo, ``StreamSecrets`` its SDS
    streams. Two clusters may run pods of the same name: a line is its own context's pod's."""
    latest: dict[tuple[str | None, str, str], LogEvent] = {}
    for event in events:
        method = event.fields.get("method")
        if (
            event.kind is LogKind.XDS_STREAM_CLOSED
            and method in (ADS, SDS)
            and event.level in ("warning", "error", "critical")
        ):
            latest[(event.context, event.pod, method)] = event
    return latest


def stream_closed(closes: StreamCloses | None, ref: TargetRef, method: str) -> LogEvent | None:
    """The latest close of ``method`` the target's Envoy logged (a line of no known context: by pod)."""
    if not closes:
        return None
    return closes.get((ref.context, ref.pod, method)) or closes.get((None, ref.pod, method))


def sds_stream_closed(stats: EnvoyStats | None) -> bool | None:
    """Whether a gRPC SDS stream of the mTLS secrets is closed (``sds.<secret>.control_plane
    .connected_state`` 0); None without stream state (no stats, or file-based SDS)."""
    if stats is None:
        return None
    states = [
        item.connected
        for item in (stats.sds_for(SERVER_CERT_SECRET), stats.sds_for(VALIDATION_CONTEXT_SECRET))
        if item is not None and item.connected is not None
    ]
    return (False in states) if states else None


def xds_down_since(
    link: XdsLink | None, prev: TargetStatus | None, now: datetime, closed: LogEvent | None
) -> datetime | None:
    """Since when its link to gloo is down (disconnected or failing), carried as every "since" is
    (:func:`gloomon.domain.compare.carry.down_since`), dated by a recent ``StreamAggregatedResources …
    closed since Ns ago`` warning; None while it is connected or idle."""
    down = link is not None and link.state in (LinkState.DISCONNECTED, LinkState.FAILING)
    carried = prev.xds_down_since if prev is not None else None
    return down_since(down, carried, now, logged_failing_since(closed, now))


def sds_down_since(
    stats: EnvoyStats | None, prev: TargetStatus | None, now: datetime, closed: LogEvent | None
) -> datetime | None:
    """Since when its SDS stream is closed: carried from the last poll, back-dated by a recent
    ``StreamSecrets … closed since Ns ago`` warning, else now; None while it is open."""
    carried = prev.sds_down_since if prev is not None else None
    down = sds_stream_closed(stats)
    if down is None:
        return carried if stats is None else None
    return down_since(down, carried, now, logged_failing_since(closed, now))


def logged_failing_since(closed: LogEvent | None, now: datetime) -> datetime | None:
    """When a ``gRPC config stream … closed since Ns ago`` warning logged within the last minute says
    the stream started failing; None without one (an older line no longer dates this outage: Envoy
    repeats it at least every 30 s while it lasts)."""
    if closed is None:
        return None
    closed_at = closed.received or closed.ts
    failing = closed.fields.get("failing_seconds")
    if closed_at is None or failing is None or not rose_recently(closed_at, now):
        return None
    return closed_at - timedelta(seconds=float(failing))
