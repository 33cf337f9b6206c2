"""Snapshots of several contexts, built like a session's poll: two independent clusters (each its own
gloo, secret and CA), split planes (gloo in ``mgmt``, clients only in ``edge`` with a copy of the secret),
and a context whose API is down. The domain judges them; nothing here states a plane or a finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import (
    AdminFetch,
    Component,
    ContextState,
    CronJobState,
    FleetSnapshot,
    LogEvent,
    SecretState,
    TrustBundle,
)
from gloomon.lab.snapshots.certs import CA_ADDED, LEAF_ROTATED, NEW_STEADY, NOW, STEADY, Pair, ca, leaf
from gloomon.lab.snapshots.logs import log_events
from gloomon.lab.snapshots.polls import CRONJOB, NAMESPACE, POLLED, WRITTEN, admin_fetch, secret_state

EAST, WEST = "east", "west"
MGMT, EDGE = "mgmt", "edge"
#: the west cluster's own certgen made its own CA
CA_WEST = ca("gloo-ca-west-2026-03", "3d5e7f9a1b2c4d6e", datetime(2026, 3, 2, 8, 15, tzinfo=UTC))
LEAF_WEST = leaf("leaf-west", "a1b2c3d4e5f60718", CA_WEST)
WEST_STEADY: Pair = (TrustBundle((CA_WEST,)), LEAF_WEST)

#: one cluster's pods: gloo, two gateway-proxies, extauth, rate-limit (names differ per cluster)
_CLUSTER_PODS: tuple[tuple[Component, str], ...] = (
    (Component.GLOO, "gloo-{h}-k2x7q"),
    (Component.GATEWAY_PROXY, "gateway-proxy-{h}-x2k4p"),
    (Component.GATEWAY_PROXY, "gateway-proxy-{h}-m9v3z"),
    (Component.EXTAUTH, "extauth-{h}-p3n6r"),
    (Component.RATE_LIMIT, "rate-limit-{h}-h5j2l"),
)
_HASHES = {EAST: "5b8d7c9f4", WEST: "6c9e8d0a5", MGMT: "7d0f9e1b6", EDGE: "8e1a0f2c7"}


def pods_of(context: str, *, gloo: bool = True) -> list[tuple[Component, str]]:
    """The pods of one context (without gloo: a data-plane cluster)."""
    pods = [(c, name.format(h=_HASHES.get(context, "9f2b1a3d8"))) for c, name in _CLUSTER_PODS]
    return [p for p in pods if gloo or p[0] is not Component.GLOO]


def fetches_of(
    context: str, pair: Pair = STEADY, *, gloo: bool = True, at: datetime = POLLED, first_index: int = 0
) -> list[AdminFetch]:
    """Every pod of ``context`` answering that it holds ``pair``."""
    out = []
    for offset, (component, pod) in enumerate(pods_of(context, gloo=gloo)):
        fetch = admin_fetch(component, pod, pair, index=first_index + offset, at=at, delivered=WRITTEN)
        out.append(in_context(fetch, context))
    return out


def logs_of(snapshot: FleetSnapshot, count: int = 12) -> list[LogEvent]:
    """:func:`log_events` as each context's pods in ``snapshot`` wrote them (certgen's lines where gloo
    runs), interleaved in time: the pods' suffixes repeat across contexts, so only the context tells
    their lines apart."""
    events = []
    for shift, context in enumerate(snapshot.contexts):
        names: dict[Component, str] = {}
        for target in snapshot.targets:
            if target.ref.context == context:
                names.setdefault(target.ref.component, target.ref.pod)
        certgen = Component.GLOO in names
        for event in log_events(count):
            if event.component not in names and (event.component is not None or not certgen):
                continue
            pod = names[event.component] if event.component else event.pod
            at = event.ts + timedelta(seconds=shift) if event.ts else None
            events.append(replace(event, ts=at, received=at, pod=pod, context=context))
    return sorted(events, key=lambda event: event.received or event.ts or POLLED)


def in_context(fetch: AdminFetch, context: str) -> AdminFetch:
    return replace(fetch, target=replace(fetch.target, context=context))


def context_secret(
    context: str, pair: Pair, *, written: datetime = WRITTEN, at: datetime = POLLED, **extra: object
) -> SecretState:
    return replace(secret_state(pair, written=written, at=at), context=context, **extra)  # type: ignore[arg-type]


def several(
    contexts: Sequence[str],
    fetches: Sequence[AdminFetch],
    secrets: Sequence[SecretState],
    states: Sequence[ContextState],
    *,
    previous: FleetSnapshot | None = None,
    errors: Sequence[str] = (),
    at: datetime = POLLED,
    cronjobs: Sequence[CronJobState] | None = None,
) -> FleetSnapshot:
    """A poll of ``contexts``; each one where gloo is installed runs its own certgen CronJob (``cronjobs``
    None), the others have none, and one whose API could not be read says nothing, as a session reads
    them."""
    if cronjobs is None:
        cronjobs = [
            replace(CRONJOB, context=state.name)
            if state.gloo_installed
            else CronJobState(CRONJOB.name, "", False, missing=True, context=state.name)
            for state in states
            if state.gloo_installed is not None
        ]
    return build_snapshot(
        taken_at=at,
        namespace=NAMESPACE,
        contexts=list(contexts),
        fetches=list(fetches),
        secrets=list(secrets),
        cronjob=next((c for c in cronjobs if not c.missing), None),
        cronjobs=cronjobs,
        policy=HealthPolicy(),
        previous=previous,
        errors=errors,
        context_states=list(states),
    )


def two_clusters(west: Pair = WEST_STEADY) -> FleetSnapshot:
    """Two independent healthy clusters, each with its own gloo, secret and CA."""
    return several(
        [EAST, WEST],
        [*fetches_of(EAST, STEADY), *fetches_of(WEST, west, first_index=10)],
        [context_secret(EAST, STEADY), context_secret(WEST, west)],
        [ContextState(EAST, gloo_installed=True), ContextState(WEST, gloo_installed=True)],
    )


def split_planes(
    copy: Pair | None = STEADY,
    *,
    copied_by: str | None = "kubed (config-syncer), from mgmt/gloo-system",
    written: datetime = WRITTEN,
    edge_pair: Pair | None = None,
) -> FleetSnapshot:
    """gloo and certgen in ``mgmt`` (with one gateway-proxy), clients only in ``edge``; edge's secret is
    a copy of mgmt's (``copy`` None: the copy is missing). The edge pods hold ``edge_pair`` (default:
    the copy's content)."""
    held = edge_pair or copy or STEADY
    mgmt = fetches_of(MGMT, STEADY)[:2]
    edge = fetches_of(EDGE, held, gloo=False, first_index=10)
    copy_state = (
        context_secret(EDGE, copy, copied_by=copied_by)
        if copy is not None
        else SecretState(EDGE, NAMESPACE, read_at=POLLED, missing=True, error="not found")
    )
    return several(
        [MGMT, EDGE],
        [*mgmt, *edge],
        [context_secret(MGMT, STEADY, written=written), copy_state],
        [
            ContextState(MGMT, gloo_installed=True),
            ContextState(EDGE, gloo_installed=False, missing=(Component.GLOO,)),
        ],
    )


