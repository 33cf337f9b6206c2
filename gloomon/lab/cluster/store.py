"""The lab's cluster state: the Kubernetes objects of its namespaces, as the API façade reports them.

A :class:`ClusterStore` is one cluster: its namespaces (each a :class:`NamespaceStore` holding that
namespace's pods, deployments, secrets, certgen's CronJob and Jobs, events and Services), the
cluster-scoped webhook configuration, and one resourceVersion sequence and pod IP range for them all.
Every namespaced object belongs to exactly one namespace.

Pods here are the lab's simulated pods; their ``port_map`` says which loopback port stands for which
port inside the pod (e.g. gateway-proxy's admin 19000 → a free loopback port of its real Envoy).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gloomon.domain.model import SECRET_NAME, Component
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.container_logs import ContainerLog
from gloomon.lab.cluster.util import now_utc


def new_uid() -> str:
    return str(uuid.uuid4())


@dataclass(eq=False)
class Container:
    name: str
    image: str
    log: ContainerLog = field(default_factory=ContainerLog)
    previous: ContainerLog | None = None
    restart_count: int = 0
    ready: bool = True
    started_at: datetime = field(default_factory=now_utc)
    #: ``state.waiting.reason`` (e.g. ``CrashLoopBackOff``, ``ContainerCreating``) when it is not running
    waiting_reason: str | None = None
    #: ``state.waiting.message``; None: the kubelet's back-off message for CrashLoopBackOff, else none
    waiting_message: str | None = None
    #: ``(exit_code, reason, finished_at)`` once the container has exited (job pods).
    terminated: tuple[int, str, datetime] | None = None
    #: ``lastState.terminated`` of the run before this one: ``(exit_code, reason, started_at, finished_at)``
    last_terminated: tuple[int, str, datetime, datetime] | None = None
    #: the current run has exited (a restart follows: its end is then ``last_terminated``)
    exited_run: bool = False
    ports: tuple[tuple[str, int], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()

    def restart(self, exit_code: int = 1, reason: str = "Error") -> None:
        """A container restart in place: same pod, ``restartCount`` + 1, the old log kept as ``previous``
        and how the old run ended as ``lastState.terminated``."""
        if not self.exited_run:
            self.exited(exit_code, reason)
        self.log = ContainerLog()
        self.restart_count += 1
        self.started_at = now_utc()
        self.terminated = None
        self.exited_run = False

    def exited(self, exit_code: int, reason: str, finished: datetime | None = None) -> None:
        """The process ended (at ``finished``, default now) and waits to be restarted: its log becomes
        ``previous``, its end ``lastState.terminated``."""
        self.last_terminated = (exit_code, reason, self.started_at, finished or now_utc())
        self.terminated = None
        self.exited_run = True
        self.log.close()
        self.previous = self.log
        self.ready = False


@dataclass(eq=False)
class RecordedEvent:
    """A Warning event a controller recorded (not derived from a pod's state): the job controller's
    ``FailedCreate`` on a Job, the kubelet's ``FailedMount`` on a pod. Repeats raise ``count``."""

    kind: str  # involvedObject.kind: "Pod" | "Job"
    name: str
    uid: str
    reason: str
    message: str
    component: str  # source.component: "kubelet", "job-controller"
    first: datetime = field(default_factory=now_utc)
    last: datetime = field(default_factory=now_utc)
    count: int = 1
    type: str = "Warning"
    #: the kubelet retries on its own (a mount, every ~2 min): count and last follow the clock
    repeat_every: float | None = None

    def seen(self) -> tuple[int, datetime]:
        """(count, lastTimestamp) as of now."""
        if self.repeat_every is None:
            return self.count, self.last
        repeats = int((now_utc() - self.first).total_seconds() // self.repeat_every)
        return self.count + repeats, self.first + timedelta(seconds=repeats * self.repeat_every)


@dataclass(eq=False)
class Pod:
    name: str
    namespace: str
    labels: dict[str, str]
    containers: list[Container]
    pod_ip: str
    component: Component | None = None
    #: ``(kind, name, uid)`` of the controller (ReplicaSet or Job).
    owner: tuple[str, str, str] | None = None
    uid: str = field(default_factory=new_uid)
    created: datetime = field(default_factory=now_utc)
    phase: str = "Running"
    port_map: dict[int, int] = field(default_factory=dict)
    resource_version: int = 0
    service_account: str = "default"

    def container(self, name: str) -> Container | None:
        return next((c for c in self.containers if c.name == name), None)

    @property
    def ready(self) -> bool:
        return self.phase == "Running" and all(c.ready for c in self.containers)


@dataclass(eq=False)
class Deployment:
    name: str
    labels: dict[str, str]
    selector: dict[str, str]
    replicas: int
    component: Component
    template_hash: str
    uid: str = field(default_factory=new_uid)
    created: datetime = field(default_factory=now_utc)
    resource_version: int = 0


@dataclass(eq=False)
class SecretObject:
    """``gloo-mtls-certs``: ``created`` is its creationTimestamp, ``updated`` the time of certgen's last write
    (``managedFields[0].time``). ``data`` is left out of the repr: it holds the private key."""

    name: str
    data: SecretData = field(repr=False)
    resource_version: int
    created: datetime
    updated: datetime
    uid: str = field(default_factory=new_uid)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    #: ``managedFields[0].manager``: who last wrote it (certgen; a sync tool for a copied secret)
    manager: str = "certgen"
    #: ``managedFields[0].operation``: ``Update``, or ``Apply`` for a server-side apply (gloo's deployer)
    operation: str = "Update"
    #: its controller owner (apiVersion, kind, name, uid), e.g. the Gateway gloo rendered a copy for
    owner: tuple[str, str, str, str] | None = None
    #: keys absent from ``data`` in the API (a hand-edited or badly-synced secret); a full Update clears it
    missing: tuple[str, ...] = ()


@dataclass(eq=False)
class Job:
    name: str
    labels: dict[str, str]
    pod_name: str
    owner_cronjob: str | None
    args: tuple[str, ...]
    uid: str = field(default_factory=new_uid)
    created: datetime = field(default_factory=now_utc)
    completed: datetime | None = None
    succeeded: bool | None = None
    failure_reason: str | None = None
    #: the Failed condition's message; None: Kubernetes' message for the reason
    failure_message: str | None = None
    #: ``status.failed``: pods of this Job that failed
    failed_pods: int = 0
    backoff_limit: int = 6
    resource_version: int = 0
    active_deadline_seconds: int | None = None
    ttl_seconds_after_finished: int | None = 60
    #: the pod template's labels; None: the mTLS certgen's (``gloo=gloo-mtls-certs``)
    pod_labels: dict[str, str] | None = None


@dataclass(eq=False)
class CronJob:
    name: str
    schedule: str
    labels: dict[str, str]
    args: tuple[str, ...]
    uid: str = field(default_factory=new_uid)
    created: datetime = field(default_factory=now_utc)
    last_schedule: datetime | None = None
    last_successful: datetime | None = None
    active: list[str] = field(default_factory=list)
    resource_version: int = 0
    suspend: bool = False
    concurrency_policy: str = "Allow"


@dataclass(eq=False)
class WebhookConfiguration:
    """The cluster-scoped ``gloo-gateway-validation-webhook-<ns>``: Gloo's two webhooks (Gloo resources,
    and Kubernetes core deletes) share one ``caBundle``; each has its own failure policy (Helm
    ``gateway.validation.failurePolicy`` / ``kubeCoreFailurePolicy``, both ``Ignore`` by default)."""

    name: str
    ca_bundle: bytes = b""
    failure_policy: str = "Ignore"
    kube_core_failure_policy: str = "Ignore"
    uid: str = field(default_factory=new_uid)
    created: datetime = field(default_factory=now_utc)
    resource_version: int = 0


SecretListener = Callable[[SecretData], None]


class NamespaceStore:
    """Every object of one namespace, and its secret watchers; resourceVersions and pod IPs are the
    cluster's (``cluster``)."""

    def __init__(self, cluster: ClusterStore, namespace: str, labels: dict[str, str] | None = None) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.namespace_uid = new_uid()
        self.created = now_utc()
        #: the Namespace object's labels besides ``kubernetes.io/metadata.name``
        self.labels = dict(labels or {})
        self.pods: dict[str, Pod] = {}
        self.deployments: dict[str, Deployment] = {}
        self.secret: SecretObject | None = None
        self.cronjob: CronJob | None = None
        self.jobs: dict[str, Job] = {}
        #: ``gateway-validation-certs`` (gateway-certgen)
        self.webhook_secret: SecretObject | None = None
        #: Warning events controllers recorded (:class:`RecordedEvent`), oldest first
        self.recorded_events: list[RecordedEvent] = []
        #: ``ExternalName`` Services the user made: name → (the DNS name they stand for, resourceVersion);
        #: an edge cluster's ``gloo``, for the management cluster's gloo
        self.external_names: dict[str, tuple[str, int]] = {}
        self._secret_listeners: list[SecretListener] = []

    def next_rv(self) -> int:
        return self.cluster.next_rv()

    def next_pod_ip(self) -> str:
        return self.cluster.next_pod_ip()

    def add_pod(self, pod: Pod) -> Pod:
        pod.resource_version = self.next_rv()
        self.pods[pod.name] = pod
        return pod

    def remove_pod(self, name: str) -> Pod | None:
        pod = self.pods.pop(name, None)
        if pod is not None:
            for c in pod.containers:
                c.log.close()
        return pod

    def record_event(
        self,
        kind: str,
        name: str,
        uid: str,
        reason: str,
        message: str,
        component: str,
        *,
        repeat_every: float | None = None,
    ) -> RecordedEvent:
        """Record a Warning event, or count a repeat of the same one (as the API server aggregates)."""
        for event in self.recorded_events:
            if (event.kind, event.name, event.reason, event.message) == (kind, name, reason, message):
                event.count += 1
                event.last = now_utc()
                return event
        event = RecordedEvent(kind, name, uid, reason, message, component, repeat_every=repeat_every)
        self.recorded_events.append(event)
        return event

    def touch(self, obj: Pod | Deployment | Job | CronJob | WebhookConfiguration) -> None:
        self.cluster.touch(obj)

    def pods_of(self, component: Component | None = None) -> list[Pod]:
        pods = [p for p in self.pods.values() if component is None or p.component is component]
        return sorted(pods, key=lambda p: (p.created, p.name))

    def on_secret(self, listener: SecretListener) -> None:
        self._secret_listeners.append(listener)

    def off_secret(self, listener: SecretListener) -> None:
        if listener in self._secret_listeners:
            self._secret_listeners.remove(listener)

    def write_secret(
        self,
        data: SecretData,
        *,
        at: datetime | None = None,
        manager: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        operation: str = "Update",
        owner: tuple[str, str, str, str] | None = None,
    ) -> SecretObject:
        """A full ``Update`` of ``gloo-mtls-certs`` (certgen rewrites all three keys every time; a sync
        tool writing a copy names itself in ``manager`` and its ``labels``/``annotations``), or with
        ``operation="Apply"`` a server-side apply by ``manager`` of an object ``owner`` controls."""
        when = at or now_utc()
        if self.secret is None:
            self.secret = SecretObject(SECRET_NAME, data, self.next_rv(), created=when, updated=when)
        else:
            self.secret.data, self.secret.missing = data, ()
            self.secret.resource_version = self.next_rv()
            self.secret.updated = when
        if manager is not None:
            self.secret.manager = manager
        self.secret.operation, self.secret.owner = operation, owner
        self.secret.labels.update(labels or {})
        self.secret.annotations.update(annotations or {})
        for listener in list(self._secret_listeners):
            listener(data)
        return self.secret

    def delete_secret(self) -> None:
        """``gloo-mtls-certs`` is deleted: gets answer 404; mounted copies keep their last content."""
        self.secret = None

    def write_webhook_secret(
        self, name: str, data: SecretData, *, at: datetime | None = None
    ) -> SecretObject:
        """A full write of ``gateway-validation-certs`` (gloo reads it when it starts, no listener)."""
        when = at or now_utc()
        if self.webhook_secret is None:
            self.webhook_secret = SecretObject(name, data, self.next_rv(), created=when, updated=when)
        else:
            self.webhook_secret.data = data
            self.webhook_secret.resource_version = self.next_rv()
            self.webhook_secret.updated = when
        return self.webhook_secret

    def secrets(self) -> list[SecretObject]:
        """Every secret of the namespace, by name."""
        found = [s for s in (self.secret, self.webhook_secret) if s is not None]
        return sorted(found, key=lambda s: s.name)


class ClusterStore:
    """One cluster: its namespaces (created with :meth:`add_namespace`), the cluster-scoped webhook
    configuration, and the resourceVersion sequence every object's writes share."""

    def __init__(self) -> None:
        self.namespaces: dict[str, NamespaceStore] = {}
        #: the ``ValidatingWebhookConfiguration`` gateway-certgen patches (cluster-scoped)
        self.webhook_config: WebhookConfiguration | None = None
        self._rv = itertools.count(1000)
        self._ips = itertools.count(10)

    def next_rv(self) -> int:
        return next(self._rv)

    def next_pod_ip(self) -> str:
        n = next(self._ips)
        return f"10.244.{n // 250}.{n % 250 + 2}"

    def touch(self, obj: Pod | Deployment | Job | CronJob | WebhookConfiguration) -> None:
        obj.resource_version = self.next_rv()

    def add_namespace(self, namespace: str, labels: dict[str, str] | None = None) -> NamespaceStore:
        """The namespace ``namespace`` (made now unless it exists; ``labels`` are added to it)."""
        found = self.namespaces.get(namespace)
        if found is None:
            found = self.namespaces[namespace] = NamespaceStore(self, namespace)
        found.labels.update(labels or {})
        return found

    def scoped(self, namespace: str | None) -> list[NamespaceStore]:
        """The namespaces a request reads: ``namespace`` (none if it does not exist: a list there is
        empty, as the real API answers), or every namespace by name when ``None`` (cluster-wide)."""
        if namespace is not None:
            found = self.namespaces.get(namespace)
            return [found] if found is not None else []
        return [self.namespaces[name] for name in sorted(self.namespaces)]

    def pods_of(self, component: Component | None = None) -> list[Pod]:
        """Every namespace's pods (of ``component``), oldest first."""
        pods = [p for ns in self.namespaces.values() for p in ns.pods_of(component)]
        return sorted(pods, key=lambda p: (p.created, p.name))
