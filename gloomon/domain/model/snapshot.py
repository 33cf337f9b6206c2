"""Judgement and the snapshot: findings, each target and the secret as judged, and the fleet snapshot."""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gloomon.domain.model.certs import CertInfo, PhaseVerdict, TrustBundle
from gloomon.domain.model.cluster import (
    AdminFetch,
    ContextState,
    CronJobState,
    Plane,
    SecretState,
    TargetRef,
)
from gloomon.domain.model.release import GlooRelease
from gloomon.domain.model.vocabulary import Component, Phase, Severity
from gloomon.domain.model.webhook import WebhookState

# --------------------------------------------------------------------------------------------------
# Judgement and the snapshot


@dataclass(frozen=True, slots=True)
class Subjects:
    """What a finding is about besides its own ``pod``: the pods and the certificates its message names.

    Renderers match on these (a pod's detail pane lists the fleet's findings about it), never on the
    message's words.
    """

    pods: tuple[str, ...] = ()
    certs: tuple[CertInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    severity: Severity
    code: str  # stable, kebab-case: "leaf-expiring", "target-lagging", …
    component: Component | None
    pod: str | None
    message: str
    hint: str
    subjects: Subjects = Subjects()
    #: the Kubernetes context (cluster) it is about; None when it is about no one context (``--target``,
    #: a comparison across contexts is named by the context of its subject)
    context: str | None = None
    #: the namespace of the copy of the secret it is about (a proxy's namespace holds its own copy);
    #: None when it is about no copy
    namespace: str | None = None


class LinkState(enum.StrEnum):
    """The link to gloo as its signals show it (reference/real-clusters.md §1; no health checks exist in
    production, so ``/clusters`` health flags are one more signal where they exist, never the only one)."""

    CONNECTED = "connected"  # the ADS stream is open, or a connection to gloo (gloo: from a client) is
    #: the ADS stream is closed (gateway-proxy, kube-gateway); gloo: its sidecar cannot reach its process
    DISCONNECTED = "disconnected"
    FAILING = "failing"  # connects to gloo failed in the last minute (or its health checks fail)
    #: no open connection and no failed one in the last minute: no evidence either way (extauth and
    #: rate-limit sidecars move only when their process reconnects; gloo: no client connected)
    IDLE = "idle"


@dataclass(frozen=True, slots=True)
class XdsLink:
    """The target's link to gloo: its xDS cluster (or, for gloo, the hop from its sidecar to its process).

    ``healthy`` is "no trouble seen" (connected or idle), as the JSON's ``healthy`` has always said;
    ``state`` says which.
    """

    cluster: str
    healthy: bool
    cx_connect_fail: int = 0
    cx_active: int = 0
    state: LinkState = LinkState.IDLE
    #: ``control_plane.connected_state`` of an ADS client; None where Envoy has none (sidecars, gloo)
    connected: bool | None = None
    cx_total: int = 0
    #: ``/clusters`` health flags fail (only where health checks are configured: not in production)
    health_checks_fail: bool = False
    #: its health checks pass (``cluster.xds_cluster.health_check.success``), where any are configured
    health_checks_pass: bool = False
    #: the latest ``gRPC config stream … closed`` warning of this Envoy in the logs read, and its time
    stream_closed: str | None = None
    stream_closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One target as judged in one snapshot."""

    ref: TargetRef
    fetch: AdminFetch | None
    leaf: CertInfo | None = None
    bundle: TrustBundle = field(default_factory=TrustBundle)
    verdict: PhaseVerdict = field(default_factory=lambda: PhaseVerdict(Phase.UNKNOWN, "no data"))
    in_sync_with_secret: bool | None = None
    lag_since: datetime | None = None  # when it was first seen out of sync with the secret
    lag_seconds: float | None = None
    #: how long it took to pick up the secret's last change it caught up with (from the secret's write to
    #: the certificates' arrival in Envoy): the last rotation's pickup, kept until the next one
    last_pickup_seconds: float | None = None
    sds_version: str | None = None
    xds: XdsLink | None = None
    tls_errors: int = 0  # TLS failures on the mTLS link's scopes only (parse/tls_scopes.py)
    #: TLS failures on the user's listeners and upstreams (scanners, HTTP to HTTPS): information only
    user_tls_errors: int = 0
    envoy_version: str | None = None
    ahead_of_secret: bool = False  # holds something newer than the secret (the secret was rolled back)
    multi_ca_since: datetime | None = None  # first seen with 2+ CAs in its bundle (for "stalled")
    envoy_started_at: datetime | None = None  # from /server_info uptime, carried between polls
    certs_since: datetime | None = None  # when its current certificates arrived (SDS last_updated)
    sync_reason: str | None = None  # in words, why it is (not) in sync with the secret
    #: First seen holding a bundle other than its peers' (without a secret, ``--target``, the grace counts
    #: from it).
    bundle_differs_since: datetime | None = None
    #: When the TLS handshake/verify failure counters last rose (findings stay for a minute after).
    tls_errors_last_rise: datetime | None = None
    #: When the xDS cluster's failed connects last rose.
    xds_connect_fail_last_rise: datetime | None = None
    #: First seen with its link to gloo disconnected or failing, carried across polls (or back-dated by a
    #: ``gRPC config stream … closed since Ns ago`` warning); None while connected or idle.
    xds_down_since: datetime | None = None
    #: When the SDS ``update_rejected`` counters last rose.
    sds_rejected_last_rise: datetime | None = None
    #: First seen with its gRPC SDS stream closed (``sds.<secret>.control_plane.connected_state`` 0),
    #: carried across polls or back-dated by a ``StreamSecrets … closed since Ns ago`` warning.
    sds_down_since: datetime | None = None
    #: Set while the Kubernetes API is unreachable: the first poll that could not reach the target through
    #: it. Everything else shown (``fetch`` included, read at ``fetch.fetched_at``) is the last observed.
    stale_since: datetime | None = None
    #: the namespace of the secret it is compared with (its own namespace's copy where one was read,
    #: else the release namespace's); None without a secret (``--target``)
    secret_namespace: str | None = None
    #: It holds its namespace's copy of the secret, and that copy is behind the release namespace's
    #: secret (certgen's): how long since the source's write. The copy lags, not the pod
    #: (``secret-copy-stale`` says so); None while the copy equals its source, or it is no copy.
    copy_behind_seconds: float | None = None

    @property
    def key(self) -> str:
        return self.ref.key

    @property
    def reachable(self) -> bool:
        return self.fetch is not None and self.fetch.reachable


@dataclass(frozen=True, slots=True)
class SecretStatus:
    """The secret as judged: its state, its phase, and since when it holds its current content
    (carried between polls; on a first poll, the secret's own ``updated_at`` when the API gave one)."""

    state: SecretState
    verdict: PhaseVerdict
    content_since: datetime | None = None
    multi_ca_since: datetime | None = None  # first seen with 2+ CAs (for "stalled")


class MtlsState(enum.StrEnum):
    """Whether the namespace runs Gloo's internal mTLS, as far as the snapshot shows."""

    ENABLED = "enabled"  # the secret exists (or cannot be read), or a pod runs an sds sidecar
    NOT_ENABLED = "not-enabled"  # the API says there is no secret, and no pod runs an sds sidecar
    NOT_OBSERVED = "not-observed"  # no secret was read at all (``--target``): it cannot tell


#: What a namespace without mTLS (or a snapshot that cannot tell) is called: the finding's message, the
#: banner and the report's title say the same words.
MTLS_WORDS = {
    MtlsState.NOT_ENABLED: "mTLS is not enabled here: no gloo-mtls-certs secret and no sds sidecars",
    MtlsState.NOT_OBSERVED: "secret not observed (--target)",
}
MTLS_HINT = "enable it with the Helm value global.glooMtls.enabled=true"


def secret_of(
    secrets: Sequence[SecretStatus], context: str, namespace: str | None, release_namespace: str
) -> SecretStatus | None:
    """The secret a target of ``context`` in ``namespace`` is compared with: the copy in its own
    namespace (kube-gateway proxies, classic proxies moved by ``gatewayProxies.<name>.namespace``: each
    pod's sds serves its namespace's secret), else the release namespace's, else the context's first."""
    mine = [secret for secret in secrets if secret.state.context == context]
    for wanted in (namespace, release_namespace):
        found = next((secret for secret in mine if secret.state.namespace == wanted), None)
        if found is not None:
            return found
    return mine[0] if mine else None


def copy_source(
    secrets: Sequence[SecretStatus],
    secret: SecretStatus,
    release_namespace: str,
    installs: Collection[tuple[str, str]] = (),
) -> SecretStatus | None:
    """The secret ``secret`` is a copy of when it is a namespace copy (another namespace than the
    release's, in the same context): the release namespace's, which certgen writes. None otherwise, and
    for a namespace in ``installs`` (:func:`gloo_namespaces`: one with a gloo of its own, another Gloo
    installation seen with ``--all-namespaces``, whose own certgen writes its secret)."""
    state = secret.state
    if state.namespace == release_namespace or (state.context, state.namespace) in installs:
        return None
    return next(
        (s for s in secrets if s.state.context == state.context and s.state.namespace == release_namespace),
        None,
    )


def gloo_namespaces(refs: Iterable[TargetRef]) -> frozenset[tuple[str, str]]:
    """(context, namespace) of every gloo target: the namespaces that run a Gloo installation."""
    return frozenset((ref.context, ref.namespace) for ref in refs if ref.component is Component.GLOO)


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
    #: every management context's certgen CronJob, each with its context (``cronjob`` is the first's)
    cronjobs: tuple[CronJobState, ...] = ()
    #: In their final order (most severe first, then component and pod): sorted once, by the judge;
    #: renderers list them as they are.
    findings: tuple[Finding, ...] = ()
    timings: PollTimings = field(default_factory=PollTimings)
    missing_components: tuple[Component, ...] = ()  # deployments with no ready pod, or no pods at all
    #: components with neither a Deployment nor a pod in any watched context (information, not a gap)
    not_installed: tuple[Component, ...] = ()
    errors: tuple[str, ...] = ()  # source-level trouble: "API unreachable: …"
    generation: int = 0
    mtls: MtlsState = MtlsState.ENABLED
    #: the Gloo release its pods' images say (carried while no pod is listed); None with ``--target``
    gloo_release: GlooRelease | None = None
    #: gloo's validation webhook, per context that was read (none with ``--target``)
    webhooks: tuple[WebhookState, ...] = ()
    #: each watched context as this poll saw it: its plane, whether its API answered (none with
    #: ``--target``)
    context_states: tuple[ContextState, ...] = ()

    def plane_of(self, context: str) -> Plane:
        """``management`` (gloo runs there), ``data`` (clients only: split planes) or ``unknown``."""
        state = next((c for c in self.context_states if c.name == context), None)
        return state.plane if state is not None else Plane.MANAGEMENT

    @property
    def webhook(self) -> WebhookState | None:
        """The first context's validation webhook (the control plane's), when one is installed."""
        return next((webhook for webhook in self.webhooks if webhook.installed), None)

    @property
    def secret(self) -> SecretStatus | None:
        """The first context's secret (the control plane's)."""
        return self.secrets[0] if self.secrets else None

    def secret_for(self, context: str, namespace: str | None = None) -> SecretStatus | None:
        """The secret a target of ``context`` (in ``namespace``) is compared with (:func:`secret_of`)."""
        return secret_of(self.secrets, context, namespace, self.namespace)

    def worst_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((finding.severity for finding in self.findings), key=lambda sev: sev.rank)
