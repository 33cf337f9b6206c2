"""What a snapshot keeps when a poll cannot observe something: an unreadable secret is not a new one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.compare.history import RotationHistory
from gloomon.domain.export import iso, snapshot_to_dict
from gloomon.domain.model import FleetSnapshot, Phase, SecretState
from tests.domain.certs import rotation
from tests.domain.fleet_helpers import CTX, NS, fetch, secret, snap

UNREADABLE = {
    "forbidden (403)": SecretState(
        CTX, NS, forbidden=True, observed=False, error="forbidden (403): cannot read secret gloo-mtls-certs"
    ),
    "5xx, timeout or API outage": SecretState(CTX, NS, observed=False),
}


def _lagger(snapshot: FleetSnapshot) -> tuple[bool | None, object, float | None]:
    target = next(t for t in snapshot.targets if t.ref.pod == "gateway-proxy-1")
    return target.in_sync_with_secret, target.lag_since, target.lag_seconds


@pytest.mark.parametrize("unreadable", list(UNREADABLE.values()), ids=list(UNREADABLE))
def test_an_unreadable_secret_keeps_phase_write_time_and_lag_clocks(unreadable: SecretState) -> None:
    """Mid-rotation, the secret becomes unreadable for two polls and readable again: its phase, the
    time it got its content, every target's lag clock and the timeline's secret changes are unchanged."""
    rot = rotation()
    old_ca, new_ca = rot.ca_old.info, rot.ca_new.info
    rotated = secret(rot.leaf_new.info, [old_ca, new_ca])
    at = new_ca.not_before + timedelta(seconds=1)
    history = RotationHistory()
    previous = None
    snapshots = []
    for state in (rotated, unreadable, unreadable, rotated):
        fetches = [
            fetch("gloo-1", rot.leaf_new.info, [old_ca, new_ca], at=at),
            fetch("gateway-proxy-1", rot.leaf_old.info, [old_ca, new_ca], at=at),
        ]
        previous = snap(fetches, [state], at=at, previous=previous)
        history.add_snapshot(previous)
        snapshots.append(previous)
        at += timedelta(seconds=10)
    first = snapshots[0]
    assert first.secret is not None and first.secret.verdict.phase is Phase.LEAF_ROTATED
    in_sync, lag_since, _ = _lagger(first)
    assert in_sync is False and lag_since is not None
    for later in snapshots[1:]:
        assert later.secret is not None
        assert later.secret.verdict.phase is Phase.LEAF_ROTATED
        assert later.secret.content_since == first.secret.content_since
        assert later.secret.state.leaf == rotated.leaf
        later_sync, later_since, seconds = _lagger(later)
        assert later_sync is False and later_since == lag_since
        assert seconds == (later.taken_at - lag_since).total_seconds()
    (timeline,) = history.timelines
    assert [change.phase for change in timeline.changes] == [Phase.LEAF_ROTATED]
    assert not snapshots[1].secret.state.observed  # type: ignore[union-attr]
    assert snapshots[3].secret.state.observed  # type: ignore[union-attr]


def test_a_forbidden_secret_is_still_reported_while_its_content_is_kept() -> None:
    rot = rotation()
    cas = [rot.ca_old.info]
    at = rot.ca_new.info.not_before
    first = snap([fetch("gloo-1", rot.leaf_old.info, cas, at=at)], [secret(rot.leaf_old.info, cas)], at=at)
    later = snap(
        [fetch("gloo-1", rot.leaf_old.info, cas, at=at + timedelta(seconds=5))],
        [UNREADABLE["forbidden (403)"]],
        at=at + timedelta(seconds=5),
        previous=first,
    )
    forbidden = [f for f in later.findings if f.code == "secret-forbidden"]
    assert len(forbidden) == 1 and "as last read" in forbidden[0].message
    assert later.secret is not None and later.secret.state.forbidden
    assert later.secret.verdict.phase is Phase.STEADY


def test_a_secret_never_read_is_unknown_not_absent() -> None:
    rot = rotation()
    only = snap(
        [fetch("gloo-1", rot.leaf_old.info, [rot.ca_old.info])], [UNREADABLE["5xx, timeout or API outage"]]
    )
    assert only.secret is not None and only.secret.verdict.phase is Phase.UNKNOWN
    assert "not observed" in only.secret.verdict.reason


def test_an_api_outage_keeps_every_row_stale_with_one_finding() -> None:
    """Envoys not reached because the Kubernetes API is down keep their last certificates, marked stale
    since the first poll that could not reach them; lag keeps counting; the outage is the one finding."""
    rot = rotation()
    old_ca, new_ca = rot.ca_old.info, rot.ca_new.info
    rotated = secret(rot.leaf_new.info, [old_ca, new_ca])
    at = new_ca.not_before + timedelta(seconds=1)
    held = {"gloo-1": rot.leaf_new.info, "gateway-proxy-1": rot.leaf_old.info}
    before = snap([fetch(pod, leaf, [old_ca, new_ca], at=at) for pod, leaf in held.items()], [rotated], at=at)
    outage = "cannot reach the Kubernetes API at https://127.0.0.1:6443: connection refused"
    snapshots = [before]
    for step in (1, 2):
        when = at + timedelta(seconds=10 * step)
        down = [
            replace(fetch(pod, None, [], at=when, error=f"port-forward: {outage}"), api_down=True)
            for pod in held
        ]
        snapshots.append(
            snap(
                down, [SecretState(CTX, NS, observed=False)], at=when, previous=snapshots[-1], errors=[outage]
            )
        )
    first_down = snapshots[1].taken_at
    for snapshot in snapshots[1:]:
        for target in snapshot.targets:
            assert target.reachable and target.stale_since == first_down
            assert target.leaf == held[target.ref.pod]
            assert target.fetch is not None and target.fetch.fetched_at == at  # read before the outage
        lagger = next(t for t in snapshot.targets if t.ref.pod == "gateway-proxy-1")
        assert lagger.lag_seconds == (snapshot.taken_at - before.taken_at).total_seconds()
        assert [f.code for f in snapshot.findings if f.pod is None and f.component is None] == [
            "source-error"
        ]
        assert not [f for f in snapshot.findings if f.code == "admin-unreachable"]
    assert all(t.stale_since is None for t in before.targets)


def test_a_first_poll_during_an_api_outage_blames_no_envoy() -> None:
    outage = "cannot reach the Kubernetes API at https://127.0.0.1:6443: connection refused"
    down = replace(fetch("gloo-1", None, [], error=f"port-forward: {outage}"), api_down=True)
    only = snap([down], errors=[outage])
    assert [f.code for f in only.findings] == ["source-error"]


def test_the_json_says_since_when_a_row_is_stale() -> None:
    rot = rotation()
    cas = [rot.ca_old.info]
    before = snap([fetch("gloo-1", rot.leaf_old.info, cas)], [secret(rot.leaf_old.info, cas)])
    later = before.taken_at + timedelta(seconds=5)
    down = replace(fetch("gloo-1", None, [], at=later, error="port-forward: API down"), api_down=True)
    during = snap(
        [down], [SecretState(CTX, NS, observed=False)], at=later, previous=before, errors=["API down"]
    )
    (row,) = snapshot_to_dict(during)["targets"]
    assert row["stale_since"] == iso(later) and row["leaf"]["serial"] == rot.leaf_old.info.serial
    assert snapshot_to_dict(before)["targets"][0]["stale_since"] is None
