"""Kubernetes-side state (pods, port-forwards, the secret, the certgen CronJob) and what one poll fetched
from one target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.model.admin import CertsReport, ClustersReport, EnvoyStats, SecretsDump, ServerInfo
from gloomon.domain.model.certs import CertInfo, TrustBundle
from gloomon.domain.model.vocabulary import (
    DEFAULT_ENVOY_CONTAINERS,
    SECRET_NAME,
    Component,
    ParseError,
)

# --------------------------------------------------------------------------------------------------
# Kubernetes-side state


@dataclass(frozen=True, slots=True)
class KubeEvent:
    """One ``Warning`` event the API holds about a pod or a Job (``FailedMount``, ``FailedCreate``…)."""

    reason: str
    message: str
    count: int = 1
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class ContainerState:
    """One entry of a pod's ``status.containerStatuses``, as the API reports it."""

    name: str
    ready: bool
    restarts: int = 0
    #: ``running``, ``waiting`` or ``terminated`` (the key under ``state``), else ``unknown``
    state: str = "running"
    #: ``state.waiting.reason`` (``CrashLoopBackOff``, ``ContainerCreating``…) or ``state.terminated.reason``
    reason: str | None = None
    message: str | None = None
    exit_code: int | None = None  # state.terminated.exitCode
    #: ``lastState.terminated``: how the previous run of this container ended
    last_reason: str | None = None
    last_exit_code: int | None = None
    last_finished_at: datetime | None = None


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
    images: tuple[str, ...] = ()  # the containers' image references, in spec order
    #: ``status.containerStatuses`` (spec order where the API keeps it)
    container_states: tuple[ContainerState, ...] = ()
    #: the Job that owns it (certgen pods: label ``job-name`` or the ownerReference)
    job: str | None = None
    #: Warning events about this pod, read only when it is stuck (e.g. ``FailedMount``)
    events: tuple[KubeEvent, ...] = ()
    #: the proxy's name: ``gateway-proxy-id`` of a classic proxy, the ``<proxy>`` of a dataplanePerProxy
    #: ``extauth-<proxy>`` / ``rate-limit-<proxy>``, the Gateway's name of a kube-gateway; None for gloo
    #: and a shared extauth / rate-limit
    proxy: str | None = None
    #: the container running this pod's Envoy, as the pod spec names it (None: none of them was found)
    envoy_container: str | None = None

    @property
    def extauth_sidecar(self) -> bool:
        """Enterprise ``extAuth.envoySidecar``: an ``extauth`` container inside a gateway-proxy pod."""
        return self.component is Component.GATEWAY_PROXY and "extauth" in self.containers


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

    @property
    def proxy(self) -> str | None:
        """The proxy's name (``public-gw``), when the pod says it (:attr:`PodInfo.proxy`)."""
        return self.pod_info.proxy if self.pod_info is not None else None

    @property
    def envoy_container(self) -> str:
        """The container whose log is this target's Envoy: the pod's own, else the chart's default."""
        found = self.pod_info.envoy_container if self.pod_info is not None else None
        return found or DEFAULT_ENVOY_CONTAINERS[self.component]


@dataclass(frozen=True, slots=True)
class AdminFetch:
    """What one poll fetched from one target, each response parsed (or the parse's error)."""

    target: TargetRef
    fetched_at: datetime
    duration_seconds: float
    error: str | None = None  # set when the admin endpoint could not be reached at all
    #: Not reached because the Kubernetes API it is forwarded through is unreachable: the Envoy was
    #: not observed (it is not known to be down), and the API outage is the one finding.
    api_down: bool = False
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
    #: Which of ``ca.crt``, ``tls.crt`` and ``tls.key`` the secret lacks, as read from its data (an
    #: absent file, not an empty or undecodable one): e.g. ``("ca.crt",)`` for a secret made with
    #: ``kubectl create secret tls``. Judged from here, never from ``error``'s words.
    absent_keys: tuple[str, ...] = ()
    forbidden: bool = False
    missing: bool = False
    #: When the secret last changed (latest ``metadata.managedFields[].time``, else
    #: ``creationTimestamp``): seeds "content since" on a first poll, so a one-shot check sees lag.
    updated_at: datetime | None = None
    #: False when this poll could not read it (403, 5xx, timeout, API outage): it says nothing about the
    #: secret's content, which is not new, not empty, only unseen. The snapshot then keeps the last
    #: observed content (``read_at`` stays the time of that read).
    observed: bool = True
    #: How this secret is made when it is a copy of another cluster's (split planes), from its
    #: annotations, labels or owner: e.g. "kubed (config-syncer), from east/gloo-system". None: no sign.
    copied_by: str | None = None
    #: How copies of this secret are made, from its own annotations (kubed's sync rule, reflector's
    #: reflection): what makes a proxy namespace's copy of the release namespace's secret. None: no sign.
    syncs_by: str | None = None


class Plane(enum.StrEnum):
    """What a context runs: gloo (and certgen), or only clients of a gloo elsewhere (split planes)."""

    MANAGEMENT = "management"
    DATA = "data"


@dataclass(frozen=True, slots=True)
class ContextState:
    """One watched context (one Kubernetes API) as this poll saw it."""

    name: str
    #: whether gloo is installed here (a gloo Deployment or pod): None when this poll could not tell
    gloo_installed: bool | None = None
    #: components whose Deployment exists (or is always expected) without a ready pod
    missing: tuple[Component, ...] = ()
    #: this poll's API trouble in this context (unreachable, 401, 403, namespace missing)
    error: str | None = None
    #: nothing of this context could be read this poll (its pods were not listed)
    api_down: bool = False
    #: the plane, as judged by ``build_snapshot`` (sources leave the default)
    plane: Plane = Plane.MANAGEMENT
    #: the names of the pods listed in it (component and certgen pods): their findings' context
    pods: tuple[str, ...] = ()
    #: the components with a Deployment here (None: not listed, e.g. RBAC without deployments)
    deployed: tuple[Component, ...] | None = None


@dataclass(frozen=True, slots=True)
class JobState:
    name: str
    started_at: datetime | None
    completed_at: datetime | None
    active: bool
    succeeded: bool
    failed: bool
    #: the ``Failed`` condition's reason and message (``BackoffLimitExceeded``, ``DeadlineExceeded``…)
    failure_reason: str | None = None
    failure_message: str | None = None
    failed_at: datetime | None = None  # the Failed condition's lastTransitionTime
    failed_pods: int = 0  # status.failed
    created_at: datetime | None = None
    active_deadline_seconds: float | None = None
    backoff_limit: int | None = None
    #: the CronJob that made it (ownerReferences), None for a Helm-hook Job
    owner_cronjob: str | None = None
    #: Warning events about this Job, read only while it has no pod (``FailedCreate``)
    events: tuple[KubeEvent, ...] = ()

    @property
    def finished(self) -> bool:
        return self.succeeded or self.failed

    @property
    def deadline_exceeded(self) -> bool:
        return self.failed and self.failure_reason == "DeadlineExceeded"


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
    created_at: datetime | None = None  # the CronJob's creationTimestamp
    context: str = ""  # the context it was read in ("" where none is named)

    @property
    def active_jobs(self) -> tuple[JobState, ...]:
        return tuple(job for job in self.jobs if job.active)
