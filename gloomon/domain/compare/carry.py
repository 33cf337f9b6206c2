"""What carries from one snapshot to the next: when counters last rose, when a target's bundle started
to differ from its peers', when its Envoy started, and since when its links (the xDS link to gloo, its
SDS streams) are down.

Findings built on these hold steady across polls instead of appearing and clearing on alternate ones.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from gloomon.domain.compare.sync import bundle_groups
from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    EnvoyStats,
    FleetSnapshot,
    TargetStatus,
)


def envoy_start(fetched_at: datetime, uptime: float | None) -> datetime | None:
    """When the Envoy started, from its uptime; None for an uptime no date can hold."""
    if uptime is None:
        return None
    try:
        return fetched_at - timedelta(seconds=uptime)
    except (OverflowError, ValueError):
        return None


def rejected_total(stats: object) -> int | None:
    if not isinstance(stats, EnvoyStats):
        return None
    return sum(
        item.update_rejected
        for item in (stats.sds_for(SERVER_CERT_SECRET), stats.sds_for(VALIDATION_CONTEXT_SECRET))
        if item is not None
    )


def last_rise(
    now: datetime, current: int | None, before: int | None, last: datetime | None
) -> datetime | None:
    """``now`` when a counter rose since the last poll (or restarted from zero and counted again), else the
    carried time of its last rise. Findings on "rising" counters hold for a minute after it, so they do
    not appear and clear on alternate polls."""
    if current is None or before is None:
        return last
    if current > before or (current < before and current > 0):
        return now
    return last


def down_since(
    down: bool, carried: datetime | None, now: datetime, logged: datetime | None
) -> datetime | None:
    """Since when a link (the xDS link to gloo, an SDS stream) is down: carried from the last poll, else
    now; back-dated to ``logged`` when a recent ``gRPC config stream … closed since Ns ago`` warning says
    it failed earlier. None while it is up."""
    if not down:
        return None
    since = carried or now
    return min(since, logged) if logged is not None else since


def down_for(since: datetime | None, envoy_started_at: datetime | None, now: datetime) -> float | None:
    """How long a link down ``since`` has been down, counted from its Envoy's start at the latest (a
    restarted Envoy opens new streams); None while it is up."""
    if since is None:
        return None
    if envoy_started_at is not None and envoy_started_at > since:
        since = envoy_started_at
    return max((now - since).total_seconds(), 0.0)


def with_bundle_differs_since(
    targets: tuple[TargetStatus, ...], now: datetime, previous: FleetSnapshot | None
) -> tuple[TargetStatus, ...]:
    """Each target outside the reference bundle group gets the time it was first seen differing: carried
    from the previous snapshot, else the later of its own and the reference group's earliest certificate
    arrival (they differ at least since whichever moved last), else now."""
    groups = bundle_groups(targets)
    if len(groups) < 2:
        return tuple(replace(t, bundle_differs_since=None) if t.reachable else t for t in targets)
    reference = groups[0]
    odd = {t.key for group in groups[1:] for t in group}
    arrivals = [t.certs_since for t in reference if t.certs_since is not None]
    earliest = min(arrivals) if len(arrivals) == len(reference) else None
    old = {t.key: t for t in previous.targets} if previous is not None else {}
    out: list[TargetStatus] = []
    for target in targets:
        if not target.reachable:
            out.append(target)
            continue
        since: datetime | None = None
        if target.key in odd:
            carried = old[target.key].bundle_differs_since if target.key in old else None
            seed = max(target.certs_since, earliest) if target.certs_since and earliest else None
            since = min(carried or seed or now, now)
        out.append(replace(target, bundle_differs_since=since))
    return tuple(out)
