"""Kubernetes JSON for the lab's objects: what a real apiserver would return for them.

Shapes follow core/v1, apps/v1 and admissionregistration.k8s.io/v1 (kind, apiVersion, metadata with uid,
labels, creationTimestamp, resourceVersion, ownerReferences; pod spec/status with containerStatuses…), so
the real ``kubernetes`` client deserialises them and ``kubectl get`` prints them. certgen's Job and
CronJob (batch/v1) are :mod:`gloomon.lab.api.jobs`'s.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.cluster.store import (
    Container,
    Deployment,
    NamespaceStore,
    Pod,
    SecretObject,
    WebhookConfiguration,
)
from gloomon.lab.cluster.util import rfc3339
from gloomon.lab.pods.sds import SSL_DIR


def meta(
    name: str,
    namespace: str | None,
    uid: str,
    created: Any,
    rv: int,
    labels: dict[str, str] | None = None,
    owner: tuple[str, str, str] | None = None,
    owner_api: str = "apps/v1",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": name,
        "uid": uid,
        "resourceVersion": str(rv),
        "creationTimestamp": rfc3339(created),
    }
    if namespace is not None:
        out["namespace"] = namespace
    if labels:
        out["labels"] = dict(labels)
    if owner is not None:
        kind, oname, ouid = owner
        out["ownerReferences"] = [
            {
                "apiVersion": owner_api,
                "kind": kind,
                "name": oname,
                "uid": ouid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return out


def list_of(kind: str, api_version: str, items: list[dict[str, Any]], rv: int) -> dict[str, Any]:
    return {
        "kind": f"{kind}List",
        "apiVersion": api_version,
        "metadata": {"resourceVersion": str(rv)},
        "items": items,
    }


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        out["details"] = details
    return out


def _env(container: Container) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, value in container.env:
        if value == "(fieldRef)":
            path = "metadata.name" if name == "POD_NAME" else "metadata.namespace"
            out.append({"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}})
        else:
            out.append({"name": name, "value": value})
    return out


def _container_spec(container: Container) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "imagePullPolicy": "IfNotPresent",
    }
    if container.args:
        spec["args"] = list(container.args)
    if container.env:
        spec["env"] = _env(container)
    if container.ports:
        spec["ports"] = [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in container.ports]
    spec["volumeMounts"] = [{"name": SECRET_NAME, "mountPath": SSL_DIR, "readOnly": True}]
    spec["resources"] = {}
    spec["terminationMessagePath"] = "/dev/termination-log"
    spec["terminationMessagePolicy"] = "File"
    return spec


def _container_status(container: Container) -> dict[str, Any]:
    if container.terminated is not None:
        code, reason, finished = container.terminated
        state: dict[str, Any] = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": rfc3339(container.started_at),
                "finishedAt": rfc3339(finished),
            }
        }
    elif container.waiting_reason:
        message = container.waiting_message
        if message is None and container.waiting_reason == "CrashLoopBackOff":
            message = f"back-off restarting failed container {container.name}"
        state = {"waiting": {"reason": container.waiting_reason} | ({"message": message} if message else {})}
    else:
        state = {"running": {"startedAt": rfc3339(container.started_at)}}
    out: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "imageID": f"{container.image}@sha256:" + "0" * 64,
        "containerID": f"containerd://{abs(hash((container.name, container.started_at))):064x}"[:77],
        "ready": container.ready,
        "restartCount": container.restart_count,
        "started": "running" in state,
        "state": state,
        "lastState": {},
    }
    if container.last_terminated is not None:
        code, reason, started, finished = container.last_terminated
        out["lastState"] = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": rfc3339(started),
                "finishedAt": rfc3339(finished),
            }
        }
    if container.waiting_reason == "ContainerCreating":  # never started: no container id, imageID ""
        out["imageID"] = ""  # a required string in the API (no omitempty): clients reject a missing one
        del out["containerID"]
    return out


def replicaset_uid(deployment_uid: str) -> str:
    """The uid of a Deployment's ReplicaSet (stable for the Deployment; ``replicasets.py``)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"replicaset/{deployment_uid}"))


