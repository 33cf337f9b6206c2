"""Every phase of certgen's rotation, from generated certificates (and from /certs-only data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.compare import rotation as rotation_module
from gloomon.domain.compare.rotation import not_yet_valid, phase_of, signer_of
from gloomon.domain.model import CertInfo, Phase, TrustBundle
from tests.domain.certs import NOW, bundle, make_ca, make_leaf, rotation


def strip(cert: CertInfo) -> CertInfo:
    """What /certs gives: no DER, no fingerprint."""
    return CertInfo(serial=cert.serial, not_before=cert.not_before, not_after=cert.not_after, sans=cert.sans)


def test_phases_of_a_rotation() -> None:
    rot = rotation()
    p0 = phase_of(bundle(rot.ca_old), rot.leaf_old.info, NOW)
    p1 = phase_of(bundle(rot.ca_old, rot.ca_new), rot.leaf_old.info, NOW)
    p2 = phase_of(bundle(rot.ca_old, rot.ca_new), rot.leaf_new.info, NOW)
    p3 = phase_of(bundle(rot.ca_new), rot.leaf_new.info, NOW)
    assert [p.phase for p in (p0, p1, p2, p3)] == [
        Phase.STEADY,
        Phase.CA_ADDED,
        Phase.LEAF_ROTATED,
        Phase.STEADY,
    ]
    assert [p.signer_index for p in (p0, p1, p2, p3)] == [0, 0, 1, 0]
    assert [p.ca_count for p in (p0, p1, p2, p3)] == [1, 2, 2, 1]
    assert (
        p2.reason == "2 CAs; leaf signed by CA #2 (newer): new server cert in place, old CA not yet removed"
    )
    assert "CA #1 (older)" in p1.reason


def test_stalled() -> None:
    rot = rotation()
    third = make_ca(kind="ecdsa")
    three = phase_of(bundle(rot.ca_old, rot.ca_new, third), rot.leaf_old.info, NOW)
    assert three.phase is Phase.STALLED and "3 CAs" in three.reason
    two = bundle(rot.ca_old, rot.ca_new)
    held = phase_of(
        two, rot.leaf_old.info, NOW, rotation_duration_seconds=65, held_since=NOW - timedelta(seconds=131)
    )
    assert held.phase is Phase.STALLED and "phase 1" in held.reason
    fresh = phase_of(
        two, rot.leaf_old.info, NOW, rotation_duration_seconds=65, held_since=NOW - timedelta(seconds=129)
    )
    assert fresh.phase is Phase.CA_ADDED
    slow = phase_of(
        two, rot.leaf_new.info, NOW, rotation_duration_seconds=600, held_since=NOW - timedelta(minutes=15)
    )
    assert slow.phase is Phase.LEAF_ROTATED
    assert phase_of(bundle(rot.ca_old, rot.ca_new, third), None, NOW).phase is Phase.STALLED


def test_broken() -> None:
    rot = rotation()
    other = make_ca(kind="ecdsa")  # same CN as every Gloo CA, not in the bundle
    untrusted = phase_of(bundle(rot.ca_new), make_leaf(other, kind="ecdsa").info, NOW)
    assert untrusted.phase is Phase.BROKEN and untrusted.signer_index is None
    assert "not signed" in untrusted.reason
    expired_leaf = make_leaf(rot.ca_old, kind="ecdsa", not_after=NOW - timedelta(days=3))
    expired = phase_of(bundle(rot.ca_old), expired_leaf.info, NOW)
    assert expired.phase is Phase.BROKEN and "expired 3d ago" in expired.reason


def test_not_yet_valid_leaf_is_not_broken() -> None:
    """Clock skew up to 5 minutes is rotation as usual; beyond it the phase still follows the signer and the
    reason says the leaf starts later (the finding is ``leaf-not-yet-valid``, not ``leaf-untrusted``)."""
    rot = rotation()
    skewed = make_leaf(rot.ca_old, kind="ecdsa", not_before=NOW + timedelta(minutes=4))
    near = phase_of(bundle(rot.ca_old), skewed.info, NOW)
    assert near.phase is Phase.STEADY and "not valid before" not in near.reason
    future = make_leaf(rot.ca_old, kind="ecdsa", not_before=NOW + timedelta(days=1))
    far = phase_of(bundle(rot.ca_old), future.info, NOW)
    assert far.phase is Phase.STEADY and "not valid before 2026-11-26 12:00" in far.reason
    assert not_yet_valid(future.info, NOW) and not not_yet_valid(skewed.info, NOW)


def test_signer_of_verifies_once() -> None:
    rot = rotation()
    calls: list[int] = []
    real = rotation_module.find_signer

    def counting(leaf, bundle_):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(leaf, bundle_)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rotation_module, "find_signer", counting)
        assert signer_of(rot.leaf_new.info, bundle(rot.ca_old, rot.ca_new)) == (1, False)
        assert signer_of(strip(rot.leaf_new.info), bundle(rot.ca_old)) == (None, True)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("cas", "leaf", "phase"),
    [((), None, Phase.UNKNOWN), (("old",), None, Phase.UNKNOWN), ((), "old", Phase.UNKNOWN)],
)
def test_unknown(cas: tuple[str, ...], leaf: str | None, phase: Phase) -> None:
    rot = rotation()
    pick = {"old": rot.ca_old}
    leaf_info = rot.leaf_old.info if leaf else None
    assert phase_of(bundle(*(pick[c] for c in cas)), leaf_info, NOW).phase is phase


def test_from_certs_only_matches_by_validity_start() -> None:
    rot = rotation()
    cas = TrustBundle((strip(rot.ca_old.info), strip(rot.ca_new.info)), complete=False)
    verdict = phase_of(cas, strip(rot.leaf_new.info), NOW)
    assert verdict.phase is Phase.LEAF_ROTATED and verdict.signer_index == 1
    assert "validity start" in verdict.reason
    one = TrustBundle((strip(rot.ca_old.info),), complete=False)
    steady = phase_of(one, strip(rot.leaf_old.info), NOW)
    assert steady.phase is Phase.STEADY and "/certs" in steady.reason
    wrong = replace(strip(rot.leaf_old.info), not_before=NOW - timedelta(days=1))
    assert phase_of(one, wrong, NOW).phase is Phase.BROKEN


def test_stall_slack_for_propagation() -> None:
    rot = rotation()
    two = bundle(rot.ca_old, rot.ca_new)
    held = NOW - timedelta(seconds=200)
    assert (
        phase_of(two, rot.leaf_new.info, NOW, rotation_duration_seconds=65, held_since=held).phase
        is Phase.STALLED
    )
    slack = phase_of(
        two, rot.leaf_new.info, NOW, rotation_duration_seconds=65, held_since=held, stall_slack_seconds=130
    )
    assert slack.phase is Phase.LEAF_ROTATED
    late = phase_of(
        two,
        rot.leaf_new.info,
        NOW,
        rotation_duration_seconds=65,
        held_since=NOW - timedelta(seconds=261),
        stall_slack_seconds=130,
    )
    assert late.phase is Phase.STALLED and "for propagation" in late.reason and "phase 2" in late.reason
