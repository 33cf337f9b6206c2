"""core/v1 Events for the lab's pods and controllers, as a cluster records them (``kubectl describe``).

Derived from the store's state, never stored: per Deployment ``ScalingReplicaSet``
(deployment-controller), per pod ``SuccessfulCreate`` on its ReplicaSet (replicaset-controller),
``Scheduled`` (default-scheduler), then per container ``Pulled`` (image already present:
``IfNotPresent``), ``Created`` and ``Started`` (kubelet), and for a container waiting in
``CrashLoopBackOff`` a ``BackOff`` warning counted once per restart. Warning events
controllers record (``FailedCreate`` on a Job, ``FailedMount`` on a pod: ``NamespaceStore.record_event``)
are listed with them. As on a real
API server (``--event-ttl`` 1 h) events older than an hour are gone. Field selectors on
``involvedObject.*``, ``reason`` and ``type`` filter them, as ``kubectl describe`` asks.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from gloomon.lab.api.objects import replicaset_uid
from gloomon.lab.cluster.store import NamespaceStore, Pod, RecordedEvent
from gloomon.lab.cluster.util import now_utc, rfc3339

#: the API server's default ``--event-ttl``
EVENT_TTL = timedelta(hours=1)
NODE = "gloomon-lab"


@dataclass(frozen=True)
class _Involved:
    """The object an event is about."""

    kind: str
    api_version: str
    namespace: str
    name: str
    uid: str
    resource_version: int


def _involved(pod: Pod) -> _Involved:
    return _Involved("Pod", "v1", pod.namespace, pod.name, pod.uid, pod.resource_version)


def _event(
    pod: Pod | _Involved, reason: str, message: str, *, when: Any, component: str = "kubelet", **extra: Any
) -> dict[str, Any]:
    obj = _involved(pod) if isinstance(pod, Pod) else pod
    field_path = extra.pop("field_path", "")
    kind, count, last = extra.pop("type", "Normal"), extra.pop("count", 1), extra.pop("last", when)
    digest = hashlib.sha256(f"{obj.uid}/{reason}/{field_path}/{message}".encode()).hexdigest()
    involved: dict[str, Any] = {
        "kind": obj.kind,
        "namespace": obj.namespace,
        "name": obj.name,
        "uid": obj.uid,
        "apiVersion": obj.api_version,
        "resourceVersion": str(obj.resource_version),
    }
    if field_path:
        involved["fieldPath"] = field_path
    source: dict[str, Any] = {"component": component}
    if component == "kubelet":
        source["host"] = NODE
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": f"{obj.name}.{digest[:16]}",
            "namespace": obj.namespace,
            "uid": str(uuid.UUID(digest[:32])),
            "resourceVersion": str(obj.resource_version),
            "creationTimestamp": rfc3339(when),
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": source,
        "firstTimestamp": rfc3339(when),
        "lastTimestamp": rfc3339(last),
        "count": count,
        "type": kind,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": NODE if component == "kubelet" else "",
    }


def pod_events(pod: Pod) -> list[dict[str, Any]]:
    created = pod.created
    out = [
        _event(
            pod,
            "Scheduled",
            f"Successfully assigned {pod.namespace}/{pod.name} to {NODE}",
            when=created,
            component="default-scheduler",
        )
    ]
    for container in pod.containers:
        if container.waiting_reason == "ContainerCreating":  # never started (a failed mount): no events
            continue
        path = f"spec.containers{{{container.name}}}"
        for reason, message in (
            ("Pulled", f'Container image "{container.image}" already present on machine'),
            ("Created", f"Created container: {container.name}"),
            ("Started", f"Started container {container.name}"),
        ):
            count = 1 + container.restart_count
            last = container.started_at if container.restart_count else created
            out.append(_event(pod, reason, message, when=created, last=last, count=count, field_path=path))
        if container.waiting_reason == "CrashLoopBackOff" and container.restart_count:
            message = f"Back-off restarting failed container {container.name} in pod "
            message += f"{pod.name}_{pod.namespace}({pod.uid})"
            out.append(
                _event(
                    pod,
                    "BackOff",
                    message,
                    when=created,
                    last=now_utc(),
                    count=container.restart_count,
                    field_path=path,
                    type="Warning",
                )
            )
    return out


def _fields(event: dict[str, Any]) -> dict[str, str]:
    out = {f"involvedObject.{k}": str(v) for k, v in event["involvedObject"].items()}
    out.update(
        {
            "reason": event["reason"],
            "type": event["type"],
            "metadata.name": event["metadata"]["name"],
            "metadata.namespace": event["metadata"]["namespace"],
            "source": event["source"]["component"],
        }
    )
    return out


def matches_fields(event: dict[str, Any], selector: str) -> bool:
    """``a=b,c!=d`` field selectors (``==`` too), as the API server applies them to events."""
    fields = _fields(event)
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if fields.get(key, "") == value:
                return False
        else:
            key, value = term.replace("==", "=").split("=", 1)
            if fields.get(key, "") != value:
                return False
    return True


def controller_events(store: NamespaceStore) -> list[dict[str, Any]]:
    """The deployment controller scaling each Deployment's ReplicaSet up, the ReplicaSet controller
    creating its pods."""
    out = []
    for dep in store.deployments.values():
        rs_name = f"{dep.name}-{dep.template_hash}"
        deployment = _Involved(
            "Deployment", "apps/v1", store.namespace, dep.name, dep.uid, dep.resource_version
        )
        message = f"Scaled up replica set {rs_name} from 0 to {dep.replicas}"
        out.append(
            _event(
                deployment, "ScalingReplicaSet", message, when=dep.created, component="deployment-controller"
            )
        )
        rs = _Involved(
            "ReplicaSet", "apps/v1", store.namespace, rs_name, replicaset_uid(dep.uid), dep.resource_version
        )
        for pod in store.pods_of():
            if pod.owner is not None and pod.owner[:2] == ("ReplicaSet", rs_name):
                message = f"Created pod: {pod.name}"
                out.append(
                    _event(
                        rs, "SuccessfulCreate", message, when=pod.created, component="replicaset-controller"
                    )
                )
    return out


def recorded_event(store: NamespaceStore, recorded: RecordedEvent) -> dict[str, Any]:
    """A controller's Warning event (``FailedCreate`` on a Job, ``FailedMount`` on a pod) as core/v1."""
    api = "batch/v1" if recorded.kind == "Job" else "v1"
    digest = hashlib.sha256(f"{recorded.uid}/{recorded.reason}/{recorded.message}".encode()).hexdigest()
    count, last = recorded.seen()
    source: dict[str, Any] = {"component": recorded.component}
    if recorded.component == "kubelet":
        source["host"] = NODE
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": f"{recorded.name}.{digest[:16]}",
            "namespace": store.namespace,
            "uid": str(uuid.UUID(digest[:32])),
            "resourceVersion": str(store.next_rv()),
            "creationTimestamp": rfc3339(recorded.first),
        },
        "involvedObject": {
            "kind": recorded.kind,
            "namespace": store.namespace,
            "name": recorded.name,
            "uid": recorded.uid,
            "apiVersion": api,
        },
        "reason": recorded.reason,
        "message": recorded.message,
        "source": source,
        "firstTimestamp": rfc3339(recorded.first),
        "lastTimestamp": rfc3339(last),
        "count": count,
        "type": recorded.type,
        "eventTime": None,
        "reportingComponent": recorded.component,
        "reportingInstance": NODE if recorded.component == "kubelet" else "",
    }


def events(store: NamespaceStore, field_selector: str = "") -> list[dict[str, Any]]:
    """Every live event in the store's namespace that matches ``field_selector``."""
    cutoff = now_utc() - EVENT_TTL
    out = []
    for event in [*controller_events(store), *(e for pod in store.pods_of() for e in pod_events(pod))]:
        if event["lastTimestamp"] >= rfc3339(cutoff) and matches_fields(event, field_selector):
            out.append(event)
    for recorded in store.recorded_events:
        event = recorded_event(store, recorded)
        if recorded.seen()[1] >= cutoff and matches_fields(event, field_selector):
            out.append(event)
    return out
