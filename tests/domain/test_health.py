"""Every finding code, from generated certificates and synthetic admin data; thresholds and policy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.health.judge import HealthPolicy, Threshold, expiry_severity
from gloomon.domain.model import (
    Component,
    CronJobState,
    FleetSnapshot,
    LogEvent,
    LogKind,
    ParseError,
    SecretState,
    Severity,
)
from tests.domain.certs import NOW, make_ca, make_leaf, rotation
from tests.domain.fleet_helpers import CRON, CTX, NS, codes, fetch, secret, snap

DAY = 86400.0


@pytest.mark.parametrize(
    ("text", "seconds", "fraction"),
    [("36h", 129600, None), ("14d", 14 * DAY, None), ("10%", None, 0.1), (" 5 % ", None, 0.05)],
)
def test_threshold_parse(text: str, seconds: float | None, fraction: float | None) -> None:
    assert Threshold.parse(text) == Threshold(seconds=seconds, fraction=fraction)


@pytest.mark.parametrize("text", ["", "0%", "150%", "abc", "-1d"])
def test_threshold_rejects(text: str) -> None:
    assert isinstance(Threshold.parse(text), ParseError)


def test_default_limits_min_of_duration_and_percentage() -> None:
    policy = HealthPolicy()
    year = rotation().leaf_old.info  # 365 days
    assert policy.limits(year) == (30 * DAY, pytest.approx(7 * DAY))
    hour_ca = make_ca(kind="ecdsa", not_before=NOW, lifetime=timedelta(hours=10))
    warn, critical = policy.limits(hour_ca.info)
    assert warn == pytest.approx(2 * 3600) and critical == pytest.approx(0.5 * 3600)
    assert policy.lag_grace(None) == 130 and policy.lag_grace(20) == 40
    assert HealthPolicy(lag_grace_seconds=5).lag_grace(65) == 5


@pytest.mark.parametrize(
    ("days_left", "severity"),
    [(200, None), (29, Severity.WARNING), (6, Severity.CRITICAL), (-1, Severity.CRITICAL)],
)
def test_expiry_severity(days_left: float, severity: Severity | None) -> None:
    ca = make_ca(kind="ecdsa", not_before=NOW - timedelta(days=300))
    leaf = make_leaf(ca, kind="ecdsa", not_after=NOW + timedelta(days=days_left))
    assert expiry_severity(leaf.info, NOW, HealthPolicy()) is severity
    custom = HealthPolicy(warn=(Threshold.parse("36h"),), critical=(Threshold.parse("1%"),))  # type: ignore[arg-type]
    assert expiry_severity(leaf.info, NOW, custom) in (None, Severity.CRITICAL)


def test_healthy_fleet_has_no_warnings() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, rot.ca_new.info
    fetches = [fetch(p, leaf, [ca]) for p in ("gloo-1", "gateway-proxy-1", "extauth-1", "rate-limit-1")]
    result = snap(fetches, [secret(leaf, [ca])])
    assert result.findings == ()
    assert all(t.in_sync_with_secret for t in result.targets)


def expiring_pair(days: float):  # type: ignore[no-untyped-def]
    ca = make_ca(kind="ecdsa", not_before=NOW - timedelta(days=300))
    return ca, make_leaf(ca, kind="ecdsa", not_after=NOW + timedelta(days=days))


@pytest.mark.parametrize(
    ("days", "code", "severity"),
    [(20, "leaf-expiring", "warning"), (3, "leaf-expiring", "critical"), (-2, "leaf-expired", "critical")],
)
def test_leaf_expiry(days: float, code: str, severity: str) -> None:
    ca, leaf = expiring_pair(days)
    result = snap([fetch("gloo-1", leaf.info, [ca.info])], [secret(leaf.info, [ca.info])])
    found = codes(result)
    assert (severity, None) in found[code]  # the secret's
    item = next(f for f in result.findings if f.code == code)
    assert "kubectl -n gloo-system create job --from=cronjob/gloo-mtls-certgen-cronjob" in item.hint
    direct = snap([fetch("gloo-1", leaf.info, [ca.info])], [], cronjob=None)
    assert (severity, "gloo-1") in codes(direct)[code]  # no secret: the target's own


def test_ca_expiry() -> None:
    ca = make_ca(kind="ecdsa", not_before=NOW - timedelta(days=300), lifetime=timedelta(days=310))
    expired_ca = make_ca(kind="ecdsa", not_before=NOW - timedelta(days=300), lifetime=timedelta(days=299))
    leaf = make_leaf(ca, kind="ecdsa", not_after=NOW + timedelta(days=5))
    result = snap(
        [fetch("gloo-1", leaf.info, [ca.info, expired_ca.info])],
        [secret(leaf.info, [ca.info, expired_ca.info])],
    )
    found = codes(result)
    assert ("warning", None) in found["ca-expiring"]  # 10 of 310 days left
    assert ("critical", None) in found["ca-expired"]


def test_leaf_untrusted_with_same_cn_impostor() -> None:
    rot = rotation()
    impostor = make_ca(kind="ecdsa")  # CN supergloo-webhook-cert-ca too
    bad_leaf = make_leaf(impostor, kind="ecdsa").info
    result = snap(
        [
            fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info]),
            fetch("gateway-proxy-1", bad_leaf, [rot.ca_new.info]),
        ],
        [secret(rot.leaf_new.info, [rot.ca_new.info])],
    )
    assert codes(result)["leaf-untrusted"] == [("critical", "gateway-proxy-1")]
    assert result.findings[0].severity is Severity.CRITICAL
    broken_secret = snap([], [secret(bad_leaf, [rot.ca_new.info])])
    assert codes(broken_secret)["leaf-untrusted"] == [("critical", None)]


def test_peer_untrusted() -> None:
    rot = rotation()
    result = snap(
        [
            fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info]),
            fetch("extauth-1", rot.leaf_old.info, [rot.ca_old.info]),
        ],
        [],
    )
    assert codes(result)["peer-untrusted"] == [("critical", "extauth-1")]
    assert codes(result)["bundle-mismatch"] == [("warning", None)]


def test_lagging_and_grace() -> None:
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    new_secret = secret(rot.leaf_old.info, [rot.ca_old.info, rot.ca_new.info])
    old = [rot.ca_old.info]
    first = snap(
        [fetch("gateway-proxy-1", rot.leaf_old.info, old, at=t0)], [secret(rot.leaf_old.info, old)], at=t0
    )
    assert first.targets[0].in_sync_with_secret is True
    t1 = t0 + timedelta(seconds=60)
    second = snap(
        [fetch("gateway-proxy-1", rot.leaf_old.info, old, at=t1)], [new_secret], at=t1, previous=first
    )
    target = second.targets[0]
    assert (target.in_sync_with_secret, target.lag_since, target.lag_seconds) == (False, t1, 0.0)
    assert second.secret is not None and second.secret.content_since == t1
    assert "target-lagging" not in codes(second)
    t2 = t1 + timedelta(seconds=131)
    third = snap(
        [fetch("gateway-proxy-1", rot.leaf_old.info, old, at=t2)], [new_secret], at=t2, previous=second
    )
    assert third.targets[0].lag_seconds == 131
    assert codes(third)["target-lagging"] == [("warning", "gateway-proxy-1")]
    lenient = snap(
        [fetch("gateway-proxy-1", rot.leaf_old.info, old, at=t2)],
        [new_secret],
        at=t2,
        previous=second,
        policy=HealthPolicy(lag_grace_seconds=600),
    )
    assert "target-lagging" not in codes(lenient)
    assert third.secret is not None and third.secret.content_since == t1  # unchanged content: carried


def test_target_ahead_when_secret_rolled_back() -> None:
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    result = snap(
        [fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info], at=t0)],
        [secret(rot.leaf_old.info, [rot.ca_old.info])],
        at=t0,
    )
    target = result.targets[0]
    assert target.ahead_of_secret and target.in_sync_with_secret is False
    assert target.sync_reason is not None and target.sync_reason.startswith(
        f"leaf {rot.leaf_new.info.short_serial} ≠"
    )
    assert codes(result)["target-ahead"] == [("warning", "gloo-1")]


def test_bundle_mismatch_within_grace_is_info() -> None:
    rot = rotation()
    t0 = rot.ca_new.info.not_before + timedelta(seconds=30)
    both = [rot.ca_old.info, rot.ca_new.info]
    result = snap(
        [
            fetch("gloo-1", rot.leaf_old.info, both, at=t0),
            fetch("extauth-1", rot.leaf_old.info, both, at=t0),
            fetch("rate-limit-1", rot.leaf_old.info, [rot.ca_old.info], at=t0),
        ],
        [secret(rot.leaf_old.info, both)],
        at=t0,
    )
    assert codes(result)["bundle-mismatch"] == [("info", None)]
    assert result.secret is not None and result.secret.verdict.phase.value == "ca-added"


def test_rotation_stalled() -> None:
    rot = rotation()
    three = [rot.ca_old.info, rot.ca_new.info, make_ca(kind="ecdsa").info]
    result = snap([fetch("gloo-1", rot.leaf_old.info, three)], [secret(rot.leaf_old.info, three)])
    assert codes(result)["rotation-stalled"] == [("warning", None)]
    assert "create job --from=cronjob" in next(
        f.hint for f in result.findings if f.code == "rotation-stalled"
    )
    held = snap([], [secret(rot.leaf_old.info, three[:2])])  # 2 CAs, newest born 1h ago: > 2×65s
    assert codes(held)["rotation-stalled"] == [("warning", None)]


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        (replace(CRON, missing=True), {"renewal-disabled": "warning", "cronjob-disabled": "info"}),
        (replace(CRON, suspended=True), {"renewal-disabled": "warning", "cronjob-disabled": "warning"}),
        (CRON, {}),
    ],
)
def test_renewal_disabled(cron: CronJobState, expected: dict[str, str]) -> None:
    ca, leaf = expiring_pair(60)
    found = codes(snap([], [secret(leaf.info, [ca.info])], cronjob=cron))
    assert {
        code: sevs[0][0] for code, sevs in found.items() if code.startswith(("renewal", "cronjob"))
    } == expected
    if "renewal-disabled" in expected:
        result = snap([], [secret(leaf.info, [ca.info])], cronjob=cron)
        hint = next(f.hint for f in result.findings if f.code == "renewal-disabled")
        assert "gateway.certGenJob.cron.enabled=true" in hint or "suspend" in hint


@pytest.mark.parametrize(
    ("schedule", "code"),
    [
        ("0 0 1 1 *", "cronjob-infrequent"),
        ("0 0 1 1,7 *", "cronjob-infrequent"),
        ("* * * * *", "cronjob-overlapping"),
        ("0,1 0 * * *", "cronjob-overlapping"),  # once a day, but two runs a minute apart
        ("0 0 31 2 *", "cronjob-infrequent"),
        ("nonsense", "cronjob-bad-schedule"),
        ("@monthly", None),
    ],
)
def test_cronjob_schedule(schedule: str, code: str | None) -> None:
    rot = rotation()
    found = codes(
        snap([], [secret(rot.leaf_new.info, [rot.ca_new.info])], cronjob=replace(CRON, schedule=schedule))
    )
    assert [c for c in found if c.startswith("cronjob")] == ([code] if code else [])


def test_tls_failures_rising_info_while_settling() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    t1 = NOW + timedelta(seconds=5)
    first = snap([fetch("extauth-1", leaf, ca, tls_errors=1)], [secret(leaf, ca)])
    assert "tls-verify-failures" not in codes(first)  # needs a previous poll
    settled = snap(
        [fetch("extauth-1", leaf, ca, tls_errors=4, at=t1)], [secret(leaf, ca)], at=t1, previous=first
    )
    assert codes(settled)["tls-verify-failures"] == [("warning", "extauth-1")]
    young = snap([fetch("extauth-1", leaf, ca, tls_errors=1, uptime=10)], [secret(leaf, ca)])
    young2 = snap(
        [fetch("extauth-1", leaf, ca, tls_errors=9, uptime=15, at=t1)],
        [secret(leaf, ca)],
        at=t1,
        previous=young,
    )
    assert codes(young2)["tls-verify-failures"] == [("info", "extauth-1")]
    fresh_certs = snap(
        [fetch("extauth-1", leaf, ca, tls_errors=9, updated=t1 - timedelta(seconds=20), at=t1)],
        [secret(leaf, ca)],
        at=t1,
        previous=first,
    )
    assert codes(fresh_certs)["tls-verify-failures"] == [("info", "extauth-1")]


def test_xds_connect_failing_on_health_checks_or_rising_connect_fails() -> None:
    """Health flags (the lab's health checks) are one signal; failed connects rising are another."""
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    down = snap([fetch("rate-limit-1", leaf, ca, xds_healthy=False)], [secret(leaf, ca)])
    assert codes(down)["xds-connect-failing"] == [("warning", "rate-limit-1")]
    assert "health checks fail" in next(f.message for f in down.findings if f.code == "xds-connect-failing")
    first = snap([fetch("rate-limit-1", leaf, ca, connect_fail=2)], [secret(leaf, ca)])
    assert first.targets[0].xds is not None and first.targets[0].xds.healthy
    rising = snap([fetch("rate-limit-1", leaf, ca, connect_fail=5)], [secret(leaf, ca)], previous=first)
    assert rising.targets[0].xds is not None and not rising.targets[0].xds.healthy
    assert "xds-connect-failing" in codes(rising)
    message = next(f.message for f in rising.findings if f.code == "xds-connect-failing")
    assert "5 failed connects on xds_cluster, rising" in message and "health checks" not in message


def test_admin_findings() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    result = snap(
        [
            fetch("gloo-1", None, [], error="connection refused"),
            fetch("gateway-proxy-1", leaf, ca, bad="stats"),
        ],
        [secret(leaf, ca)],
    )
    found = codes(result)
    assert found["admin-unreachable"] == [("warning", "gloo-1")]
    assert found["admin-bad-response"] == [("warning", "gateway-proxy-1")]
    # several garbled endpoints of one pod make one finding that names them all
    both = replace(
        fetch("gateway-proxy-1", leaf, ca, bad="stats"), clusters=ParseError("/clusters", "not JSON")
    )
    grouped = [f for f in snap([both], [secret(leaf, ca)]).findings if f.code == "admin-bad-response"]
    assert len(grouped) == 1
    assert "/clusters: not JSON" in grouped[0].message and "/stats: not valid JSON" in grouped[0].message
    unreachable = next(t for t in result.targets if t.ref.pod == "gloo-1")
    assert unreachable.verdict.phase.value == "unknown" and not unreachable.reachable
    hint = next(f.hint for f in result.findings if f.code == "admin-unreachable")
    assert "port-forward pod/gloo-1 8001" in hint


@pytest.mark.parametrize(
    ("state", "code", "severity"),
    [
        ({"missing": True}, "secret-missing", "critical"),
        ({"forbidden": True, "error": "forbidden (403)"}, "secret-forbidden", "warning"),
        ({"error": "unreadable ca.crt: no CERTIFICATE found"}, "secret-unreadable", "warning"),
    ],
)
def test_secret_problems(state: dict[str, object], code: str, severity: str) -> None:
    result = snap([], [secret(None, [], **state)])
    assert codes(result)[code] == [(severity, None)]
    assert result.secret is not None and result.secret.verdict.phase.value == "unknown"


NO_CA = "ca.crt missing (every pod's sds exits: could not find file)"


def _unreadable_hint(result: FleetSnapshot) -> str:
    (hint,) = [f.hint for f in result.findings if f.code == "secret-unreadable"]
    return hint


def test_no_ca_hint_follows_the_absent_key_not_the_error_words() -> None:
    """A secret without ca.crt (kubectl create secret tls) is told how it came to be: from the keys the
    source found absent; an error that only says the words, or is this poll's failure to read the
    secret (its content, keys and all, carried from the last read), gets no such hint."""
    leaf = rotation().leaf_new.info
    by_hand = "kubectl create secret tls has no ca.crt"
    no_ca = snap([], [secret(leaf, [], error=NO_CA, absent_keys=("ca.crt",))])
    assert by_hand in _unreadable_hint(no_ca)
    assert by_hand not in _unreadable_hint(snap([], [secret(leaf, [], error=NO_CA)]))
    later = NOW + timedelta(seconds=30)
    unread = SecretState(CTX, NS, read_at=later, observed=False, error="API unreachable")
    carried = snap([], [unread], at=later, previous=no_ca)
    assert carried.secret is not None and carried.secret.state.absent_keys == ("ca.crt",)
    assert by_hand not in _unreadable_hint(carried)


def test_sds_not_delivered() -> None:
    old = snap([fetch("gateway-proxy-1", None, [], uptime=600)], [])
    assert codes(old)["sds-not-delivered"] == [("critical", "gateway-proxy-1")]
    young = snap([fetch("gateway-proxy-1", None, [], uptime=20)], [])
    assert codes(young)["sds-not-delivered"] == [("info", "gateway-proxy-1")]
    unknown = snap([fetch("gateway-proxy-1", None, [], uptime=None)], [])
    assert codes(unknown)["sds-not-delivered"] == [("warning", "gateway-proxy-1")]
    message = next(f.message for f in unknown.findings if f.code == "sds-not-delivered")
    assert "/certs is empty" not in message and "start time unknown" in message


def test_logs_missing_components_errors_and_state() -> None:
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    events = [
        LogEvent(
            NOW,
            "info",
            None,
            "gloo-mtls-certgen-cronjob-1",
            "certgen",
            "context cancelled, next rotation …",
            LogKind.CERTGEN_CANCELLED,
        ),
        LogEvent(
            NOW,
            "warning",
            Component.GLOO,
            "gloo-1",
            "sds",
            "failed to update SDS config after cert file change",
            LogKind.SDS_UPDATE_FAILED,
        ),
        LogEvent(
            NOW,
            "warning",
            Component.GLOO,
            "gloo-1",
            "sds",
            "failed to update SDS config (again)",
            LogKind.SDS_UPDATE_FAILED,
        ),
    ]
    result = snap(
        [fetch("gloo-1", leaf, ca, state="DRAINING")],
        [secret(leaf, ca)],
        log_events=events,
        missing=[Component.EXTAUTH],
        errors=["API unreachable: timed out"],
    )
    found = codes(result)
    assert "rotation-cancelled" not in found  # certgen never logs it when killed: the Job's condition says it
    assert found["sds-update-failed"] == [("warning", "gloo-1")]
    assert found["component-missing"] == [("warning", None)]
    assert found["source-error"] == [("warning", None)]
    assert found["envoy-not-live"] == [("warning", "gloo-1")]


def test_findings_sorted_and_hints_concrete() -> None:
    rot = rotation()
    impostor = make_ca(kind="ecdsa")
    ca, leaf = expiring_pair(20)
    result = snap(
        [
            fetch("rate-limit-1", leaf.info, [ca.info]),
            fetch("gloo-1", None, [], error="refused"),
            fetch("gateway-proxy-1", make_leaf(impostor, kind="ecdsa").info, [rot.ca_new.info]),
        ],
        [],
        cronjob=replace(CRON, missing=True),
    )
    ranks = [f.severity.rank for f in result.findings]
    assert ranks == sorted(ranks, reverse=True)
    for item in result.findings:
        assert item.code == item.code.lower() and " " not in item.code
        assert "\n" not in item.message
        assert "kubectl" in item.hint or "gateway.certGenJob" in item.hint or "helm" in item.hint


def test_a_failed_sds_update_is_its_own_clusters_and_its_hint_its_pods_namespace() -> None:
    """Two clusters run pods of the same name: each one's failed reload is its own finding, named by its
    context, and its hint reads the logs in the namespace where that pod runs."""
    from gloomon.domain.fleet import build_snapshot
    from gloomon.domain.model import ContextState

    leaf, ca = make_leaf(make_ca()), make_ca()
    fetches = [
        replace(one, target=replace(one.target, context=context, namespace=namespace))
        for context, namespace in (("east", "gloo-system"), ("west", "apps"))
        for one in [fetch("gateway-proxy-1", leaf.info, [ca.info])]
    ]
    failed = [
        LogEvent(NOW, "warning", Component.GATEWAY_PROXY, "gateway-proxy-1", "sds", f"failed {context}",
                 LogKind.SDS_UPDATE_FAILED, context=context)
        for context in ("east", "west")
    ]  # fmt: skip
    result = build_snapshot(
        taken_at=NOW,
        namespace="gloo-system",
        contexts=["east", "west"],
        fetches=fetches,
        secrets=[replace(secret(leaf.info, [ca.info]), context=c) for c in ("east", "west")],
        cronjob=None,
        policy=HealthPolicy(),
        log_events=failed,
        context_states=[ContextState("east", gloo_installed=True), ContextState("west", gloo_installed=True)],
    )
    found = {f.context: f for f in result.findings if f.code == "sds-update-failed"}
    assert set(found) == {"east", "west"}
    assert "failed west" in found["west"].message
    assert "kubectl --context west -n apps logs gateway-proxy-1 -c sds" in found["west"].hint
    assert "kubectl --context east -n gloo-system logs gateway-proxy-1 -c sds" in found["east"].hint
