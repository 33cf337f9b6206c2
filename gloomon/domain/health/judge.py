"""All judgement: the findings (severity, stable code, pod, message, hint) of a snapshot.

Codes are stable kebab-case strings the report, the JSON schema and tests rely on. Hints are concrete:
a kubectl command or the Helm value to change. The policy and what every check shares live in
:mod:`gloomon.domain.health.policy` (re-exported here); per-target findings in
:mod:`gloomon.domain.health.targets`, fleet-wide and log findings in :mod:`gloomon.domain.health.fleet`,
CronJob findings in :mod:`gloomon.domain.health.cron`, certgen Jobs' in
:mod:`gloomon.domain.health.certgen`, container status in :mod:`gloomon.domain.health.pods`, the
validation webhook's in
:mod:`gloomon.domain.health.webhook`; this module judges the secret and joins them all
in :func:`judge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gloomon.domain.health import certgen as health_certgen
from gloomon.domain.health import cron as health_cron
from gloomon.domain.health import fleet as health_fleet
from gloomon.domain.health import pods as health_pods
from gloomon.domain.health import release as health_release
from gloomon.domain.health import targets as health_targets
from gloomon.domain.health import webhook as health_webhook
from gloomon.domain.health.policy import (
    CRONJOB,
    RENEW_WINDOW_SECONDS,
    Context,
    HealthPolicy,
    Threshold,
    cert_expiry_finding,
    expiry_severity,
    not_yet_valid_finding,
    sort_findings,
)
from gloomon.domain.model import (
    MTLS_HINT,
    MTLS_WORDS,
    Component,
    CronJobState,
    Finding,
    FleetSnapshot,
    GlooRelease,
    LogEvent,
    MtlsState,
    Phase,
    PodInfo,
    SecretStatus,
    Severity,
    TargetStatus,
    WebhookState,
)
from gloomon.domain.text import one_line

__all__ = [
    "CRONJOB",
    "RENEW_WINDOW_SECONDS",
    "Context",
    "HealthPolicy",
    "Threshold",
    "cert_expiry_finding",
    "expiry_severity",
    "judge",
    "mtls_state",
    "sort_findings",
]


def judge(
    *,
    now: datetime,
    namespace: str,
    targets: Sequence[TargetStatus],
    secrets: Sequence[SecretStatus],
    cronjob: CronJobState | None,
    policy: HealthPolicy,
    previous: FleetSnapshot | None = None,
    log_events: Sequence[LogEvent] = (),
    missing_components: Sequence[Component] = (),
    errors: Sequence[str] = (),
    grace: float,
    mtls: MtlsState,
    release: GlooRelease | None = None,
    webhooks: Sequence[WebhookState] = (),
    pods: Sequence[PodInfo] = (),
) -> tuple[Finding, ...]:
    """Every finding of one snapshot, in their final order: most severe first, then by component and
    pod. ``grace`` (:meth:`HealthPolicy.grace_for`) and ``mtls`` (:func:`mtls_state`) are derived once
    per snapshot by ``build_snapshot``."""
    ctx = Context(now, namespace, policy, cronjob, previous, grace)
    found: list[Finding] = []
    for secret in secrets:
        found.extend(_secret_findings(secret, ctx, mtls))
    found.extend(health_cron.cronjob_findings(secrets, targets, ctx))
    found.extend(health_certgen.certgen_findings(pods, ctx))
    found.extend(health_pods.pod_findings(pods, ctx))
    for target in targets:
        found.extend(health_targets.target_findings(target, secrets, ctx))
    found.extend(health_fleet.fleet_findings(targets, ctx))
    found.extend(health_fleet.unreachable_components(targets, ctx))
    found.extend(health_fleet.log_findings(log_events, ctx))
    found.extend(health_release.release_findings(release, ctx))
    found.extend(health_webhook.webhook_findings(webhooks, ctx))
    for component in missing_components:
        found.append(
            Finding(
                Severity.WARNING,
                "component-missing",
                component,
                None,
                f"{component}: deployment has no ready pod"
                + (health_pods.no_ready_pod_words(component, pods) if pods else ""),
                f"kubectl -n {namespace} get deploy,pods -l gloo={component}",
            )
        )
    for error in errors:
        found.append(
            Finding(
                Severity.WARNING,
                "source-error",
                None,
                None,
                one_line(error, 300),
                "check the kubeconfig/context and that the API server is reachable: kubectl get ns",
            )
        )
    return sort_findings(_dedupe(found))


def _dedupe(found: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, str | None, str]] = set()
    out: list[Finding] = []
    for item in found:
        key = (item.code, item.component, item.pod, item.message)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def mtls_state(targets: Sequence[TargetStatus], secrets: Sequence[SecretStatus]) -> MtlsState:
    """Not enabled when the API says the secret is missing and no pod runs an sds sidecar; not observed
    when no secret was read at all (``--target``); else enabled."""
    if any(t.ref.pod_info is not None and "sds" in t.ref.pod_info.containers for t in targets):
        return MtlsState.ENABLED
    if not secrets:
        return MtlsState.NOT_OBSERVED
    if all(secret.state.missing for secret in secrets):
        return MtlsState.NOT_ENABLED
    return MtlsState.ENABLED


def _secret_findings(secret: SecretStatus, ctx: Context, mtls: MtlsState) -> list[Finding]:
    state = secret.state
    ns = state.namespace or ctx.namespace
    where = f"secret {state.name}" + (f" ({state.context})" if state.context else "")
    if state.forbidden:
        return [
            Finding(
                Severity.WARNING,
                "secret-forbidden",
                None,
                None,
                f"{where}: reading it is forbidden (403); "
                + (
                    "phases and lag compare with its content as last read"
                    if state.bundle is not None or state.leaf is not None
                    else "phases and lag cannot be compared with it"
                ),
                f"kubectl auth can-i get secrets -n {ns}; "
                f"grant get on secrets/{state.name} with a Role and RoleBinding",
            )
        ]
    if state.missing and mtls is MtlsState.NOT_ENABLED:
        return [
            Finding(
                Severity.CRITICAL,
                "secret-missing",
                None,
                None,
                f"{MTLS_WORDS[MtlsState.NOT_ENABLED]} (namespace {ns}"
                + (f", context {state.context})" if state.context else ")"),
                MTLS_HINT,
            )
        ]
    if state.missing:
        return [
            Finding(
                Severity.CRITICAL,
                "secret-missing",
                None,
                None,
                f"{where} not found in namespace {ns}: pods with mTLS cannot get certificates",
                f"create it by running certgen "
                f"(global.glooMtls.enabled=true runs the gloo-mtls-certgen Job): "
                f"{ctx.rerun_hint()}",
            )
        ]
    if state.error is not None:
        return [
            Finding(
                Severity.WARNING,
                "secret-unreadable",
                None,
                None,
                f"{where}: {one_line(state.error, 200)}",
                f"inspect it: kubectl -n {ns} get secret {state.name} -o yaml (ca.crt and tls.crt)",
            )
        ]
    out: list[Finding] = []
    if state.leaf is not None:
        item = cert_expiry_finding(state.leaf, f"{where}: leaf", "leaf", None, None, ctx)
        if item is not None:
            out.append(item)
    for index, ca in enumerate(state.bundle.cas if state.bundle else ()):
        item = cert_expiry_finding(ca, f"{where}: CA #{index + 1}", "ca", None, None, ctx)
        if item is not None:
            out.append(item)
    if state.leaf is not None:
        early = not_yet_valid_finding(state.leaf, f"{where}: leaf", None, None, ctx)
        if early is not None:
            out.append(early)
    verdict = secret.verdict
    if verdict.phase is Phase.BROKEN and state.leaf is not None and state.leaf.seconds_left(ctx.now) >= 0:
        out.append(
            Finding(
                Severity.CRITICAL,
                "leaf-untrusted",
                None,
                None,
                f"{where}: {verdict.reason}",
                f"tls.crt is not signed by any CA in ca.crt; {ctx.rerun_hint()}",
            )
        )
    if verdict.phase is Phase.STALLED:
        out.append(
            Finding(
                Severity.WARNING,
                "rotation-stalled",
                None,
                None,
                f"{where}: {verdict.reason}",
                f"a certgen run died mid-rotation; run it again to finish: {ctx.rerun_hint()}; keep "
                f"activeDeadlineSeconds ≥ 2×rotationDuration",
            )
        )
    return out
