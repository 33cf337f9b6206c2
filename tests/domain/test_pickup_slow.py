"""pickup-slow (issue 10 §6, solo-io/gloo #8444): the slowest pod's pickup of the last rotation's write took
longer than half of rotationDuration, but not less than the kubelet's one-minute sync (every healthy pod
may take that long) and never more than rotationDuration; warned before it reaches the lag grace
(2×rotationDuration)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.model import FleetSnapshot
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import CRON, codes, fetch, secret, snap


def lagging_for(seconds: float, rotation_duration: float = 65) -> FleetSnapshot:
    """Two pods after a write ``seconds`` ago: one picked it up at once, one still holds the old leaf."""
    rot = rotation()
    written = NOW - timedelta(seconds=seconds)
    new = secret(rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated_at=written)
    quick = fetch("gateway-proxy-1", rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated=written)
    slow = fetch("gateway-proxy-2", rot.leaf_old.info, [rot.ca_old.info, rot.ca_new.info])
    return snap([quick, slow], [new], cronjob=replace(CRON, rotation_duration_seconds=rotation_duration))


def test_a_pod_lagging_past_the_kubelets_minute_but_within_the_grace() -> None:
    rot = rotation()
    lagging = lagging_for(62)  # rotationDuration 65 s: the limit is the kubelet's 60 s, the grace 130 s
    assert codes(lagging)["pickup-slow"] == [("warning", "gateway-proxy-2")]
    assert "target-lagging" not in codes(lagging)
    (found,) = [f for f in lagging.findings if f.code == "pickup-slow"]
    assert "has not picked up the secret's last write for 1m2s" in found.message
    assert "close to rotationDuration (1m5s)" in found.message and "--rotation-duration" in found.hint
    assert "e.g. 180s" in found.hint  # twice the kubelet's 90 s (its sync and jitter), over twice 62 s

    # caught up 70 s after the write: the last rotation's pickup stays on record, and still warns
    written = NOW - timedelta(seconds=62)
    new = secret(rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated_at=written)
    quick = fetch("gateway-proxy-1", rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated=written)
    arrived = written + timedelta(seconds=70)
    caught = fetch("gateway-proxy-2", rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated=arrived)
    later = snap([quick, caught], [new], at=NOW + timedelta(seconds=20), previous=lagging)
    (target,) = [t for t in later.targets if t.ref.pod == "gateway-proxy-2"]
    assert target.last_pickup_seconds == 70.0
    (found,) = [f for f in later.findings if f.code == "pickup-slow"]
    assert found.pod == "gateway-proxy-2" and found.message.startswith("took 1m10s to pick up")


def test_a_pickup_within_the_kubelets_sync_period_is_not_slow() -> None:
    """Half of Gloo's 65 s is 32.5 s, but a kubelet refreshes a secret volume only at its next sync of
    the pod (every minute, plus jitter): 40 s or 55 s is a healthy pickup."""
    assert "pickup-slow" not in codes(lagging_for(40))
    assert "pickup-slow" not in codes(lagging_for(55))
    assert "pickup-slow" in codes(lagging_for(61))


@pytest.mark.parametrize(
    ("rotation_duration", "fine", "slow", "words"),
    [
        (300, 140, 160, "more than half of rotationDuration (5m)"),  # half of it is past the kubelet's
        (30, 25, 45, "more than rotationDuration (30s)"),  # shorter than a kubelet sync: at most itself
    ],
)
def test_the_limit_is_half_of_rotation_duration_within_the_kubelets_minute_and_rotation_duration(
    rotation_duration: float, fine: float, slow: float, words: str
) -> None:
    assert "pickup-slow" not in codes(lagging_for(fine, rotation_duration))
    slowed = lagging_for(slow, rotation_duration)
    assert codes(slowed)["pickup-slow"] == [("warning", "gateway-proxy-2")]
    (found,) = [f for f in slowed.findings if f.code == "pickup-slow"]
    assert words in found.message


def test_quick_pickups_and_lags_past_the_grace_are_not_pickup_slow() -> None:
    rot = rotation()
    written = NOW - timedelta(seconds=20)
    new = secret(rot.leaf_new.info, [rot.ca_new.info], updated_at=written)
    quick = fetch("gateway-proxy-1", rot.leaf_old.info, [rot.ca_old.info])
    assert "pickup-slow" not in codes(snap([quick], [new]))
    stuck = secret(rot.leaf_new.info, [rot.ca_new.info], updated_at=NOW - timedelta(seconds=400))
    found = codes(snap([quick], [stuck]))
    assert "target-lagging" in found and "pickup-slow" not in found


def test_each_context_is_judged_against_its_own_certgens_pace() -> None:
    """east's certgen waits 65 s between writes, west's 300 s: a west pod 100 s behind is within half of
    its own rotationDuration; an east pod 62 s behind is past the kubelet's minute and close to east's."""
    from gloomon.domain.fleet import build_snapshot
    from gloomon.domain.health.judge import HealthPolicy
    from gloomon.domain.model import ContextState

    rot = rotation()
    both = [rot.ca_old.info, rot.ca_new.info]
    fetches, secrets = [], []
    for context, behind in (("east", 62), ("west", 100)):
        written = NOW - timedelta(seconds=behind)
        quick = fetch("gateway-proxy-1", rot.leaf_new.info, both, updated=written)
        slow = fetch("gateway-proxy-2", rot.leaf_old.info, both)
        fetches += [replace(f, target=replace(f.target, context=context)) for f in (quick, slow)]
        secrets.append(replace(secret(rot.leaf_new.info, both, updated_at=written), context=context))
    crons = [
        replace(CRON, context="east", rotation_duration_seconds=65),
        replace(CRON, context="west", rotation_duration_seconds=300),
    ]
    result = build_snapshot(
        taken_at=NOW,
        namespace=fetches[0].target.namespace,
        contexts=["east", "west"],
        fetches=fetches,
        secrets=secrets,
        cronjob=crons[0],
        cronjobs=crons,
        policy=HealthPolicy(),
        context_states=[ContextState("east", gloo_installed=True), ContextState("west", gloo_installed=True)],
    )
    slow = [f for f in result.findings if f.code == "pickup-slow"]
    assert [(f.context, f.pod) for f in slow] == [("east", "gateway-proxy-2")]
    assert "for 1m2s" in slow[0].message  # east's own pod (the pods of both share names), not west's 1m40s
