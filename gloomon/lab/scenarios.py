"""The lab's scenarios: which Gloo mTLS situation a fresh lab starts in (DESIGN.md "The lab").

A scenario is data; :class:`gloomon.lab.lab.Lab` applies it. The certificates and faults are real: a
lagging pod's Envoy really holds the old certificate, an untrusted bundle really fails handshakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gloomon.lab.pods.certgen_job import CertgenConfig
from gloomon.lab.pods.webhook import WebhookSetup

#: Weekly, like a cautious production install (any run rotates: forceRotation is Gloo's default).
WEEKLY = "0 3 * * 0"


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    summary: str
    certgen: CertgenConfig
    #: the second gateway-proxy pod stops receiving secret updates, then a rotation runs during start.
    lagging: bool = False
    #: extauth's trust bundle is a stranger's CA: it cannot verify gloo (real handshake failures).
    untrusted: bool = False
    #: rate-limit's sds fails as in production: "late" (starts after Envoy's initial fetch timed out) or
    #: "dead" (dies once it delivered, then crash-loops: Envoy keeps the old certificates);
    #: "key-missing": ca.crt is not in the secret (made by hand with ``kubectl create secret tls``), every
    #: pod's sds exits ``could not find file``.
    sds_fault: str = ""
    #: gloo's own process is down (its ADS gone) while its envoy-sidecar stays up.
    gloo_process_down: bool = False
    #: leaf generated so that it has this many days left (of a 365-day lifetime).
    expiring_days: float | None = None
    #: a run died after phase 1 hours ago: two CAs are held; the next run dies there too (a 3rd CA).
    stalled: bool = False
    #: how gateway-certgen left gloo's validation webhook (default: one fresh run at start, all in order)
    webhook: WebhookSetup = field(default_factory=WebhookSetup)
    #: the CronJob's last N scheduled runs before the lab started failed (their Jobs are gone)
    failed_runs: int = 0
    #: once running, gloo-mtls-certs is deleted and a new gateway-proxy pod cannot mount it
    secret_deleted: bool = False


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "healthy",
            "one CA, every pod in sync, all mTLS links healthy",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
        ),
        Scenario(
            "rotating",
            "fast rotations (rotationDuration 20s, a run every 2 minutes, the first soon)",
            CertgenConfig(
                rotation_duration=20.0,
                schedule="*/2 * * * *",
                first_run_after=15.0,
                concurrency_policy="Forbid",
            ),
        ),
        Scenario(
            "expiring",
            "the leaf has 3 days left and no CronJob renews it",
            CertgenConfig(rotation_duration=65.0, schedule=None),
            expiring_days=3.0,
        ),
        Scenario(
            "lagging",
            "one gateway-proxy pod missed the last rotation and serves the old certificate",
            CertgenConfig(rotation_duration=2.0, schedule=WEEKLY),
            lagging=True,
        ),
        Scenario(
            "untrusted",
            "extauth's bundle lacks gloo's issuer: its handshakes to gloo fail",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            untrusted=True,
        ),
        Scenario(
            "stalled",
            "a rotation died after phase 1: two CAs held for hours; the next run adds a third",
            CertgenConfig(
                rotation_duration=65.0, schedule="0 */6 * * *", first_run_after=90.0, active_deadline=60.0
            ),
            stalled=True,
        ),
        Scenario(
            "sds-late",
            "rate-limit's sds starts 16s late: Envoy's initial fetch times out, then the secrets arrive",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            sds_fault="late",
        ),
        Scenario(
            "sds-dead",
            "rate-limit's sds died after delivering and crash-loops: the next rotation never reaches it",
            CertgenConfig(rotation_duration=2.0, schedule=WEEKLY),
            sds_fault="dead",
        ),
        Scenario(
            "secret-key-missing",
            "ca.crt is missing from gloo-mtls-certs (made by hand with kubectl create secret tls): every "
            "pod's sds exits 'could not find file' and crash-loops; no Envoy gets certificates",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            sds_fault="key-missing",
        ),
        Scenario(
            "gloo-process-down",
            "gloo's process is down, its envoy-sidecar up: gateway-proxies lose their ADS stream",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            gloo_process_down=True,
        ),
        Scenario(
            "certgen-failing",
            "certgen exits 1 (its ServiceAccount may not update the secret): retried, then "
            "BackoffLimitExceeded; the CronJob's last 3 runs failed",
            CertgenConfig(
                rotation_duration=20.0,
                schedule="0 */6 * * *",
                first_run_after=1.0,
                failure="forbidden",
                backoff_limit=2,
                retry_backoff=2.0,
            ),
            failed_runs=3,
        ),
        Scenario(
            "certgen-killed",
            "a rotation killed at activeDeadlineSeconds in its first grace period: DeadlineExceeded, "
            "no log line (certgen has no signal handler), two CAs left in the secret",
            CertgenConfig(rotation_duration=30.0, schedule=WEEKLY, first_run_after=1.0, active_deadline=6.0),
        ),
        Scenario(
            "certgen-no-sa",
            "the certgen ServiceAccount was deleted: its Job cannot create a pod (FailedCreate events)",
            CertgenConfig(
                rotation_duration=65.0,
                schedule=WEEKLY,
                first_run_after=1.0,
                service_account_missing=True,
                retry_backoff=5.0,
            ),
        ),
        Scenario(
            "secret-deleted",
            "gloo-mtls-certs was deleted: running pods keep their copy, a new gateway-proxy pod stays in "
            "ContainerCreating (FailedMount)",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            secret_deleted=True,
        ),
        Scenario(
            "webhook-expired",
            "gloo's validation webhook certificate expired a day ago (failurePolicy Fail: applies fail)",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            webhook=WebhookSetup(days_left=-1.0, failure_policy="Fail"),
        ),
        Scenario(
            "cabundle-stale",
            "after an upgrade certgen renewed the webhook secret, but the caBundle still holds the old CA",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            webhook=WebhookSetup(stale_ca_bundle=True, failure_policy="Fail"),
        ),
        Scenario(
            "webhook-wrong-sans",
            "the webhook certificate was reused from an older install: it names gateway.<ns>.svc",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            webhook=WebhookSetup(service="gateway"),
        ),
        Scenario(
            "certgen-every-sync",
            "ArgoCD re-runs gateway-certgen on every sync: four Jobs in the last hour, a new CA each",
            CertgenConfig(rotation_duration=65.0, schedule=WEEKLY),
            webhook=WebhookSetup(syncs=4),
        ),
    )
}


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}") from None
