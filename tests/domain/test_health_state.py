"""Findings that depend on state across polls, or on a single poll with no history: bundle mismatch during
a rotation, lag on a one-shot check, counters that rose, clocks, and where certificates were read from."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gloomon.domain import model as models
from gloomon.domain.compare.sync import cert_key, same_cert
from tests.domain.certs import NOW, make_ca, make_leaf, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap


def test_bundle_mismatch_is_info_when_the_first_pods_pick_up_a_phase() -> None:
    """The first pod to take the new bundle is in sync with the secret, the others lag within the grace:
    a normal rotation, not a warning (it was: the in-sync pod formed the "odd" group with no lag)."""
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    both, old = [rot.ca_old.info, rot.ca_new.info], [rot.ca_old.info]
    result = snap(
        [
            fetch("gloo-1", rot.leaf_old.info, both, at=t0),
            fetch("extauth-1", rot.leaf_old.info, old, at=t0),
            fetch("rate-limit-1", rot.leaf_old.info, old, at=t0),
        ],
        [secret(rot.leaf_old.info, both)],
        at=t0,
    )
    assert codes(result)["bundle-mismatch"] == [("info", None)]
    late = t0 + timedelta(seconds=200)
    stuck = snap(
        [
            fetch("gloo-1", rot.leaf_old.info, both, at=late),
            fetch("extauth-1", rot.leaf_old.info, both, at=late),
            fetch("rate-limit-1", rot.leaf_old.info, old, at=late),
        ],
        [secret(rot.leaf_old.info, both)],
        at=late,
        previous=result,
    )
    assert codes(stuck)["bundle-mismatch"] == [("warning", None)]
    message = next(f.message for f in stuck.findings if f.code == "bundle-mismatch")
    assert "rate-limit-1" in message and "gloo-1" not in message


def test_bundle_mismatch_without_secret_warns_only_after_the_grace() -> None:
    """--target mode: each differing target carries since when it differs; the grace counts from it."""
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    both, old = [rot.ca_old.info, rot.ca_new.info], [rot.ca_old.info]
    long_ago = t0 - timedelta(days=10)

    def poll(at, extauth_cas, previous=None):  # type: ignore[no-untyped-def]
        return snap(
            [
                fetch("gloo-1", rot.leaf_old.info, both, at=at, updated=t0 - timedelta(seconds=5)),
                fetch("extauth-1", rot.leaf_old.info, extauth_cas, at=at, updated=long_ago),
            ],
            [],
            at=at,
            previous=previous,
        )

    first = poll(t0, old)
    extauth = next(t for t in first.targets if t.ref.pod == "extauth-1")
    assert extauth.bundle_differs_since == t0 - timedelta(seconds=5)
    assert codes(first)["bundle-mismatch"] == [("info", None)]
    second = poll(t0 + timedelta(seconds=200), old, first)
    assert (
        next(t for t in second.targets if t.ref.pod == "extauth-1").bundle_differs_since
        == extauth.bundle_differs_since
    )
    assert codes(second)["bundle-mismatch"] == [("warning", None)]
    caught_up = poll(t0 + timedelta(seconds=230), both, second)
    assert "bundle-mismatch" not in codes(caught_up)
    assert all(t.bundle_differs_since is None for t in caught_up.targets)


def test_certificates_compare_equal_across_sources() -> None:
    """config_dump (with fingerprint) on one pod and /certs (without) on another hold the same bundle:
    no bundle mismatch, and an expiring CA is reported once (the secret's), not again per pod."""
    ca = make_ca(kind="ecdsa", not_before=NOW - timedelta(days=300), lifetime=timedelta(days=320))
    leaf = make_leaf(ca, kind="ecdsa").info
    result = snap(
        [
            fetch("gloo-1", leaf, [ca.info]),
            fetch("gateway-proxy-1", leaf, [ca.info], via_certs=True),
        ],
        [secret(leaf, [ca.info])],
    )
    found = codes(result)
    assert "bundle-mismatch" not in found
    assert found["ca-expiring"] == [("warning", None)]
    proxy = next(t for t in result.targets if t.ref.pod == "gateway-proxy-1")
    assert proxy.bundle.cas[0].sha256 is None and cert_key(proxy.bundle.cas[0]) == cert_key(ca.info)
    assert same_cert(proxy.bundle.cas[0], ca.info)
    no_secret = snap(
        [fetch("gloo-1", leaf, [ca.info]), fetch("gateway-proxy-1", leaf, [ca.info], via_certs=True)]
    )
    assert "bundle-mismatch" not in codes(no_secret)


def test_one_shot_check_sees_lag_from_the_secret_update_time() -> None:
    """No previous snapshot: the secret's own update time (managedFields/creationTimestamp) seeds
    content_since, so a pod that missed a rotation 5 minutes ago is reported lagging at once."""
    rot = rotation()
    now = rot.ca_new.info.not_before + timedelta(minutes=10)
    new = secret(rot.leaf_new.info, [rot.ca_new.info], updated_at=now - timedelta(minutes=5))
    result = snap([fetch("gateway-proxy-1", rot.leaf_old.info, [rot.ca_old.info], at=now)], [new], at=now)
    assert result.secret is not None and result.secret.content_since == now - timedelta(minutes=5)
    target = result.targets[0]
    assert target.lag_seconds == 300
    assert codes(result)["target-lagging"] == [("warning", "gateway-proxy-1")]
    recent = replace(new, updated_at=now - timedelta(seconds=20))
    fresh = snap([fetch("gateway-proxy-1", rot.leaf_old.info, [rot.ca_old.info], at=now)], [recent], at=now)
    assert fresh.targets[0].lag_seconds == 20 and "target-lagging" not in codes(fresh)
    future = replace(new, updated_at=now + timedelta(minutes=3))  # clock skew: never later than now
    skewed = snap([], [future], at=now)
    assert skewed.secret is not None and skewed.secret.content_since == now


def test_secret_change_between_polls_dated_by_update_time() -> None:
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(minutes=10)
    first = snap([], [secret(rot.leaf_old.info, [rot.ca_old.info])], at=t0)
    t1 = t0 + timedelta(seconds=30)
    changed = secret(
        rot.leaf_old.info, [rot.ca_old.info, rot.ca_new.info], updated_at=t0 + timedelta(seconds=12)
    )
    second = snap([], [changed], at=t1, previous=first)
    assert second.secret is not None and second.secret.content_since == t0 + timedelta(seconds=12)


def test_sds_rejected_by_state_not_by_poll() -> None:
    """Past rejections on an in-sync target are info; rising (within a minute) is a warning, and critical
    when the target does not hold the secret's certificates. (This test used to expect warning → critical
    → info on three polls of the same state: the severity flapped.)"""
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    t = [NOW + timedelta(seconds=s) for s in (0, 10, 40, 140)]
    first = snap([fetch("gateway-proxy-1", leaf, ca, rejected=1, at=t[0])], [secret(leaf, ca)], at=t[0])
    assert codes(first)["sds-update-rejected"] == [("info", "gateway-proxy-1")]
    second = snap(
        [fetch("gateway-proxy-1", leaf, ca, rejected=2, at=t[1])], [secret(leaf, ca)], at=t[1], previous=first
    )
    assert codes(second)["sds-update-rejected"] == [("warning", "gateway-proxy-1")]
    third = snap(
        [fetch("gateway-proxy-1", leaf, ca, rejected=2, at=t[2])],
        [secret(leaf, ca)],
        at=t[2],
        previous=second,
    )
    assert codes(third)["sds-update-rejected"] == [("warning", "gateway-proxy-1")]  # rose 30 s ago
    fourth = snap(
        [fetch("gateway-proxy-1", leaf, ca, rejected=2, at=t[3])], [secret(leaf, ca)], at=t[3], previous=third
    )
    assert codes(fourth)["sds-update-rejected"] == [("info", "gateway-proxy-1")]
    newer = secret(rot.leaf_old.info, [rot.ca_old.info, rot.ca_new.info])
    lagging = snap(
        [fetch("gateway-proxy-1", leaf, ca, rejected=3, at=t[1])], [newer], at=t[1], previous=first
    )
    assert codes(lagging)["sds-update-rejected"] == [("critical", "gateway-proxy-1")]
    stuck = snap(
        [fetch("gateway-proxy-1", leaf, ca, rejected=3, at=t[3])], [newer], at=t[3], previous=lagging
    )
    assert codes(stuck)["sds-update-rejected"] == [("warning", "gateway-proxy-1")]


def test_tls_failures_hold_for_a_minute_after_the_last_rise() -> None:
    """Delta-only findings appeared and cleared on alternate polls; now they hold 60 s after a rise."""
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]

    def poll(seconds: int, errors: int, previous=None):  # type: ignore[no-untyped-def]
        at = NOW + timedelta(seconds=seconds)
        return snap(
            [fetch("extauth-1", leaf, ca, tls_errors=errors, at=at)],
            [secret(leaf, ca)],
            at=at,
            previous=previous,
        )

    first = poll(0, 0)
    rose = poll(10, 3, first)
    assert codes(rose)["tls-verify-failures"] == [("warning", "extauth-1")]
    assert rose.targets[0].tls_errors_last_rise == NOW + timedelta(seconds=10)
    flat = poll(20, 3, rose)
    assert codes(flat)["tls-verify-failures"] == [("warning", "extauth-1")]
    assert flat.targets[0].tls_errors_last_rise == NOW + timedelta(seconds=10)
    quiet = poll(100, 3, flat)
    assert "tls-verify-failures" not in codes(quiet)


