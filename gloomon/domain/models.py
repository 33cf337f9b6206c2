"""Immutable models of everything gloomon knows: certificates, Envoy admin data, the secret, findings.

Every model is a frozen dataclass. Parsers (``envoy``, ``x509``, ``logs``) build them from untrusted
bytes; ``fleet.build_snapshot`` joins one poll's worth of them into a :class:`FleetSnapshot`, which the
UI and the report render and never mutate. Private keys never reach any model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# --------------------------------------------------------------------------------------------------
# Vocabulary


class Component(enum.StrEnum):
    """A Gloo deployment whose Envoy takes part in the internal mTLS."""

    GLOO = "gloo"
    GATEWAY_PROXY = "gateway-proxy"
    EXTAUTH = "extauth"
    RATE_LIMIT = "rate-limit"

    @classmethod
    def parse(cls, text: str) -> Component | None:
        try:
            return cls(text)
        except ValueError:
            return None


COMPONENT_ORDER: tuple[Component, ...] = tuple(Component)

#: Default Envoy admin port per component (reference/gloo-mtls.md §1, §2.5).
DEFAULT_ADMIN_PORTS: Mapping[Component, int] = {
    Component.GLOO: 8001,
    Component.GATEWAY_PROXY: 19000,
    Component.EXTAUTH: 8001,
    Component.RATE_LIMIT: 8001,
}

SECRET_NAME = "gloo-mtls-certs"
SERVER_CERT_SECRET = "server_cert"
VALIDATION_CONTEXT_SECRET = "validation_context"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Phase(enum.StrEnum):
    """Where a (bundle, leaf) pair stands in certgen's three-phase rotation (DESIGN.md)."""

    STEADY = "steady"
    CA_ADDED = "ca-added"
    LEAF_ROTATED = "leaf-rotated"
    STALLED = "stalled"
    BROKEN = "broken"
    UNKNOWN = "unknown"


# --------------------------------------------------------------------------------------------------
# Parse results


@dataclass(frozen=True, slots=True)
class ParseError:
    """A parser's typed failure: what was being parsed and why it could not be.

    Parsers return ``T | ParseError`` and never raise past the domain boundary.
    """

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True, slots=True)
class CertInfo:
    """One X.509 certificate, from PEM (complete) or from Envoy's ``/certs`` (partial).

    ``serial`` is lowercase hex spelled as Envoy spells it (BoringSSL ``BN_bn2hex``: whole bytes, no
    colons). Fields ``/certs`` does not give (subject, issuer, fingerprint, key) are None there.
    ``der`` is the public certificate's DER encoding when known, kept for signature checks and copying.
    """

    serial: str
    not_before: datetime
    not_after: datetime
    sans: tuple[str, ...] = ()
    subject: str | None = None
    issuer: str | None = None
    common_name: str | None = None
    sha256: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    is_ca: bool | None = None
    der: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def short_serial(self) -> str:
        return self.serial[:8]

    @property
    def short_fingerprint(self) -> str:
        return (self.sha256 or "")[:8]

    @property
    def lifetime_seconds(self) -> float:
        return (self.not_after - self.not_before).total_seconds()

    def seconds_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds()

    def identity(self) -> str:
        """What tells two certificates apart: the fingerprint, or (serial, not_after) without PEM."""
        return self.sha256 or f"{self.serial}@{self.not_after.isoformat()}"


@dataclass(frozen=True, slots=True)
class TrustBundle:
    """The CAs a target trusts, in bundle order (certgen appends the new CA after the old one).

    ``complete`` is False when the bundle came from ``/certs`` only, where older Envoys list just the
    first CA (envoy#4661).
    """

    cas: tuple[CertInfo, ...] = ()
    complete: bool = True

    def __len__(self) -> int:
        return len(self.cas)

    def identities(self) -> tuple[str, ...]:
        return tuple(ca.identity() for ca in self.cas)