def context_down() -> FleetSnapshot:
    """Two clusters; west's API cannot be reached (its namespace check failed at start)."""
    error = "west: cannot reach the Kubernetes API at https://west.example:6443: connection refused"
    return several(
        [EAST, WEST],
        fetches_of(EAST, STEADY),
        [
            context_secret(EAST, STEADY),
            SecretState(WEST, NAMESPACE, read_at=POLLED, observed=False),
        ],
        [ContextState(EAST, gloo_installed=True), ContextState(WEST, error=error, api_down=True)],
        errors=(error,),
    )


def split_planes_stale() -> FleetSnapshot:
    """mgmt's certgen started a rotation 5 minutes ago (phase ca-added); the sync to edge is stuck, so
    edge's copy and its pods still hold the old content."""
    written = POLLED - timedelta(minutes=5)
    return several(
        [MGMT, EDGE],
        [*fetches_of(MGMT, CA_ADDED)[:2], *fetches_of(EDGE, STEADY, gloo=False, first_index=10)],
        [
            context_secret(MGMT, CA_ADDED, written=written),
            context_secret(EDGE, STEADY, copied_by="kubed (config-syncer), from mgmt/gloo-system"),
        ],
        [
            ContextState(MGMT, gloo_installed=True),
            ContextState(EDGE, gloo_installed=False, missing=(Component.GLOO,)),
        ],
    )


