"""The lab's cluster state: the Kubernetes objects of one namespace, as the API façade reports them.

Pods here are the lab's simulated pods; their ``port_map`` says which loopback port stands for which
port inside the pod (e.g. gateway-proxy's admin 19000 → a free loopback port of its real Envoy).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

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
    #: ``state.waiting.reason`` (e.g. ``CrashLoopBackOff``) when the container is not running.
    waiting_reason: str | None = None
    #: ``(exit_code, reason, finished_at)`` once the container has exited (job pods).
    terminated: tuple[int, str, datetime] | None = None
    ports: tuple[tuple[str, int], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    args: tuple[str, ...] = ()

    def restart(self) -> None:
        """A container restart in place: same pod, ``restartCount`` + 1, the old log kept as ``previous``."""
        self.log.close()
        self.previous = self.log
        self.log = ContainerLog()
        self.restart_count += 1
        self.started_at = now_utc()


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


class ClusterStore:
    """Every object of the lab's namespace, plus resourceVersion bookkeeping and secret watchers."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.namespace_uid = new_uid()
        self.created = now_utc()
        self.pods: dict[str, Pod] = {}
        self.deployments: dict[str, Deployment] = {}
        self.secret: SecretObject | None = None
        self.cronjob: CronJob | None = None
        self.jobs: dict[str, Job] = {}
        #: ``gateway-validation-certs`` and the webhook configuration certgen patches (gateway-certgen)
        self.webhook_secret: SecretObject | None = None
        self.webhook_config: WebhookConfiguration | None = None
        self._rv = itertools.count(1000)
        self._ips = itertools.count(10)
        self._secret_listeners: list[SecretListener] = []

    def next_rv(self) -> int:
        return next(self._rv)

    def next_pod_ip(self) -> str:
        n = next(self._ips)
        return f"10.244.{n // 250}.{n % 250 + 2}"

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

    def touch(self, obj: Pod | Deployment | Job | CronJob | WebhookConfiguration) -> None:
        obj.resource_version = self.next_rv()

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
    ) -> SecretObject:
        """A full ``Update`` of ``gloo-mtls-certs`` (certgen rewrites all three keys every time; a sync
        tool writing a copy names itself in ``manager`` and its ``labels``/``annotations``)."""
        when = at or now_utc()
        if self.secret is None:
            self.secret = SecretObject(SECRET_NAME, data, self.next_rv(), created=when, updated=when)
        else:
            self.secret.data = data
            self.secret.resource_version = self.next_rv()
            self.secret.updated = when
        if manager is not None:
            self.secret.manager = manager
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
