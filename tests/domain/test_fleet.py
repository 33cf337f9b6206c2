"""build_snapshot: leaf/bundle per target, phases through a rotation, sync and lag, carried state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gloomon.domain.model import CertsContext, CertsReport, Component, Phase, SecretsDump, ServerInfo
from tests.domain.certs import make_ca, make_leaf, rotation
from tests.domain.fleet_helpers import CTX, fetch, secret, snap


def test_full_rotation_phase_by_phase() -> None:
    """Secret and a lagging pod through P0 → P1 → P2 → P3, one poll every 30 s."""
    rot = rotation()
    old_ca, new_ca, old_leaf, new_leaf = (
        rot.ca_old.info,
        rot.ca_new.info,
        rot.leaf_old.info,
        rot.leaf_new.info,
    )
    steps = [
        (old_leaf, [old_ca], Phase.STEADY),
        (old_leaf, [old_ca, new_ca], Phase.CA_ADDED),
        (new_leaf, [old_ca, new_ca], Phase.LEAF_ROTATED),
        (new_leaf, [new_ca], Phase.STEADY),
    ]
    at = new_ca.not_before + timedelta(seconds=1)
    previous = None
    pod_held = steps[0]
    for leaf, cas, phase in steps:
        fetches = [
            fetch("gloo-1", leaf, cas, at=at),
            fetch("gateway-proxy-1", pod_held[0], pod_held[1], at=at),
        ]
        previous = snap(fetches, [secret(leaf, cas)], at=at, previous=previous)
        assert previous.secret is not None and previous.secret.verdict.phase is phase
        gloo = next(t for t in previous.targets if t.ref.pod == "gloo-1")
        assert gloo.verdict.phase is phase and gloo.in_sync_with_secret is True
        lagger = next(t for t in previous.targets if t.ref.pod == "gateway-proxy-1")
        assert lagger.verdict.phase is pod_held[2]
        pod_held = (leaf, cas, phase)  # it catches up one step late
        at += timedelta(seconds=30)
    assert previous is not None and previous.generation == 4


def test_certs_fallback_when_no_config_dump() -> None:
    rot = rotation()
    both = [rot.ca_old.info, rot.ca_new.info]
    at = rot.ca_new.info.not_before + timedelta(seconds=20)
    result = snap(
        [fetch("gateway-proxy-1", rot.leaf_new.info, both, via_certs=True, at=at)],
        [secret(rot.leaf_new.info, both)],
        at=at,
    )
    target = result.targets[0]
    assert target.bundle.complete is False and target.leaf is not None and target.leaf.sha256 is None
    assert target.verdict.phase is Phase.LEAF_ROTATED and "validity start" in target.verdict.reason
    assert target.in_sync_with_secret is True  # serial + expiry match the secret's


def test_certs_fallback_picks_gloo_context_among_user_tls() -> None:
    rot = rotation()
    user_ca = make_ca(kind="ecdsa", cn="user-ca")
    user_leaf = make_leaf(user_ca, kind="ecdsa", namespace="shop")
    base = fetch("gateway-proxy-1", rot.leaf_new.info, [rot.ca_new.info], via_certs=True)
    assert isinstance(base.certs, CertsReport)
    mixed = CertsReport((CertsContext((user_ca.info,), (user_leaf.info,)), *base.certs.contexts))
    result = snap([replace(base, certs=mixed)], [])
    assert result.targets[0].leaf is not None and result.targets[0].leaf.serial == rot.leaf_new.info.serial


def test_config_dump_preferred_over_certs() -> None:
    rot = rotation()
    base = fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info])
    stale = CertsReport((CertsContext((rot.ca_old.info,), (rot.leaf_old.info,)),))
    result = snap([replace(base, certs=stale)], [])
    target = result.targets[0]
    assert target.leaf == rot.leaf_new.info and target.bundle.complete
    assert target.sds_version == "111"
    assert target.certs_since == base.fetched_at - timedelta(hours=1)


def test_version_and_start_carried_between_polls() -> None:
    rot = rotation()
    first = snap([fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info], uptime=100)], [])
    later = replace(
        fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info], at=first.taken_at + timedelta(seconds=5)),
        server=ServerInfo(None, None, "LIVE"),
    )
    second = snap([later], [], at=first.taken_at + timedelta(seconds=5), previous=first)
    assert second.targets[0].envoy_version == "1.40.0"
    assert second.targets[0].envoy_started_at == first.taken_at - timedelta(seconds=100)
    assert second.generation == first.generation + 1 == 2


def test_order_contexts_and_no_secret() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    result = snap(
        [
            fetch("rate-limit-1", leaf, ca),
            fetch("gateway-proxy-b", leaf, ca),
            fetch("gloo-1", leaf, ca),
            fetch("gateway-proxy-a", leaf, ca),
            fetch("extauth-1", leaf, ca),
        ],
        [],
    )
    assert [t.ref.pod for t in result.targets] == [
        "gloo-1",
        "gateway-proxy-a",
        "gateway-proxy-b",
        "extauth-1",
        "rate-limit-1",
    ]
    assert all(t.in_sync_with_secret is None and t.lag_seconds is None for t in result.targets)
    assert result.targets[0].key == f"{CTX}/gloo-system/gloo-1"
    assert result.targets[0].xds is not None and result.targets[0].xds.cluster == "gloo_xds_cluster"
    assert result.targets[1].xds is not None and result.targets[1].xds.cluster.endswith(":9977")


def test_empty_secrets_dump() -> None:
    base = fetch("extauth-1", None, [], uptime=5)
    result = snap([replace(base, secrets=SecretsDump(()))], [])
    target = result.targets[0]
    assert target.leaf is None and target.verdict.phase is Phase.UNKNOWN
    assert target.ref.component is Component.EXTAUTH


def test_two_cas_held_since_newest_ca_birth() -> None:
    rot = rotation()
    both = [rot.ca_old.info, rot.ca_new.info]
    born = rot.ca_new.info.not_before
    ok = snap(
        [fetch("gloo-1", rot.leaf_old.info, both, at=born + timedelta(seconds=200))],
        [secret(rot.leaf_old.info, both)],
        at=born + timedelta(seconds=200),
    )
    assert ok.secret is not None and ok.secret.verdict.phase is Phase.CA_ADDED  # 200 s < 2×65 s + 130 s slack
    assert ok.secret.multi_ca_since == born
    late = snap(
        [fetch("gloo-1", rot.leaf_old.info, both, at=born + timedelta(seconds=300))],
        [secret(rot.leaf_old.info, both)],
        at=born + timedelta(seconds=300),
        previous=ok,
    )
    assert late.secret is not None and late.secret.verdict.phase is Phase.STALLED
    assert late.targets[0].verdict.phase is Phase.STALLED
