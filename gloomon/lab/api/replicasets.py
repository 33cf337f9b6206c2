"""apps/v1 ReplicaSets of the lab's deployments, as the deployment controller makes them.

One ReplicaSet per Deployment, ``<deployment>-<pod-template-hash>`` (the name its pods' owner references
carry), controlled by the Deployment, selecting its pods by the Deployment's selector plus
``pod-template-hash``. Derived, never stored: ``kubectl get rs``, ``get all`` and ``describe deploy``
(``NewReplicaSet: gloo-… (1/1 replicas created)``) read them. The pods' owner references name the
ReplicaSet's uid (:func:`replicaset_uid`).
"""

from __future__ import annotations

from typing import Any

from gloomon.lab.api.objects import container_spec, meta, replicaset_uid
from gloomon.lab.cluster.store import Deployment, NamespaceStore


def replicaset_json(store: NamespaceStore, dep: Deployment) -> dict[str, Any]:
    pods = store.pods_of(dep.component)
    pods = [p for p in pods if p.owner is not None and p.owner[1] == f"{dep.name}-{dep.template_hash}"]
    ready = sum(1 for p in pods if p.ready)
    selector = {**dep.selector, "pod-template-hash": dep.template_hash}
    metadata = meta(
        f"{dep.name}-{dep.template_hash}",
        store.namespace,
        replicaset_uid(dep.uid),
        dep.created,
        dep.resource_version,
        selector,
        ("Deployment", dep.name, dep.uid),
    )
    metadata["annotations"] = {
        "deployment.kubernetes.io/desired-replicas": str(dep.replicas),
        "deployment.kubernetes.io/max-replicas": str(dep.replicas + max(1, -(-dep.replicas // 4))),
        "deployment.kubernetes.io/revision": "1",
    }
    containers = [container_spec(c) for c in pods[0].containers] if pods else []
    return {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": metadata,
        "spec": {
            "replicas": dep.replicas,
            "selector": {"matchLabels": selector},
            "template": {"metadata": {"labels": selector}, "spec": {"containers": containers}},
        },
        "status": {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": 1,
        },
    }


def replicasets(store: NamespaceStore) -> list[dict[str, Any]]:
    return [replicaset_json(store, d) for d in store.deployments.values()]
