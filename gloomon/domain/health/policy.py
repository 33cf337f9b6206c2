"""The health policy (expiry thresholds, lag grace, settle time) and what every check shares: the
:class:`Context` of one judgement, the "young Envoy" and "rising counter" rules, and expiry findings.

The check modules (:mod:`~gloomon.domain.health.targets`, :mod:`~gloomon.domain.health.fleet`,
:mod:`~gloomon.domain.health.cron`) import from here and never from each other or from
:mod:`~gloomon.domain.health.judge`, which joins them (an import-linter contract), so there is no cycle.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from gloomon.domain.compare.rotation import DEFAULT_ROTATION_DURATION, not_yet_valid
from gloomon.domain.model import (
    COMPONENT_ORDER,
    CertInfo,
    Component,
    CronJobState,
    Finding,
    FleetSnapshot,
    ForwardStatus,
    ParseError,
    Severity,
    Subjects,
    TargetStatus,
)
from gloomon.domain.parse.durations import DAY, human_duration, human_time_left, parse_duration

#: certgen's ``--renew-before`` default: inside this window a run renews the cert (gloo-mtls.md §4.2).
RENEW_WINDOW_SECONDS = 90 * DAY
CRONJOB = "gloo-mtls-certgen-cronjob"
#: A counter that rose keeps its finding this long, so findings do not appear and clear on alternate polls.
RISE_WINDOW_SECONDS = 60.0
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

    def grace_for(self, cronjob: CronJobState | None) -> float:
        """How long a target may lag the secret (and a rotation's 2 CAs outlast 2×rotationDuration)
        under this CronJob: derived once per snapshot, by ``build_snapshot``, and handed to the judge."""
        return self.lag_grace(rotation_duration(cronjob))


def rotation_duration(cronjob: CronJobState | None) -> float:
    """certgen's rotationDuration (the wait between two phases): the CronJob's ``--rotation-duration``,
    else the Helm default."""
    if cronjob is not None and cronjob.rotation_duration_seconds:
        return cronjob.rotation_duration_seconds
    return DEFAULT_ROTATION_DURATION


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
    #: the lag grace of this snapshot (:meth:`HealthPolicy.grace_for`)
    grace: float

    @property
    def rotation_duration(self) -> float:
        return rotation_duration(self.cronjob)

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
        return Finding(
            Severity.CRITICAL,
            f"{code}-expired",
            component,
            pod,
            f"{what} expired {human_duration(-left)} ago (serial {cert.short_serial})",
            hint,
            Subjects(certs=(cert,)),
        )
    warn, critical = ctx.policy.limits(cert)
    limit = critical if severity is Severity.CRITICAL else warn
    return Finding(
        severity,
        f"{code}-expiring",
        component,
        pod,
        f"{what} expires in {human_time_left(left)} "
        f"(under {human_duration(limit)}; serial {cert.short_serial})",
        f"rotate before it expires: {ctx.rerun_hint()}",
        Subjects(certs=(cert,)),
    )


def pod_selector(component: Component) -> str:
    """The label selector of a component's pods in a hint (a kube-gateway pod has no ``gloo`` label;
    dataplanePerProxy pods are ``gloo=<component>-<proxy>``, found by their Deployment's label too)."""
    if component is Component.KUBE_GATEWAY:
        return "gateway.networking.k8s.io/gateway-name"
    return f"gloo={component}"


def envoy_young(target: TargetStatus, ctx: Context) -> bool | None:
    """Whether the Envoy started within the settle window; None when its start time is unknown."""
    if target.envoy_started_at is None:
        return None
    return (ctx.now - target.envoy_started_at).total_seconds() < ctx.policy.settle_seconds


def coming_or_going(target: TargetStatus, ctx: Context) -> bool:
    """A pod not ready, being deleted, or started within the settle window (its Envoy may not listen
    yet), or whose port-forward is (re)connecting since less than that window (a cut forward heals)."""
    pod = target.ref.pod_info
    if envoy_young(target, ctx):
        return True
    forward = target.ref.forward
    if (
        forward is not None
        and forward.status in (ForwardStatus.CONNECTING, ForwardStatus.RECONNECTING)
        and forward.since is not None
        and (ctx.now - forward.since).total_seconds() < ctx.policy.settle_seconds
    ):
        return True
    if pod is None:
        return False
    started = pod.started_at
    young = started is not None and (ctx.now - started).total_seconds() < ctx.policy.settle_seconds
    return not pod.ready or pod.deleting or young


def settling(target: TargetStatus, ctx: Context) -> bool:
    """True in the Envoy's first minute, before certificates arrived, or just after new ones did."""
    if target.leaf is None or envoy_young(target, ctx):
        return True
    since = target.certs_since
    return since is not None and (ctx.now - since).total_seconds() < ctx.policy.settle_seconds


def rose_recently(last_rise: datetime | None, now: datetime) -> bool:
    """A counter that rose within :data:`RISE_WINDOW_SECONDS` still counts as rising."""
    return last_rise is not None and (now - last_rise).total_seconds() <= RISE_WINDOW_SECONDS


def not_yet_valid_finding(
    cert: CertInfo, what: str, component: Component | None, pod: str | None, ctx: Context
) -> Finding | None:
    """``leaf-not-yet-valid`` beyond the allowed clock skew: peers with a correct clock reject the leaf,
    or this machine's clock is behind."""
    if not not_yet_valid(cert, ctx.now):
        return None
    return Finding(
        Severity.WARNING,
        "leaf-not-yet-valid",
        component,
        pod,
        f"{what} is not valid until {cert.not_before:%Y-%m-%d %H:%M:%S} UTC "
        f"({human_duration((cert.not_before - ctx.now).total_seconds())} from now; serial "
        f"{cert.short_serial}): clock skew between this machine, certgen and the pods?",
        f"compare this machine's clock (date -u) with the cluster's (kubectl -n {ctx.namespace} run clock "
        "--rm -i --restart=Never --image=busybox -- date -u); fix NTP where it is wrong, then rerun certgen "
        "if the certificates were minted by a clock running ahead",
        Subjects(certs=(cert,)),
    )


class TargetHints(Protocol):
    """The hint maker of :mod:`gloomon.domain.health.targets` (kubectl for a pod, the URL for a target),
    as the finding modules beside it (links, sds) use it."""

    @property
    def ns(self) -> str: ...

    @property
    def pod(self) -> str: ...

    @property
    def url(self) -> str | None: ...

    @property
    def envoy(self) -> str:
        """The container running the target's Envoy (``public-gw``, ``gloo-gateway``…)."""
        ...

    def logs(self, container: str, then: str) -> str: ...

    def restart(self) -> str: ...

    def curl(self, endpoint: str) -> str: ...
