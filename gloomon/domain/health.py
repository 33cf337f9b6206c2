"""All judgement: thresholds, and the findings (severity, stable code, pod, message, hint) of a snapshot.

Codes are stable kebab-case strings the report, the JSON schema and tests rely on. Hints are concrete:
a kubectl command or the Helm value to change. Per-target link findings live in
:mod:`gloomon.domain.health_targets`; this module holds the policy and the certificate, secret and
CronJob judgement, and :func:`judge` which joins them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gloomon.domain.durations import DAY, human_duration, human_time_left, parse_duration
from gloomon.domain.models import (
    COMPONENT_ORDER,
    CertInfo,
    Component,
    CronJobState,
    Finding,
    FleetSnapshot,
    LogEvent,
    ParseError,
    Phase,
    SecretStatus,
    Severity,
    TargetStatus,
)
from gloomon.domain.rotation import DEFAULT_ROTATION_DURATION

#: certgen's ``--renew-before`` default: inside this window a run renews the cert (gloo-mtls.md §4.2).
RENEW_WINDOW_SECONDS = 90 * DAY
CRONJOB = "gloo-mtls-certgen-cronjob"
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


@dataclass(frozen=True, slots=True)
class Threshold:
    """A time-left limit: an absolute duration, or a fraction of the certificate's lifetime."""

    seconds: float | None = None
    fraction: float | None = None

    @classmethod
    def parse(cls, text: str) -> Threshold | ParseError:
        """``"36h"``, ``"14d"`` (a duration) or ``"10%"`` (of the lifetime)."""
        if not isinstance(text, str):
            return ParseError("threshold", "expected text")
        percent = _PERCENT.match(text)
        if percent is not None:
            value = float(percent.group(1))
            if not 0 < value <= 100:
                return ParseError("threshold", f"percentage out of range: {text.strip()[:20]!r}")
            return cls(fraction=value / 100)
        seconds = parse_duration(text)
        if isinstance(seconds, ParseError):
            return ParseError("threshold", f"{seconds.message}; or a percentage like 10%")
        return cls(seconds=seconds)

    def limit_seconds(self, lifetime_seconds: float) -> float:
        if self.fraction is not None:
            return max(lifetime_seconds, 0.0) * self.fraction
        return self.seconds or 0.0

    def __str__(self) -> str:
        if self.fraction is not None:
            return f"{self.fraction * 100:g}%"
        return human_duration(self.seconds or 0.0)


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """When expiry warns or is critical (the smallest limit of each tuple applies) and lag grace."""

    warn: tuple[Threshold, ...] = field(
        default_factory=lambda: (Threshold(seconds=30 * DAY), Threshold(fraction=0.2))
    )
    critical: tuple[Threshold, ...] = field(
        default_factory=lambda: (Threshold(seconds=7 * DAY), Threshold(fraction=0.05))
    )
    #: None: 2 × rotationDuration (130 s when rotationDuration is unknown).
    lag_grace_seconds: float | None = None
    #: An Envoy's first minute, or the minute after new certificates arrived: errors are expected.
    settle_seconds: float = 60.0

    def limits(self, cert: CertInfo) -> tuple[float, float]:
        """(warn, critical) limits in seconds of time left for this certificate."""
        lifetime = cert.lifetime_seconds
        warn = min((t.limit_seconds(lifetime) for t in self.warn), default=0.0)
        critical = min((t.limit_seconds(lifetime) for t in self.critical), default=0.0)
        return warn, critical

    def lag_grace(self, rotation_duration_seconds: float | None) -> float:
        if self.lag_grace_seconds is not None:
            return self.lag_grace_seconds
        return 2 * (rotation_duration_seconds or DEFAULT_ROTATION_DURATION)


def expiry_severity(cert: CertInfo, now: datetime, policy: HealthPolicy) -> Severity | None:
    """None while the certificate has more time left than the warn limit."""
    left = cert.seconds_left(now)
    warn, critical = policy.limits(cert)
    if left < 0 or left < critical:
        return Severity.CRITICAL
    if left < warn:
        return Severity.WARNING
    return None


