"""The alert catalogue: what gloomon pages on, read from the metrics ``gloomon serve`` exports.

Each :class:`Alert` has one or two bands (warning, critical) with their own expression and ``for:``;
both bands share the alert's name (as kube-prometheus does), so an Alertmanager inhibit rule on
``alertname`` silences the warning while the critical fires. Expressions are :class:`string.Template`
text: ``$name`` is a threshold (:data:`THRESHOLDS`, overridable), ``$job`` the exporter's job regex.
Judgement the domain already makes (a bundle mismatch beyond the grace, SDS that never delivered) is
read from ``gloomon_findings`` rather than recomputed; what Prometheus can judge from raw series
(expiry against the lifetime, lag, links, the exporter's own health) is computed here, so its
thresholds and ``for:`` windows are the operator's to tune. ``anchor`` is the runbook's heading in
docs/findings.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gloomon.domain.health.policy import RENEW_WINDOW_SECONDS, HealthPolicy
from gloomon.domain.health.policy import Threshold as Limit
from gloomon.domain.parse.durations import DAY


@dataclass(frozen=True, slots=True)
class Threshold:
    default: float
    meaning: str


#: the dashboard's and check's default policy: the expiry and lag defaults below are its numbers
_POLICY = HealthPolicy()


def _days(limits: Sequence[Limit]) -> float:
    return min(limit.seconds for limit in limits if limit.seconds is not None) / DAY


def _percent(limits: Sequence[Limit]) -> float:
    return round(min(limit.fraction for limit in limits if limit.fraction is not None) * 100, 6)


#: every tunable number in the expressions, with its default (the dashboard's policy where it has one)
THRESHOLDS: dict[str, Threshold] = {
    "expiry_warning_days": Threshold(_days(_POLICY.warn), "warning when less than this many days are left …"),
    "expiry_warning_percent": Threshold(
        _percent(_POLICY.warn), "… or less than this % of the lifetime, whichever is less"
    ),
    "expiry_critical_days": Threshold(
        _days(_POLICY.critical), "critical when less than this many days are left …"
    ),
    "expiry_critical_percent": Threshold(
        _percent(_POLICY.critical), "… or less than this % of the lifetime, whichever is less"
    ),
    "lag_grace_seconds": Threshold(
        _POLICY.lag_grace(None), "a pod may lag the secret this long (2 × rotationDuration 65 s)"
    ),
    "lag_critical_seconds": Threshold(1800, "a pod lagging this long is critical"),
    "renew_window_days": Threshold(
        RENEW_WINDOW_SECONDS / DAY, "certgen's --renew-before: a leaf inside it should be renewed"
    ),
    "certgen_success_max_age_days": Threshold(
        92,
        "no certgen success for this long: runs fail (a healthy schedule runs every 90 days or more often)",
    ),
}


@dataclass(frozen=True, slots=True)
class Band:
    severity: str
    expr: str
    for_: str


@dataclass(frozen=True, slots=True)
class Alert:
    name: str
    group: str
    anchor: str
    summary: str
    description: str
    bands: tuple[Band, ...]


def _expiring(selector: str, band: str, *, expired: bool = False) -> str:
    """Time left on each certificate under min(N days, P % of its lifetime), one series per cert;
    ``expired``: an expired one too (else it is left to the ``*Expired`` alerts)."""
    after = f"gloomon_cert_not_after_timestamp_seconds{{{selector}}}"
    before = f"gloomon_cert_not_before_timestamp_seconds{{{selector}}}"
    floor = "" if expired else " > 0"
    return (
        f"min by (cluster, namespace, role, serial) (\n"
        f"  (({after} - time())\n"
        f"    < clamp_max(${{expiry_{band}_percent}} / 100 * ({after} - {before}),"
        f" ${{expiry_{band}_days}} * 86400)){floor}\n"
        f")"
    )


def _expired(role: str) -> str:
    return (
        f"min by (cluster, namespace, role, serial) (\n"
        f'  gloomon_cert_not_after_timestamp_seconds{{role="{role}", source!="webhook"}} - time()\n'
        f") <= 0"
    )


def _findings(codes: str, severities: str, by: str = "cluster, code, component") -> str:
    return f'max by ({by}) (gloomon_findings{{code=~"{codes}", severity=~"{severities}"}}) > 0'


#: a copy's findings: one alert per copy (the ``namespace`` it is in: two proxy namespaces, two copies)
_BY_COPY = "cluster, namespace, code, component"

_CERTGEN_FAILING = (
    _findings("rotation-cancelled|cronjob-bad-schedule|certgen-.*", "warning|critical")
    + "\nor time() - gloomon_certgen_last_success_timestamp_seconds > ${certgen_success_max_age_days} * 86400"
)
_IN_RENEW_WINDOW = (
    'min(gloomon_cert_not_after_timestamp_seconds{source="secret", role="leaf"}) - time()'
    " < ${renew_window_days} * 86400"
)

#: every code that says SDS does not (or will not) deliver to a pod
_SDS_CODES = (
    "sds-not-delivered|sds-initial-fetch-timeout|sds-stream-down|sds-update-rejected|sds-update-failed"
)
#: a pod's containers (sds, envoy-sidecar, the main one) not running: from the pod list's status
_POD_CODES = (
    "container-crashloop|container-waiting|container-not-ready|container-restarted|pod-pending|"
    "pod-mount-failed|sds-crashloop-everywhere"
)
_LEAF = 'role="leaf", source!="webhook"'
_CA = 'role="ca", source!="webhook"'
_WEBHOOK = 'source="webhook"'

ALERTS: tuple[Alert, ...] = (
    Alert(
        "LeafExpiring",
        "certificates",
        "leaf-expiring",
        "mTLS leaf {{ $labels.serial }} in {{ $labels.cluster }} expires in {{ $value | humanizeDuration }}",
        "The server certificate of gloo-mtls-certs (serial {{ $labels.serial }}), held by the secret or an "
        "Envoy in {{ $labels.namespace }}, has less time left than the threshold relative to its lifetime. "
        "certgen renews it when run; see the runbook for running it now.",
        (
            Band("warning", _expiring(_LEAF, "warning"), "1h"),
            Band("critical", _expiring(_LEAF, "critical"), "15m"),
        ),
    ),
    Alert(
        "CAExpiring",
        "certificates",
        "ca-expiring",
        "mTLS CA {{ $labels.serial }} in {{ $labels.cluster }} expires in {{ $value | humanizeDuration }}",
        "A CA of the gloo-mtls-certs trust bundle (serial {{ $labels.serial }}), in the secret or an "
        "Envoy's bundle in {{ $labels.namespace }}, has less time left than the threshold relative to its "
        "lifetime. A certgen run adds a new CA and drops this one.",
        (
            Band("warning", _expiring(_CA, "warning"), "1h"),
            Band("critical", _expiring(_CA, "critical"), "15m"),
        ),
    ),
    Alert(
        "LeafExpired",
        "certificates",
        "leaf-expired",
        "mTLS leaf {{ $labels.serial }} in {{ $labels.cluster }} has expired",
        "The server certificate {{ $labels.serial }} in {{ $labels.namespace }} is past its notAfter: "
        "every mTLS handshake that presents it fails, and xDS to gloo breaks.",
        (Band("critical", _expired("leaf"), "0m"),),
    ),
    Alert(
        "CAExpired",
        "certificates",
        "ca-expired",
        "mTLS CA {{ $labels.serial }} in {{ $labels.cluster }} has expired",
        "The CA {{ $labels.serial }} in {{ $labels.namespace }} is past its notAfter: leaves it signed are "
        "no longer trusted.",
        (Band("critical", _expired("ca"), "0m"),),
    ),
    Alert(
        "WebhookCertificateExpiring",
        "certificates",
        "validation-webhook",
        "gloo's validation webhook certificate {{ $labels.serial }} expires in "
        "{{ $value | humanizeDuration }}",
        "The certificate gloo's validation webhook serves (gateway-validation-certs) has less time left "
        "than the threshold relative to its lifetime (a negative time: it has expired). When it expires "
        "every kubectl apply of Gloo resources fails with 'x509: certificate has expired'.",
        (
            Band("warning", _expiring(_WEBHOOK, "warning"), "1h"),
            Band("critical", _expiring(_WEBHOOK, "critical", expired=True), "15m"),
        ),
    ),
    Alert(
        "WebhookBroken",
        "certificates",
        "validation-webhook",
        "gloo's validation webhook: {{ $labels.code }}",
        "gloomon finds the validation webhook's certificate or caBundle broken ({{ $labels.code }}): the "
        "API server cannot verify gloo's webhook, so applies fail (failurePolicy Fail) or validation is "
        "silently off (Ignore).",
        (
            Band("warning", _findings("webhook-.*|cabundle-.*", "warning|critical"), "10m"),
            Band("critical", _findings("webhook-.*|cabundle-.*", "critical"), "5m"),
        ),
    ),
    Alert(
        "RotationStalled",
        "rotation",
        "rotation-stalled",
        "certgen rotation stalled in {{ $labels.cluster }}",
        "The trust bundle holds two CAs for longer than 2 × rotationDuration, or three or more: a certgen "
        "run died mid-rotation. The next run will append yet another CA.",
        (
            Band("warning", 'max by (cluster) (gloomon_rotation_phase{phase="stalled"}) == 1', "5m"),
            Band("critical", 'max by (cluster) (gloomon_rotation_phase{phase="stalled"}) == 1', "1h"),
        ),
    ),
    Alert(
        "RotationBroken",
        "rotation",
        "leaf-untrusted",
        "gloo-mtls-certs in {{ $labels.cluster }}: the leaf is not signed by any CA of the bundle",
        "The secret's tls.crt is not signed by any CA in its ca.crt: Envoys that load it reject each "
        "other's certificates and xDS breaks.",
        (
            Band(
                "critical",
                'max by (cluster) (gloomon_rotation_phase{scope="secret", phase="broken"}) == 1',
                "2m",
            ),
        ),
    ),
    Alert(
        "TargetLagging",
        "rotation",
        "target-lagging",
        "{{ $labels.pod }} has not picked up gloo-mtls-certs for {{ $value | humanizeDuration }}",
        "The Envoy in {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.component }}) holds other "
        "certificates than its secret for longer than the grace: its SDS sidecar did not deliver the "
        "rotation. After the old CA is removed it can no longer talk to its peers.",
        (
            Band("warning", "gloomon_target_lag_seconds > ${lag_grace_seconds}", "1m"),
            Band("critical", "gloomon_target_lag_seconds > ${lag_critical_seconds}", "5m"),
        ),
    ),
    Alert(
        "BundleMismatch",
        "rotation",
        "bundle-mismatch",
        "Envoys hold different CA bundles beyond the grace",
        "The Envoys trust different CA bundles, and not because a rotation is "
        "still propagating: some pod missed a rotation.",
        (
            Band("warning", _findings("bundle-mismatch", "warning|critical"), "10m"),
            Band("critical", _findings("bundle-mismatch", "warning|critical"), "1h"),
        ),
    ),
    Alert(
        "SecretCopyBehind",
        "rotation",
        "secret-copy-stale",
        "{{ $labels.cluster }}: the copy of gloo-mtls-certs in {{ $labels.namespace }} is missing or "
        "behind its source ({{ $labels.code }})",
        "A copy of the secret certgen writes (a data-plane cluster's in split planes, or a proxy "
        "namespace's: a kube-gateway in its Gateway's namespace) is missing or differs from its source "
        "past the grace: the pods mounting it hold old certificates and lose gloo once the old CA is "
        "dropped (critical: it is missing or shares no CA with the source).",
        (
            Band("warning", _findings("secret-copy-.*", "warning|critical", _BY_COPY), "5m"),
            Band("critical", _findings("secret-copy-.*", "critical", _BY_COPY), "2m"),
        ),
    ),
    Alert(
        "PeerUntrusted",
        "links",
        "peer-untrusted",
        "{{ $labels.component }} and gloo do not trust each other's certificates",
        "A client's bundle lacks the CA of gloo's leaf, or gloo's bundle lacks the client's: their xDS "
        "handshakes fail.",
        (Band("critical", _findings("peer-untrusted", "warning|critical"), "2m"),),
    ),
    Alert(
        "XdsDisconnected",
        "links",
        "xds-disconnected",
        "{{ $labels.component }} {{ $labels.pod }}: the xDS link to gloo is down",
        "The Envoy's link to gloo ({{ $labels.cluster }}, {{ $labels.component }}) is down: its ADS stream "
        "is closed or its connects to gloo fail. It keeps serving its last configuration but gets no "
        "updates, and would come up empty after a restart. Critical when no pod of its proxy "
        "({{ $labels.proxy }}) is connected (of its component, for pods that name no proxy).",
        (
            Band("warning", "gloomon_xds_connected == 0", "5m"),
            Band(
                "critical", "max by (cluster, namespace, component, proxy) (gloomon_xds_connected) == 0", "2m"
            ),
        ),
    ),
    Alert(
        "SdsNotDelivering",
        "links",
        "sds-not-delivered",
        "{{ $labels.component }}: SDS does not deliver certificates ({{ $labels.code }})",
        "An Envoy of {{ $labels.component }} holds no certificate from its sds sidecar, rejects or "
        "fails its updates, or lost its SDS stream ({{ $labels.code }}): mTLS to and from that pod "
        "fails, or will at the next rotation.",
        (
            Band(
                "warning",
                _findings(_SDS_CODES, "warning|critical"),
                "5m",
            ),
            Band(
                "critical",
                _findings(_SDS_CODES, "critical"),
                "2m",
            ),
        ),
    ),
    Alert(
        "PodsUnhealthy",
        "links",
        "container-crashloop",
        "{{ $labels.component }}: a pod's containers are not running ({{ $labels.code }})",
        "A pod of {{ $labels.component }} has a container in CrashLoopBackOff, not Ready, restarting or "
        "never started (ContainerCreating, e.g. a FailedMount of a missing gloo-mtls-certs) "
        "({{ $labels.code }}): an sds down misses rotations, an envoy-sidecar down drops the mTLS link. "
        "Critical when the pod cannot mount the secret or every pod's sds crash-loops.",
        (
            Band("warning", _findings(_POD_CODES, "warning|critical"), "10m"),
            Band("critical", _findings("pod-mount-failed|sds-crashloop-everywhere", "critical"), "5m"),
        ),
    ),
    Alert(
        "CertgenFailing",
        "certgen",
        "certgen-failing",
        "certgen is not rotating gloo-mtls-certs",
        "A certgen run was cancelled, its CronJob cannot run (schedule unreadable), or no certgen Job "
        "succeeded for longer than a healthy schedule allows. "
        "Critical once the secret's leaf is inside certgen's renew window: nothing will renew it.",
        (
            Band("warning", _CERTGEN_FAILING, "30m"),
            Band("critical", f"(\n{_CERTGEN_FAILING}\n) and on() ({_IN_RENEW_WINDOW})", "30m"),
        ),
    ),
    Alert(
        "RenewalDisabled",
        "certgen",
        "renewal-disabled",
        "gloo-mtls-certs will not be renewed: the certgen CronJob is suspended or missing",
        "The leaf expires inside certgen's 90-day renew window and no CronJob will run certgen.",
        (Band("warning", _findings("renewal-disabled", "warning|critical"), "1h"),),
    ),
    Alert(
        "ExporterDown",
        "exporter",
        "exporter-down",
        "gloomon is not scraped: Gloo's mTLS is not monitored",
        "No scrape of gloomon's job succeeds: gloomon is down, or Prometheus cannot reach it. None of the "
        "other gloomon alerts can fire.",
        (
            Band("warning", 'absent(up{job=~"${job}"} == 1)', "5m"),
            Band("critical", 'absent(up{job=~"${job}"} == 1)', "30m"),
        ),
    ),
    Alert(
        "SourceDown",
        "exporter",
        "source-error",
        "gloomon cannot read {{ $labels.source }} in {{ $labels.cluster }}",
        "gloomon's last poll could not read {{ $labels.source }} of {{ $labels.cluster }} (the Kubernetes "
        "API or the gloo-mtls-certs secret): what it exports for that cluster is stale or missing.",
        (
            Band("warning", "gloomon_source_up == 0", "5m"),
            Band("critical", "gloomon_source_up == 0", "30m"),
        ),
    ),
)
