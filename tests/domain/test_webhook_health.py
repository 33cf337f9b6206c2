"""The validation webhook's findings (domain/health/webhook.py), table-driven on certgen-like certificates:
each broken state gives its code, at the severity its failure policy makes it, and a healthy one none."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain import fleet
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import (
    FleetSnapshot,
    JobState,
    Severity,
    TrustBundle,
    WebhookConfig,
    WebhookEntry,
    WebhookState,
)
from tests.domain.certs import NOW, Made, bundle, make_ca, make_leaf

NS = "gloo-system"
CA = make_ca()
LEAF = make_leaf(CA)
OTHER_CA = make_ca()
OTHER_LEAF = make_leaf(OTHER_CA)
OLD_INSTALL = make_leaf(CA, namespace="gateway")  # SANs gloo.gateway.svc: not this service
EXPIRED = make_leaf(CA, not_before=NOW - timedelta(days=366))
EXPIRING = make_leaf(CA, not_before=NOW - timedelta(days=362))


def entry(ca: TrustBundle | None = None, policy: str | None = "Fail", name: str = "gloo") -> WebhookEntry:
    return WebhookEntry(
        name=f"{name}.{NS}.svc",
        ca_bundle=bundle(CA) if ca is None else ca,
        failure_policy=policy,
        service_name="gloo",
        service_namespace=NS,
        path="/validation",
        port=443,
    )


def state(
    served: Made | None = LEAF,
    secret: Made | None = LEAF,
    secret_ca: Made = CA,
    entries: tuple[WebhookEntry, ...] | None = None,
    **fields: object,
) -> WebhookState:
    return WebhookState(
        context="c1",
        namespace=NS,
        read_at=NOW,
        secret_bundle=bundle(secret_ca),
        secret_leaf=secret.info if secret is not None else None,
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", entries or (entry(),)),
        served=served.info if served is not None else None,
        **fields,  # type: ignore[arg-type]
    )


def judged(webhook: WebhookState, previous: FleetSnapshot | None = None) -> FleetSnapshot:
    return fleet.build_snapshot(
        taken_at=NOW,
        namespace=NS,
        contexts=("c1",),
        fetches=[],
        secrets=[],
        cronjob=None,
        policy=HealthPolicy(),
        previous=previous,
        webhooks=[webhook],
    )


def found(webhook: WebhookState) -> dict[str, Severity]:
    return {
        f.code: f.severity for f in judged(webhook).findings if f.code.startswith(("webhook-", "cabundle-"))
    }


def job(name: str, minutes_ago: float, *, failed: bool = False) -> JobState:
    started = NOW - timedelta(minutes=minutes_ago)
    return JobState(
        name, started, None if failed else started + timedelta(seconds=5), False, not failed, failed
    )


EVERY_SYNC_JOBS = tuple(job(f"gateway-certgen-{i}", m) for i, m in enumerate((50, 35, 20)))
NEW_CA = make_ca(not_before=NOW - timedelta(minutes=20))
NEW_LEAF = make_leaf(NEW_CA)

CASES = [
    ("healthy", state(), {}),
    (
        "expired, Fail: every apply fails",
        state(EXPIRED, EXPIRED),
        {"webhook-cert-expired": Severity.CRITICAL},
    ),
    (
        "expired, Ignore: validation silently off",
        state(EXPIRED, EXPIRED, entries=(entry(policy="Ignore"),)),
        {"webhook-cert-expired": Severity.WARNING},
    ),
    (
        "expired, failurePolicy unset: the API server's default is Fail",
        state(EXPIRED, EXPIRED, entries=(entry(policy=None),)),
        {"webhook-cert-expired": Severity.CRITICAL},
    ),
    (
        "expiring (the mTLS leaf's thresholds)",
        state(EXPIRING, EXPIRING),
        {"webhook-cert-expiring": Severity.CRITICAL},
    ),
    (
        "caBundle empty",
        state(entries=(entry(TrustBundle()),)),
        {"cabundle-empty": Severity.CRITICAL},
    ),
    (
        "after an upgrade: secret and served cert from a new CA, caBundle the old CA",
        state(OTHER_LEAF, OTHER_LEAF, OTHER_CA),
        {"cabundle-untrusted": Severity.CRITICAL, "cabundle-stale": Severity.WARNING},
    ),
    (
        "served cert is not the secret's (gloo not restarted), the caBundle still verifies it",
        state(EXPIRING, LEAF),
        {"webhook-served-stale": Severity.WARNING, "webhook-cert-expiring": Severity.CRITICAL},
    ),
    (
        "SANs of an older install",
        state(OLD_INSTALL, OLD_INSTALL),
        {"webhook-sans-missing": Severity.CRITICAL},
    ),
    (
        "SANs of an older install, Ignore",
        state(OLD_INSTALL, OLD_INSTALL, entries=(entry(policy="Ignore"),)),
        {"webhook-sans-missing": Severity.WARNING},
    ),
    (
        "the newest certgen Job failed",
        state(jobs=(job("gateway-certgen", 5, failed=True),)),
        {"webhook-certgen-failed": Severity.WARNING},
    ),
    (
        "three Jobs in the hour, the CA made by them: certgen on every sync",
        state(NEW_LEAF, NEW_LEAF, NEW_CA, entries=(entry(bundle(NEW_CA)),), jobs=EVERY_SYNC_JOBS),
        {"webhook-certgen-every-sync": Severity.WARNING},
    ),
    (
        "three Jobs in the hour that kept a CA older than them: no re-run finding",
        state(jobs=EVERY_SYNC_JOBS),
        {},
    ),
    (
        "no permission on the cluster-scoped configuration: said once, the rest still judged",
        replace(state(EXPIRED, EXPIRED), config=None, config_forbidden=True, config_error="forbidden (403)"),
        {"webhook-config-forbidden": Severity.INFO, "webhook-cert-expired": Severity.CRITICAL},
    ),
    (
        "the configuration exists and the secret does not",
        state(None, None, secret_missing=True),
        {"webhook-secret-missing": Severity.CRITICAL},
    ),
    (
        "no permission on the webhook secret: an RBAC matter, said at info, the served cert still judged",
        replace(
            state(EXPIRED, None),
            secret_bundle=None,
            secret_forbidden=True,
            secret_error="forbidden (403): secrets gateway-validation-certs",
        ),
        {"webhook-secret-unreadable": Severity.INFO, "webhook-cert-expired": Severity.CRITICAL},
    ),
    (
        "gloo's 8443 gave no certificate",
        state(None, served_error="TLS handshake through the port-forward failed: connection reset"),
        {"webhook-not-served": Severity.WARNING},
    ),
]


@pytest.mark.parametrize(("webhook", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_webhook_state_gives_its_findings_at_its_failure_policys_severity(
    webhook: WebhookState, expected: dict[str, Severity]
) -> None:
    assert found(webhook) == expected


def test_a_context_without_the_webhook_gives_no_finding() -> None:
    absent = WebhookState("c1", NS, NOW, secret_missing=True, config_missing=True)
    assert not absent.installed
    assert found(absent) == {}
    assert judged(absent).webhook is None


def test_every_hint_names_a_command_or_a_helm_value() -> None:
    every = [f for _, webhook, _ in CASES for f in judged(webhook).findings]
    assert every
    for item in every:
        assert "kubectl" in item.hint or "helm" in item.hint or "gateway." in item.hint, item


def test_the_served_stale_hint_restarts_gloo_in_its_namespace() -> None:
    (item,) = [f for f in judged(state(EXPIRING, LEAF)).findings if f.code == "webhook-served-stale"]
    assert f"kubectl -n {NS} rollout restart deploy/gloo" in item.hint


def test_a_ca_that_changed_since_the_last_poll_counts_as_a_rerun() -> None:
    """Jobs whose CA predates them, but the previous poll read another CA: certgen replaced it."""
    before = judged(state(OTHER_LEAF, OTHER_LEAF, OTHER_CA, entries=(entry(bundle(OTHER_CA)),)))
    now = judged(state(jobs=EVERY_SYNC_JOBS), previous=before)
    assert "webhook-certgen-every-sync" in {f.code for f in now.findings}


def test_webhooks_sharing_a_stale_ca_bundle_give_one_finding_at_the_strictest_policy() -> None:
    """Gloo's two webhooks (its resources: Fail; core deletes: Ignore) share one caBundle."""
    both = (entry(policy="Fail"), entry(policy="Ignore", name="kube"))
    findings = [f for f in judged(state(OTHER_LEAF, OTHER_LEAF, OTHER_CA, entries=both)).findings]
    (untrusted,) = [f for f in findings if f.code == "cabundle-untrusted"]
    assert untrusted.severity is Severity.CRITICAL
    assert f"gloo.{NS}.svc, kube.{NS}.svc" in untrusted.message
    assert "/webhooks/0/clientConfig/caBundle" in untrusted.hint
    assert "/webhooks/1/clientConfig/caBundle" in untrusted.hint
    assert [f.code for f in findings].count("cabundle-stale") == 1


def test_findings_about_the_served_certificate_name_the_gloo_pod_asked() -> None:
    webhook = replace(
        state(EXPIRED, EXPIRED, jobs=(job("gateway-certgen", 5, failed=True),)), served_pod="gloo-1"
    )
    by_code = {f.code: f for f in judged(webhook).findings}
    assert by_code["webhook-cert-expired"].subjects.pods == ("gloo-1",)
    assert by_code["webhook-certgen-failed"].subjects.pods == ()  # about the Job, not the pod