def test_tls_failures_seen_by_a_single_poll() -> None:
    """A one-shot check: verify failures on a scope with no successful handshake are evidence enough."""
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    broken = snap([fetch("extauth-1", leaf, ca, tls_errors=4, handshakes=0)], [secret(leaf, ca)])
    assert codes(broken)["tls-verify-failures"] == [("warning", "extauth-1")]
    assert "no successful handshake" in next(
        f.message for f in broken.findings if f.code == "tls-verify-failures"
    )
    working = snap([fetch("extauth-1", leaf, ca, tls_errors=4, handshakes=9)], [secret(leaf, ca)])
    assert "tls-verify-failures" not in codes(working)


def test_xds_rising_holds_for_a_minute() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]

    def poll(seconds: int, fails: int, previous=None):  # type: ignore[no-untyped-def]
        at = NOW + timedelta(seconds=seconds)
        return snap(
            [fetch("rate-limit-1", leaf, ca, connect_fail=fails, at=at)],
            [secret(leaf, ca)],
            at=at,
            previous=previous,
        )

    first = poll(0, 2)
    rising = poll(10, 5, first)
    flat = poll(40, 5, rising)
    assert "xds-connect-failing" in codes(rising) and "xds-connect-failing" in codes(flat)
    assert flat.targets[0].xds_connect_fail_last_rise == NOW + timedelta(seconds=10)
    later = poll(100, 5, flat)
    assert later.targets[0].xds is not None and later.targets[0].xds.healthy
    assert "xds-connect-failing" not in codes(later)