def pod_labels(pod: Pod) -> dict[str, str]:
    """The pod's labels as the API shows them: a ReplicaSet's pods also carry ``pod-template-hash``."""
    if pod.owner is not None and pod.owner[0] == "ReplicaSet" and "-" in pod.owner[1]:
        return {**pod.labels, "pod-template-hash": pod.owner[1].rsplit("-", 1)[1]}
    return dict(pod.labels)


def _owner(pod: Pod) -> tuple[str, str, str] | None:
    """The pod's controller; a ReplicaSet by its own uid (the store keeps the Deployment's)."""
    if pod.owner is not None and pod.owner[0] == "ReplicaSet":
        return (pod.owner[0], pod.owner[1], replicaset_uid(pod.owner[2]))
    return pod.owner


container_spec = _container_spec


def pod_json(pod: Pod) -> dict[str, Any]:
    ready = "True" if pod.ready else "False"
    created = rfc3339(pod.created)
    owner_api = "batch/v1" if pod.owner and pod.owner[0] == "Job" else "apps/v1"
    restart = "OnFailure" if pod.owner and pod.owner[0] == "Job" else "Always"
    sandbox = "False" if pod.phase == "Pending" else "True"  # a failed mount: no sandbox yet
    conditions = [
        {"type": "PodReadyToStartContainers", "status": sandbox, "lastTransitionTime": created},
        {"type": "Initialized", "status": "True", "lastTransitionTime": created},
        {"type": "Ready", "status": ready, "lastTransitionTime": created},
        {"type": "ContainersReady", "status": ready, "lastTransitionTime": created},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": created},
    ]
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": meta(
            pod.name,
            pod.namespace,
            pod.uid,
            pod.created,
            pod.resource_version,
            pod_labels(pod),
            _owner(pod),
            owner_api,
        ),
        "spec": {
            "containers": [_container_spec(c) for c in pod.containers],
            "volumes": [{"name": SECRET_NAME, "secret": {"secretName": SECRET_NAME, "defaultMode": 420}}],
            "restartPolicy": restart,
            "serviceAccountName": pod.service_account,
            "nodeName": "gloomon-lab",
            "dnsPolicy": "ClusterFirst",
            "schedulerName": "default-scheduler",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {
            "phase": pod.phase,
            "conditions": conditions,
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            **({"podIP": pod.pod_ip, "podIPs": [{"ip": pod.pod_ip}]} if sandbox == "True" else {}),
            "startTime": created,
            "containerStatuses": [_container_status(c) for c in pod.containers],
            "qosClass": "BestEffort",
        },
    }


def deployment_json(store: NamespaceStore, dep: Deployment) -> dict[str, Any]:
    pods = [p for p in store.pods_of(dep.component) if p.owner is not None and p.owner[2] == dep.uid]
    ready = sum(1 for p in pods if p.ready)
    created = rfc3339(dep.created)
    return {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": meta(dep.name, store.namespace, dep.uid, dep.created, dep.resource_version, dep.labels)
        | {"generation": 1, "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {
            "replicas": dep.replicas,
            "selector": {"matchLabels": dict(dep.selector)},
            "template": {
                "metadata": {"labels": dict(dep.selector)},
                "spec": {"containers": [_container_spec(c) for c in pods[0].containers] if pods else []},
            },
            "strategy": {"type": "RollingUpdate"},
        },
        "status": {
            "observedGeneration": 1,
            "replicas": len(pods),
            "updatedReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            **({"unavailableReplicas": len(pods) - ready} if ready < len(pods) else {}),
            "conditions": [
                {
                    "type": "Available",
                    "status": "True" if ready else "False",
                    "reason": "MinimumReplicasAvailable",
                    "lastUpdateTime": created,
                    "lastTransitionTime": created,
                },
                {
                    "type": "Progressing",
                    "status": "True",
                    "reason": "NewReplicaSetAvailable",
                    "lastUpdateTime": created,
                    "lastTransitionTime": created,
                },
            ],
        },
    }