#: a rotation's three writes after the steady start, seconds into a five-minute series (as
#: :func:`~gloomon.lab.snapshots.states.rotation_series`)
_WRITES: tuple[tuple[int, Pair], ...] = ((0, STEADY), (60, CA_ADDED), (140, LEAF_ROTATED), (220, NEW_STEADY))
#: how long kubed takes to copy each write of mgmt's secret to edge
COPY_DELAY = 20


def _written(step: int, delay: int = 0) -> int:
    """Which of :data:`_WRITES` is in effect ``step`` seconds in, when it arrives ``delay`` s late."""
    return max(i for i, (offset, _) in enumerate(_WRITES) if offset + (delay if i else 0) <= step)


def rotation_across(second: str, end: datetime = NOW) -> list[FleetSnapshot]:
    """Five minutes polled every 10 s while the first context's certgen rotates (steady → ca-added →
    leaf-rotated → new steady), each poll built on the one before. ``second`` is :data:`WEST` (two
    clusters: east rotates, west, with its own CA, stays steady) or :data:`EDGE` (split planes: mgmt
    rotates, edge's copy follows each write :data:`COPY_DELAY` s later and its pods after that)."""
    start = end - timedelta(seconds=300)
    split = second == EDGE
    first = MGMT if split else EAST
    groups = [
        (first, pods_of(first)[:2] if split else pods_of(first)),
        (second, pods_of(second, gloo=not split)),
    ]
    states = [ContextState(first, gloo_installed=True)]
    states.append(
        ContextState(EDGE, gloo_installed=False, missing=(Component.GLOO,))
        if split
        else ContextState(WEST, gloo_installed=True)
    )
    series: list[FleetSnapshot] = []
    previous: FleetSnapshot | None = None
    for step in range(0, 301, 10):
        at = start + timedelta(seconds=step)

        def write(index: int, delay: int = 0) -> datetime:
            return start + timedelta(seconds=_WRITES[index][0] + delay) if index else WRITTEN

        mine = _written(step)
        secrets = [context_secret(first, _WRITES[mine][1], written=write(mine), at=at)]
        if split:
            copied = _written(step, COPY_DELAY)
            secrets.append(
                context_secret(
                    EDGE,
                    _WRITES[copied][1],
                    written=write(copied, COPY_DELAY),
                    at=at,
                    copied_by="kubed (config-syncer), from mgmt/gloo-system",
                )
            )
        else:
            secrets.append(context_secret(WEST, WEST_STEADY, at=at))
        fetches = []
        for group, (context, pods) in enumerate(groups):
            for i, (component, pod) in enumerate(pods):
                if context == WEST:
                    pair, delivered = WEST_STEADY, WRITTEN
                else:
                    delay = (COPY_DELAY if context == EDGE else 0) + 10 * (i % 3)
                    held = _written(step, delay)
                    pair, delivered = _WRITES[held][1], write(held, delay)
                fetch = admin_fetch(component, pod, pair, index=10 * group + i, at=at, delivered=delivered)
                fetches.append(in_context(fetch, context))
        previous = several([first, second], fetches, secrets, states, previous=previous, at=at)
        series.append(previous)
    return series