def test_leaf_not_yet_valid_is_a_warning_not_untrusted() -> None:
    rot = rotation()
    future = make_leaf(rot.ca_new, kind="ecdsa", not_before=NOW + timedelta(days=1)).info
    skewed = make_leaf(rot.ca_new, kind="ecdsa", not_before=NOW + timedelta(minutes=3)).info
    result = snap([fetch("gloo-1", future, [rot.ca_new.info])], [secret(future, [rot.ca_new.info])])
    found = codes(result)
    assert "leaf-untrusted" not in found
    assert found["leaf-not-yet-valid"] == [("warning", None)]  # the secret's; the pod holds the same
    direct = snap([fetch("gloo-1", future, [rot.ca_new.info])], [], cronjob=None)
    assert codes(direct)["leaf-not-yet-valid"] == [("warning", "gloo-1")]
    within = snap([fetch("gloo-1", skewed, [rot.ca_new.info])], [secret(skewed, [rot.ca_new.info])])
    assert not {"leaf-untrusted", "leaf-not-yet-valid"} & set(codes(within))


def test_models_reexport_everything() -> None:
    from gloomon.domain.model import admin as models_admin
    from gloomon.domain.model import certs as models_certs
    from gloomon.domain.model import cluster as models_kube
    from gloomon.domain.model import snapshot as models_snapshot
    from gloomon.domain.model import vocabulary as models_core

    for module in (models_admin, models_certs, models_core, models_kube, models_snapshot):
        for name in dir(module):
            value = getattr(module, name)
            if getattr(value, "__module__", None) == module.__name__:
                assert getattr(models, name) is value, name
