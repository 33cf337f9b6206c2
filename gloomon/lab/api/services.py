"""core/v1 Services of the lab's deployments, as Gloo's charts make them (reference/gloo-mtls.md).

One Service per Deployment, named like it, selecting its pods (the Deployment's selector): ``gloo``
(9977 grpc-xds, 9976 rest-xds, 9988 grpc-validation, 9966 grpc-proxydebug, 9979 wasm-cache, 443→8443
https: the validation webhook), a gateway-proxy (``LoadBalancer``: 80→8080 http, 443→8443 https; no load
balancer on loopback, so its external IP stays ``<pending>`` as on a cluster without one), ``extauth``
(8083 grpc), ``rate-limit`` (18081 grpc), a kube-gateway (the gateway2 chart's ``LoadBalancer`` in the
Gateway's namespace, a port per Gateway listener: 8080 http). Derived, never stored: ``kubectl get
svc``, ``get all`` and ``kubectl port-forward svc/gloo 9977`` (kubectl maps the service port to the
target port of a selected pod) read them.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from gloomon.domain.model import Component
from gloomon.lab.api.objects import meta
from gloomon.lab.cluster.store import Deployment, NamespaceStore

#: ``(name, port, targetPort)`` per component
PORTS: dict[Component, tuple[tuple[str, int, int], ...]] = {
    Component.GLOO: (
        ("grpc-xds", 9977, 9977),
        ("rest-xds", 9976, 9976),
        ("grpc-validation", 9988, 9988),
        ("grpc-proxydebug", 9966, 9966),
        ("wasm-cache", 9979, 9979),
        ("https", 443, 8443),
    ),
    Component.GATEWAY_PROXY: (("http", 80, 8080), ("https", 443, 8443)),
    Component.EXTAUTH: (("grpc", 8083, 8083),),
    Component.RATE_LIMIT: (("grpc", 18081, 18081),),
    Component.KUBE_GATEWAY: (("http", 8080, 8080),),
}
#: the components whose Service is a ``LoadBalancer`` (the proxies users reach)
BALANCED = frozenset({Component.GATEWAY_PROXY, Component.KUBE_GATEWAY})


def _digest(store: NamespaceStore, dep: Deployment) -> str:
    return hashlib.sha256(f"{store.namespace_uid}/service/{dep.name}".encode()).hexdigest()


def service_json(store: NamespaceStore, dep: Deployment) -> dict[str, Any]:
    digest = _digest(store, dep)
    cluster_ip = f"10.96.{int(digest[:2], 16)}.{int(digest[2:4], 16) % 254 + 1}"
    balanced = dep.component in BALANCED
    ports = []
    for i, (name, port, target) in enumerate(PORTS[dep.component]):
        entry: dict[str, Any] = {"name": name, "protocol": "TCP", "port": port, "targetPort": target}
        if balanced:
            entry["nodePort"] = 30000 + (int(digest[4 + 4 * i : 8 + 4 * i], 16) % 2768)
        ports.append(entry)
    spec: dict[str, Any] = {
        "ports": ports,
        "selector": dict(dep.selector),
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "type": "LoadBalancer" if balanced else "ClusterIP",
        "sessionAffinity": "None",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "internalTrafficPolicy": "Cluster",
    }
    if balanced:
        spec["externalTrafficPolicy"] = "Cluster"
        spec["allocateLoadBalancerNodePorts"] = True
    metadata = meta(
        dep.name, store.namespace, str(uuid.UUID(digest[:32])), dep.created, dep.resource_version, dep.labels
    )
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": metadata,
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def external_name_json(store: NamespaceStore, name: str, target: str, rv: int) -> dict[str, Any]:
    """An ``ExternalName`` Service the user made (no selector, no cluster IP): DNS answers a CNAME to
    ``target``. An edge cluster's ``gloo`` lists gloo's xDS ports, as the user wrote them."""
    digest = hashlib.sha256(f"{store.namespace_uid}/service/{name}".encode()).hexdigest()
    metadata = meta(name, store.namespace, str(uuid.UUID(digest[:32])), store.created, rv)
    ports = [
        {"name": n, "protocol": "TCP", "port": p, "targetPort": t} for n, p, t in PORTS[Component.GLOO][:2]
    ]
    spec = {"type": "ExternalName", "externalName": target, "ports": ports, "sessionAffinity": "None"}
    return {
        "kind": "Service",
        "apiVersion": "v1",
        "metadata": metadata,
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def services(store: NamespaceStore) -> list[dict[str, Any]]:
    found = [service_json(store, d) for d in store.deployments.values() if d.component in PORTS]
    found += [external_name_json(store, name, *named) for name, named in store.external_names.items()]
    return found
