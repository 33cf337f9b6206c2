"""The named states of the UI tests, the screenshots and the latency benchmark, as polls of the fixtures'
fleet (:mod:`gloomon.lab.snapshots.polls`): steady, ca-added, leaf-rotated, lagging, expired, untrusted,
unreachable, API down, no Gloo, no mTLS, and a whole rotation polled every 10 s. Each is what the domain
makes of its inputs; nothing here states a phase or a finding.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, FleetSnapshot, SecretState, TrustBundle
from gloomon.lab.snapshots.certs import (
    CA_ADDED,
    CA_FOREIGN,
    CA_OLD,
    LEAF_EXPIRED,
    LEAF_OLD,
    LEAF_ROTATED,
    NEW_STEADY,
    NOW,
    STEADY,
    Pair,
)
from gloomon.lab.snapshots.polls import (
    CONTEXT,
    NAMESPACE,
    PODS,
    POLLED,
    WRITTEN,
    admin_fetch,
    poll,
)

#: the gateway-proxy that picks up a rotation last, and the extauth pod that goes wrong
LAGGING_POD = PODS[3][1]
BAD_POD = PODS[4][1]
#: ca-added and leaf-rotated: certgen wrote that phase 41 s ago, and every pod has it already
ROTATION_STARTED = NOW - timedelta(seconds=41)
#: lagging: one pod still holds phase 1 3m20s after phase 2 was written (past the 2m10s grace)
LAG = timedelta(seconds=200)


def steady() -> FleetSnapshot:
    return poll(STEADY)


def ca_added() -> FleetSnapshot:
    return poll(CA_ADDED, written=ROTATION_STARTED)


def leaf_rotated() -> FleetSnapshot:
    return poll(LEAF_ROTATED, written=ROTATION_STARTED)


def lagging() -> FleetSnapshot:
    """The secret moved to phase 2 3m20s ago; one gateway-proxy still holds phase 1."""
    written = POLLED - LAG
    lagger = admin_fetch(
        Component.GATEWAY_PROXY, LAGGING_POD, CA_ADDED, index=3, at=POLLED, delivered=written - LAG
    )
    return poll(LEAF_ROTATED, written=written, fetches={LAGGING_POD: lagger})


def expired() -> FleetSnapshot:
    """Every pod holds the secret's leaf, which expired three days ago."""
    return poll((TrustBundle((CA_OLD,)), LEAF_EXPIRED))


def untrusted() -> FleetSnapshot:
    """The extauth pod was given another issuer's CA instead of the secret's (the lab's ``untrusted``): its
    own leaf is signed by no CA it trusts, and its xDS link to gloo fails TLS verification."""
    bad = admin_fetch(
        Component.EXTAUTH,
        BAD_POD,
        (TrustBundle((CA_FOREIGN,)), LEAF_OLD),
        index=4,
        at=POLLED,
        tls_errors=37,
        connect_fails=14,
    )
    return poll(STEADY, fetches={BAD_POD: bad})


def unreachable() -> FleetSnapshot:
    down = admin_fetch(
        Component.EXTAUTH,
        BAD_POD,
        index=4,
        at=POLLED,
        error="port-forward: connection refused (pod restarting)",
    )
    return poll(STEADY, fetches={BAD_POD: down})


def api_down() -> FleetSnapshot:
    """The last poll's answers, with the Kubernetes API refusing connections."""
    return poll(STEADY, errors=("Kubernetes API unreachable: connection refused (127.0.0.1:6443)",))


def no_gloo() -> FleetSnapshot:
    """A namespace without Gloo: no pods, no secret, no CronJob."""
    return build_snapshot(
        taken_at=POLLED,
        namespace="default",
        contexts=[CONTEXT],
        fetches=[],
        secrets=[SecretState(CONTEXT, "default", missing=True, read_at=POLLED)],
        cronjob=None,
        policy=HealthPolicy(),
        missing_components=tuple(Component),
    )


def no_mtls() -> FleetSnapshot:
    """Gloo without internal mTLS: a gateway-proxy with no SDS secrets, and no gloo-mtls-certs."""
    component, pod = PODS[1]
    plain = admin_fetch(component, pod, index=1, at=POLLED, mtls=False)
    return build_snapshot(
        taken_at=POLLED,
        namespace=NAMESPACE,
        contexts=[CONTEXT],
        fetches=[plain],
        secrets=[SecretState(CONTEXT, NAMESPACE, missing=True, read_at=POLLED)],
        cronjob=None,
        policy=HealthPolicy(),
    )


def rotation_series(end: datetime = NOW) -> list[FleetSnapshot]:
    """A full rotation polled every 10 s: steady → ca-added → leaf-rotated → new steady, each poll built on
    the one before (as a session does); pods pick each phase up a little late, the lagging pod 70 s late."""
    start = end - timedelta(seconds=300)
    phases: list[tuple[int, Pair]] = [(0, STEADY), (60, CA_ADDED), (140, LEAF_ROTATED), (220, NEW_STEADY)]
    delays = {pod: 10 * (i % 4) for i, (_, pod) in enumerate(PODS)}
    delays[LAGGING_POD] = 70
    series: list[FleetSnapshot] = []
    previous: FleetSnapshot | None = None
    for step in range(0, 301, 10):
        at = start + timedelta(seconds=step)
        current = max(i for i, (offset, _) in enumerate(phases) if offset <= step)
        written = start + timedelta(seconds=phases[current][0]) if current else WRITTEN
        fetches = {}
        for i, (component, pod) in enumerate(PODS):
            held = max(
                i2 for i2, (offset, _) in enumerate(phases) if offset + (delays[pod] if i2 else 0) <= step
            )
            delivered = start + timedelta(seconds=phases[held][0] + (delays[pod] if held else 0))
            fetches[pod] = admin_fetch(component, pod, phases[held][1], index=i, at=at, delivered=delivered)
        previous = poll(phases[current][1], at=at, written=written, fetches=fetches, previous=previous)
        series.append(previous)
    return series