def secret_json(store: NamespaceStore, secret: SecretObject) -> dict[str, Any]:
    items = secret.data.as_dict().items()
    data = {k: base64.b64encode(v).decode() for k, v in items if k not in secret.missing}
    metadata = meta(
        secret.name, store.namespace, secret.uid, secret.created, secret.resource_version, secret.labels
    )
    if secret.annotations:
        metadata["annotations"] = dict(secret.annotations)
    fields: dict[str, Any] = {"f:data": {".": {}} | {f"f:{k}": {} for k in data}, "f:type": {}}
    if secret.owner is not None:  # a controller's object, as gloo's deployer sets it: no blockOwnerDeletion
        api_version, kind, name, uid = secret.owner
        metadata["ownerReferences"] = [
            {"apiVersion": api_version, "kind": kind, "name": name, "uid": uid, "controller": True}
        ]
        fields["f:metadata"] = {"f:ownerReferences": {f'k:{{"uid":"{uid}"}}': {}}}
    if secret.operation == "Apply":  # a server-side apply's field set holds only the fields it applied
        fields["f:data"].pop(".")
    metadata["managedFields"] = [
        {
            "manager": secret.manager,
            "operation": secret.operation,
            "apiVersion": "v1",
            "time": rfc3339(secret.updated),
            "fieldsType": "FieldsV1",
            "fieldsV1": fields,
        }
    ]
    return {
        "kind": "Secret",
        "apiVersion": "v1",
        "metadata": metadata,
        "type": "kubernetes.io/tls",
        "data": data,
    }


def namespace_json(store: NamespaceStore) -> dict[str, Any]:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": meta(
            store.namespace,
            None,
            store.namespace_uid,
            store.created,
            1,
            {"kubernetes.io/metadata.name": store.namespace, **store.labels},
        ),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def webhook_configuration_json(config: WebhookConfiguration, namespace: str) -> dict[str, Any]:
    """``admissionregistration.k8s.io/v1`` as Gloo's chart renders it (``5-gateway-validation-webhook-
    configuration.yaml``), with the caBundle certgen patched in."""
    bundle = base64.b64encode(config.ca_bundle).decode()

    def webhook(name: str, policy: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "name": f"{name}.{namespace}.svc",
            "clientConfig": {
                "service": {"name": "gloo", "namespace": namespace, "path": "/validation", "port": 443},
                "caBundle": bundle,
            },
            "rules": rules,
            "failurePolicy": policy,
            "matchPolicy": "Exact",
            "namespaceSelector": {},
            "objectSelector": {},
            "sideEffects": "None",
            "timeoutSeconds": 10,
            "admissionReviewVersions": ["v1beta1"],
        }

    gloo_rules = [
        {
            "operations": ["CREATE", "UPDATE", "DELETE"],
            "apiGroups": ["gateway.solo.io"],
            "apiVersions": ["v1"],
            "resources": ["virtualservices", "routetables"],
            "scope": "*",
        },
        {
            "operations": ["CREATE", "UPDATE"],
            "apiGroups": ["gateway.solo.io"],
            "apiVersions": ["v1"],
            "resources": ["gateways"],
            "scope": "*",
        },
    ]
    core_rules = [
        {"operations": ["DELETE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["secrets"]},
        {
            "operations": ["UPDATE", "DELETE"],
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["namespaces"],
        },
    ]
    metadata = meta(
        config.name, None, config.uid, config.created, config.resource_version, {"gloo": "gateway"}
    )
    metadata["annotations"] = {"helm.sh/hook": "pre-install, pre-upgrade", "helm.sh/hook-weight": "5"}
    return {
        "kind": "ValidatingWebhookConfiguration",
        "apiVersion": "admissionregistration.k8s.io/v1",
        "metadata": metadata,
        "webhooks": [
            webhook("gloo", config.failure_policy, gloo_rules),
            webhook("kube", config.kube_core_failure_policy, core_rules),
        ],
    }