@dataclass(frozen=True, slots=True)
class PhaseVerdict:
    """A phase with the reason in words and the facts it was read from."""

    phase: Phase
    reason: str
    ca_count: int = 0
    signer_index: int | None = None


# --------------------------------------------------------------------------------------------------
# Envoy admin data


@dataclass(frozen=True, slots=True)
class CertsContext:
    """One TLS context of ``/certs``."""

    ca_certs: tuple[CertInfo, ...]
    cert_chain: tuple[CertInfo, ...]


@dataclass(frozen=True, slots=True)
class CertsReport:
    """``/certs``: de-duplicated contexts. No contexts at all means no secret was delivered yet."""

    contexts: tuple[CertsContext, ...]

    @property
    def delivered(self) -> bool:
        return bool(self.contexts)


@dataclass(frozen=True, slots=True)
class SdsSecret:
    """One secret of ``/config_dump`` (``dynamic_active_secrets`` or ``dynamic_warming_secrets``).

    ``certs`` are the public certificates it carries: the chain of a ``tls_certificate`` (the private key
    is dropped) or the CAs of a ``validation_context``.
    """

    name: str
    kind: str  # "tls_certificate" | "validation_context" | "unknown"
    version_info: str | None
    last_updated: datetime | None
    certs: tuple[CertInfo, ...]
    warming: bool = False
    error: str | None = None  # why the certificates could not be read (bad PEM in the secret)


@dataclass(frozen=True, slots=True)
class SecretsDump:
    secrets: tuple[SdsSecret, ...]

    def get(self, name: str, *, warming: bool = False) -> SdsSecret | None:
        for secret in self.secrets:
            if secret.name == name and secret.warming == warming:
                return secret
        return None


@dataclass(frozen=True, slots=True)
class HostStatus:
    address: str
    health_flags: tuple[str, ...]  # () when healthy
    cx_active: int = 0
    cx_connect_fail: int = 0
    cx_total: int = 0
    rq_error: int = 0
    rq_success: int = 0
    rq_total: int = 0
    rq_timeout: int = 0

    @property
    def healthy(self) -> bool:
        return not self.health_flags


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str
    observability_name: str | None
    hosts: tuple[HostStatus, ...]

    @property
    def healthy(self) -> bool:
        return bool(self.hosts) and all(host.healthy for host in self.hosts)

    @property
    def cx_connect_fail(self) -> int:
        return sum(host.cx_connect_fail for host in self.hosts)


@dataclass(frozen=True, slots=True)
class ClustersReport:
    clusters: tuple[ClusterStatus, ...]

    def get(self, name: str) -> ClusterStatus | None:
        for cluster in self.clusters:
            if name in (cluster.name, cluster.observability_name):
                return cluster
        return None


@dataclass(frozen=True, slots=True)
class SdsStats:
    secret: str
    version: str | None = None
    update_success: int = 0
    update_rejected: int = 0
    update_failure: int = 0


@dataclass(frozen=True, slots=True)
class TlsStats:
    """``ssl.*`` counters of one listener or cluster scope.

    Scopes look like ``listener.0.0.0.0_9977`` or ``cluster.xds_cluster``.
    """

    scope: str
    handshake: int = 0
    fail_verify_error: int = 0
    fail_verify_no_cert: int = 0
    connection_error: int = 0

    @property
    def errors(self) -> int:
        return self.fail_verify_error + self.fail_verify_no_cert + self.connection_error


