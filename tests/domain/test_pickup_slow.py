"""pickup-slow (issue 10 §6, solo-io/gloo #8444): the slowest pod's pickup of the last rotation's write took
more than half of rotationDuration, warned before it reaches the lag grace (2×rotationDuration)."""

from __future__ import annotations

from datetime import timedelta

from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap


def test_a_pod_lagging_past_half_of_rotation_duration_but_within_the_grace() -> None:
    rot = rotation()
    written = NOW - timedelta(seconds=40)  # rotationDuration 65 s: half is 32.5 s, the grace 130 s
    new = secret(rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated_at=written)
    quick = fetch("gateway-proxy-1", rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated=written)
    slow = fetch("gateway-proxy-2", rot.leaf_old.info, [rot.ca_old.info, rot.ca_new.info])
    lagging = snap([quick, slow], [new])
    assert codes(lagging)["pickup-slow"] == [("warning", "gateway-proxy-2")]
    assert "target-lagging" not in codes(lagging)
    (found,) = [f for f in lagging.findings if f.code == "pickup-slow"]
    assert "has not picked up the secret's last write for 40s" in found.message
    assert "rotationDuration (1m5s)" in found.message and "--rotation-duration" in found.hint

    # caught up 50 s after the write: the last rotation's pickup stays on record, and still warns
    arrived = written + timedelta(seconds=50)
    caught = fetch("gateway-proxy-2", rot.leaf_new.info, [rot.ca_old.info, rot.ca_new.info], updated=arrived)
    later = snap([quick, caught], [new], at=NOW + timedelta(seconds=20), previous=lagging)
    (target,) = [t for t in later.targets if t.ref.pod == "gateway-proxy-2"]
    assert target.last_pickup_seconds == 50.0
    (found,) = [f for f in later.findings if f.code == "pickup-slow"]
    assert found.pod == "gateway-proxy-2" and found.message.startswith("took 50s to pick up")


def test_quick_pickups_and_lags_past_the_grace_are_not_pickup_slow() -> None:
    rot = rotation()
    written = NOW - timedelta(seconds=20)
    new = secret(rot.leaf_new.info, [rot.ca_new.info], updated_at=written)
    quick = fetch("gateway-proxy-1", rot.leaf_old.info, [rot.ca_old.info])
    assert "pickup-slow" not in codes(snap([quick], [new]))
    stuck = secret(rot.leaf_new.info, [rot.ca_new.info], updated_at=NOW - timedelta(seconds=400))
    found = codes(snap([quick], [stuck]))
    assert "target-lagging" in found and "pickup-slow" not in found