@dataclass(frozen=True, slots=True)
class Context:
    """What every check needs besides its own subject."""

    now: datetime
    namespace: str
    policy: HealthPolicy
    cronjob: CronJobState | None
    previous: FleetSnapshot | None

    @property
    def rotation_duration(self) -> float:
        if self.cronjob is not None and self.cronjob.rotation_duration_seconds:
            return self.cronjob.rotation_duration_seconds
        return DEFAULT_ROTATION_DURATION

    @property
    def grace(self) -> float:
        return self.policy.lag_grace(self.rotation_duration)

    @property
    def cronjob_present(self) -> bool:
        return self.cronjob is not None and not self.cronjob.missing and self.cronjob.error is None

    def rerun_hint(self) -> str:
        ns = self.namespace
        if self.cronjob_present:
            return (
                f"run certgen now: kubectl -n {ns} create job --from=cronjob/{CRONJOB} "
                "gloo-mtls-certgen-manual"
            )
        return (
            "run certgen: helm upgrade with --set gateway.certGenJob.runOnUpdate=true (or "
            "gateway.certGenJob.cron.enabled=true for scheduled rotation)"
        )


def finding(
    severity: Severity, code: str, component: Component | None, pod: str | None, message: str, hint: str
) -> Finding:
    return Finding(severity, code, component, pod, message, hint)


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
) -> tuple[Finding, ...]:
    """Every finding of one snapshot, most severe first, then by component and pod."""
    from gloomon.domain import health_cron, health_targets

    ctx = Context(now, namespace, policy, cronjob, previous)
    found: list[Finding] = []
    for secret in secrets:
        found.extend(_secret_findings(secret, ctx))
    found.extend(health_cron.cronjob_findings(secrets, targets, ctx))
    for target in targets:
        found.extend(health_targets.target_findings(target, secrets, ctx))
    found.extend(health_targets.fleet_findings(targets, ctx))
    found.extend(health_targets.log_findings(log_events, ctx))
    for component in missing_components:
        found.append(
            finding(
                Severity.WARNING,
                "component-missing",
                component,
                None,
                f"{component}: deployment has no ready pod",
                f"kubectl -n {namespace} get deploy,pods -l gloo={component}",
            )
        )
    for error in errors:
        found.append(
            finding(
                Severity.WARNING,
                "source-error",
                None,
                None,
                error[:300],
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


def sort_findings(found: Sequence[Finding]) -> tuple[Finding, ...]:
    order = {component: index for index, component in enumerate(COMPONENT_ORDER)}
    return tuple(
        sorted(
            found,
            key=lambda f: (
                -f.severity.rank,
                -1 if f.component is None else order[f.component],
                f.pod or "",
                f.code,
            ),
        )
    )


def cert_expiry_finding(
    cert: CertInfo, what: str, code: str, component: Component | None, pod: str | None, ctx: Context
) -> Finding | None:
    """``<code>-expiring`` / ``<code>-expired`` for one certificate, or None while it has time left."""
    severity = expiry_severity(cert, ctx.now, ctx.policy)
    if severity is None:
        return None
    left = cert.seconds_left(ctx.now)
    if left < 0:
        hint = (
            f"certgen replaces an expired secret in one step: {ctx.rerun_hint()}; then restart pods that "
            f"keep the old cert: kubectl -n {ctx.namespace} rollout restart deploy/gloo deploy/gateway-proxy"
        )
        return finding(
            Severity.CRITICAL,
            f"{code}-expired",
            component,
            pod,
            f"{what} expired {human_duration(-left)} ago (serial {cert.short_serial})",
            hint,
        )
    warn, critical = ctx.policy.limits(cert)
    limit = critical if severity is Severity.CRITICAL else warn
    return finding(
        severity,
        f"{code}-expiring",
        component,
        pod,
        f"{what} expires in {human_time_left(left)} "
        f"(under {human_duration(limit)}; serial {cert.short_serial})",
        f"rotate before it expires: {ctx.rerun_hint()}",
    )


def _secret_findings(secret: SecretStatus, ctx: Context) -> list[Finding]:
    state = secret.state
    ns = state.namespace or ctx.namespace
    where = f"secret {state.name}" + (f" ({state.context})" if state.context else "")
    if state.forbidden:
        return [
            finding(
                Severity.WARNING,
                "secret-forbidden",
                None,
                None,
                f"{where}: reading it is forbidden (403); phases and lag cannot be compared with it",
                f"kubectl auth can-i get secrets -n {ns}; "
                f"grant get on secrets/{state.name} with a Role and RoleBinding",
            )
        ]
    if state.missing:
        return [
            finding(
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
            finding(
                Severity.WARNING,
                "secret-unreadable",
                None,
                None,
                f"{where}: {state.error[:200]}",
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
    verdict = secret.verdict
    if verdict.phase is Phase.BROKEN and state.leaf is not None and state.leaf.seconds_left(ctx.now) >= 0:
        out.append(
            finding(
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
            finding(
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