@dataclass(frozen=True, slots=True)
class EnvoyStats:
    """The filtered subset of ``/stats`` gloomon asks for."""

    sds: tuple[SdsStats, ...] = ()
    tls: tuple[TlsStats, ...] = ()
    cert_expiry: Mapping[str, datetime] = field(default_factory=dict)
    control_plane_connected: bool | None = None
    raw: Mapping[str, int | str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tls_errors(self) -> int:
        return sum(scope.errors for scope in self.tls)

    def sds_for(self, secret: str) -> SdsStats | None:
        for item in self.sds:
            if item.secret == secret:
                return item
        return None


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version: str | None  # semver, e.g. "1.40.0"
    full_version: str | None
    state: str  # LIVE | DRAINING | PRE_INITIALIZING | INITIALIZING | unknown
    uptime_seconds: float | None = None


# --------------------------------------------------------------------------------------------------
# Kubernetes-side state


@dataclass(frozen=True, slots=True)
class PodInfo:
    name: str
    namespace: str
    component: Component | None
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    ready: bool
    restarts: int
    started_at: datetime | None = None
    containers: tuple[str, ...] = ()
    deleting: bool = False


class ForwardStatus(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    RECONNECTING = "reconnecting"
    DOWN = "down"
    DIRECT = "direct"  # --target: no forward, the admin URL is polled as given


@dataclass(frozen=True, slots=True)
class ForwardState:
    status: ForwardStatus
    local_address: str | None = None  # "127.0.0.1:40123"
    since: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class TargetRef:
    """One Envoy admin endpoint: a pod's admin port, or a ``--target`` URL."""

    context: str
    namespace: str
    component: Component
    pod: str
    admin_url: str | None
    forward: ForwardState | None = None
    pod_info: PodInfo | None = None

    @property
    def key(self) -> str:
        """Stable row key: ``context/namespace/pod``."""
        return f"{self.context}/{self.namespace}/{self.pod}"


@dataclass(frozen=True, slots=True)
class AdminFetch:
    """What one poll fetched from one target, each response parsed (or the parse's error)."""

    target: TargetRef
    fetched_at: datetime
    duration_seconds: float
    error: str | None = None  # set when the admin endpoint could not be reached at all
    server: ServerInfo | ParseError | None = None
    certs: CertsReport | ParseError | None = None
    secrets: SecretsDump | ParseError | None = None
    clusters: ClustersReport | ParseError | None = None
    stats: EnvoyStats | ParseError | None = None

    @property
    def reachable(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class SecretState:
    """The ``gloo-mtls-certs`` secret of one context. ``tls.key`` was dropped on receipt."""

    context: str
    namespace: str
    name: str = SECRET_NAME
    bundle: TrustBundle | None = None
    leaf: CertInfo | None = None
    resource_version: str | None = None
    read_at: datetime | None = None
    error: str | None = None  # "forbidden (403) …", "not found", "unreadable ca.crt: …"
    forbidden: bool = False
    missing: bool = False


@dataclass(frozen=True, slots=True)
class JobState:
    name: str
    started_at: datetime | None
    completed_at: datetime | None
    active: bool
    succeeded: bool
    failed: bool


@dataclass(frozen=True, slots=True)
class CronJobState:
    """The certgen CronJob (``gloo-mtls-certgen-cronjob``) and its Jobs."""

    name: str
    schedule: str
    suspended: bool
    last_schedule_time: datetime | None = None
    last_successful_time: datetime | None = None
    rotation_duration_seconds: float | None = None  # from --rotation-duration
    force_rotation: bool = True
    jobs: tuple[JobState, ...] = ()
    missing: bool = False  # no CronJob in the namespace (cron.enabled=false)
    error: str | None = None

    @property
    def active_jobs(self) -> tuple[JobState, ...]:
        return tuple(job for job in self.jobs if job.active)


# --------------------------------------------------------------------------------------------------
# Logs


class LogKind(enum.StrEnum):
    PLAIN = "plain"
    SDS_UPDATE = "sds-update"  # Updating SDS config … Snapshot version is N
    SDS_UPDATE_FAILED = "sds-update-failed"
    SDS_START = "sds-start"
    CERTGEN_PHASE = "certgen-phase"  # updating to both ca bundles / new server cert / new ca bundle
    CERTGEN_WAIT = "certgen-wait"  # grace period … N seconds remaining
    CERTGEN_DONE = "certgen-done"
    CERTGEN_CANCELLED = "certgen-cancelled"
    XDS_STREAM_CLOSED = "xds-stream-closed"
    TLS_VERIFY_FAILED = "tls-verify-failed"
    UPSTREAM_CONNECT_ERROR = "upstream-connect-error"
    SECRET_NOT_SUPPLIED = "secret-not-supplied"
    CONFIG_REJECTED = "config-rejected"
    ENVOY_START = "envoy-start"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One parsed log line. ``message`` is remote text: render it literally."""

    ts: datetime | None
    level: str  # debug | info | warning | error | critical
    component: Component | None
    pod: str
    container: str
    message: str
    kind: LogKind = LogKind.PLAIN
    fields: Mapping[str, str] = field(default_factory=dict)
    raw: str = field(default="", repr=False, compare=False)


# --------------------------------------------------------------------------------------------------
# Judgement and the snapshot


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str  # stable, kebab-case: "leaf-expiring", "target-lagging", …
    component: Component | None
    pod: str | None
    message: str
    hint: str


@dataclass(frozen=True, slots=True)
class XdsLink:
    """The target's link to gloo: its xDS cluster (or, for gloo, its xDS listener)."""

    cluster: str
    healthy: bool
    cx_connect_fail: int = 0
    cx_active: int = 0


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One target as judged in one snapshot."""

    ref: TargetRef
    fetch: AdminFetch | None
    leaf: CertInfo | None = None
    bundle: TrustBundle = field(default_factory=TrustBundle)
    leaf_signed_by: int | None = None
    verdict: PhaseVerdict = field(default_factory=lambda: PhaseVerdict(Phase.UNKNOWN, "no data"))
    in_sync_with_secret: bool | None = None
    lag_since: datetime | None = None  # when it was first seen out of sync with the secret
    lag_seconds: float | None = None
    sds_version: str | None = None
    xds: XdsLink | None = None
    tls_errors: int = 0
    envoy_version: str | None = None
    ahead_of_secret: bool = False  # holds something newer than the secret (the secret was rolled back)
    multi_ca_since: datetime | None = None  # first seen with 2+ CAs in its bundle (for "stalled")
    envoy_started_at: datetime | None = None  # from /server_info uptime, carried between polls
    certs_since: datetime | None = None  # when its current certificates arrived (SDS last_updated)
    sync_reason: str | None = None  # in words, why it is (not) in sync with the secret

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def reachable(self) -> bool:
        return self.fetch is not None and self.fetch.reachable


@dataclass(frozen=True, slots=True)
class SecretStatus:
    """The secret as judged: its state, its phase, and since when it holds its current content."""

    state: SecretState
    verdict: PhaseVerdict
    leaf_signed_by: int | None = None
    content_since: datetime | None = None
    multi_ca_since: datetime | None = None  # first seen with 2+ CAs (for "stalled")


@dataclass(frozen=True, slots=True)
class PollTimings:
    cycle_seconds: float = 0.0
    slowest_target_seconds: float = 0.0
    per_target: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FleetSnapshot:
    """Everything known at one instant. The UI renders it; nobody mutates it."""

    taken_at: datetime
    namespace: str
    contexts: tuple[str, ...]
    secrets: tuple[SecretStatus, ...] = ()
    cronjob: CronJobState | None = None
    targets: tuple[TargetStatus, ...] = ()
    findings: tuple[Finding, ...] = ()
    timings: PollTimings = field(default_factory=PollTimings)
    missing_components: tuple[Component, ...] = ()  # deployments with no ready pod, or no pods at all
    errors: tuple[str, ...] = ()  # source-level trouble: "API unreachable: …"
    generation: int = 0

    @property
    def secret(self) -> SecretStatus | None:
        """The first context's secret (the control plane's)."""
        return self.secrets[0] if self.secrets else None

    def worst_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((finding.severity for finding in self.findings), key=lambda sev: sev.rank)
