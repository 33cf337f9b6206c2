"""Gloo's deployments as its Helm chart renders them: labels, containers, images, env and ports.

One :class:`ComponentSpec` per component (reference/gloo-mtls.md §1); :func:`make_deployment` puts a
Deployment in the store and :func:`pod_containers` gives a new pod its containers. The processes behind a
pod are :mod:`gloomon.lab.pods.runtime`'s.

:data:`VARIETY` is Gloo's proxy variety (reference/real-clusters.md §4, ``Lab(variety=True)``): a second
classic proxy ``gatewayProxies.publicGw`` (Deployment and main container ``public-gw``, after a user
``extraContainers`` entry, with an Enterprise ``extauth`` sidecar), Enterprise ``dataplanePerProxy``
extauth and rate-limit for it, and a Gloo 1.19+ Kubernetes Gateway API proxy for the Gateway ``http``
(the gateway2 chart: Deployment ``gloo-proxy-http`` labelled ``gloo: kube-gateway``, its pods only the
selector labels, containers ``gloo-gateway`` + ``sds``). Where each runs is the lab's choice
(``Lab.namespace_of``): the kube-gateway in its Gateway's namespace.
"""

from __future__ import annotations

from dataclasses import dataclass

from gloomon.domain.model import Component
from gloomon.lab.cluster.store import Container, Deployment, NamespaceStore
from gloomon.lab.cluster.util import name_suffix
from gloomon.lab.pods.sds import GLOO_VERSION

_REGISTRY = "quay.io/solo-io"


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    component: Component
    deployment: str
    deployment_labels: tuple[tuple[str, str], ...]
    pod_labels: tuple[tuple[str, str], ...]
    #: container names in pod order; ``envoy_container`` is the one whose log is Envoy's stderr.
    containers: tuple[tuple[str, str], ...]
    envoy_container: str
    #: pod-local ports (besides admin) this pod's Envoy or stand-ins use, mapped to free loopback ports.
    local_ports: tuple[int, ...]
    container_ports: tuple[tuple[str, str, int], ...] = ()
    #: the proxy's name (``gateway-proxy-id``, a dataplanePerProxy's proxy, a kube-gateway's Gateway)
    proxy: str | None = None


SPECS: dict[Component, ComponentSpec] = {
    Component.GLOO: ComponentSpec(
        Component.GLOO,
        "gloo",
        (("app", "gloo"), ("gloo", "gloo")),
        (("gloo", "gloo"),),
        (("envoy-sidecar", "gloo-envoy-wrapper"), ("sds", "sds"), ("gloo", "gloo")),
        "envoy-sidecar",
        (9999, 9998),
        (
            ("envoy-sidecar", "grpc-xds", 9977),
            ("envoy-sidecar", "rest-xds", 9976),
            ("sds", "validation", 9988),
            ("gloo", "grpc-validation", 9988),
            ("gloo", "grpc-proxydebug", 9966),
            ("gloo", "wasm-cache", 9979),
        ),
    ),
    Component.GATEWAY_PROXY: ComponentSpec(
        Component.GATEWAY_PROXY,
        "gateway-proxy",
        (("app", "gloo"), ("gloo", "gateway-proxy"), ("gateway-proxy-id", "gateway-proxy")),
        (
            ("app", "gloo"),
            ("gloo", "gateway-proxy"),
            ("gateway-proxy-id", "gateway-proxy"),
            ("gateway-proxy", "live"),
        ),
        (("gateway-proxy", "gloo-envoy-wrapper"), ("sds", "sds")),
        "gateway-proxy",
        (),
        (("gateway-proxy", "http", 8080), ("gateway-proxy", "https", 8443), ("sds", "sds", 8234)),
    ),
    Component.EXTAUTH: ComponentSpec(
        Component.EXTAUTH,
        "extauth",
        (("app", "gloo"), ("gloo", "extauth")),
        (("gloo", "extauth"),),
        (("extauth", "extauth-ee"), ("envoy-sidecar", "gloo-ee-envoy-wrapper"), ("sds", "sds-ee")),
        "envoy-sidecar",
        (9955, 8083, 8084),
        (("extauth", "grpc", 8083),),
    ),
    Component.RATE_LIMIT: ComponentSpec(
        Component.RATE_LIMIT,
        "rate-limit",
        (("app", "gloo"), ("gloo", "rate-limit")),
        (("gloo", "rate-limit"),),
        (("rate-limit", "rate-limit-ee"), ("envoy-sidecar", "gloo-ee-envoy-wrapper"), ("sds", "sds-ee")),
        "envoy-sidecar",
        (9955,),
    ),
}


#: a user ``extraContainers`` entry (the chart lists them before the proxy's own container)
_LOG_SHIPPER = ("log-shipper", "docker.io/fluent/fluent-bit:3.1.9")
_KUBE_GATEWAY_SELECTOR = (
    ("app.kubernetes.io/name", "gloo-proxy-http"),
    ("app.kubernetes.io/instance", "http"),
    ("gateway.networking.k8s.io/gateway-name", "http"),
)

VARIETY: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        Component.GATEWAY_PROXY,
        "public-gw",
        (("app", "gloo"), ("gloo", "gateway-proxy"), ("gateway-proxy-id", "public-gw")),
        (("gloo", "gateway-proxy"), ("gateway-proxy-id", "public-gw"), ("gateway-proxy", "live")),
        (_LOG_SHIPPER, ("public-gw", "gloo-ee-envoy-wrapper"), ("sds", "sds-ee"), ("extauth", "extauth-ee")),
        "public-gw",
        (),
        (("public-gw", "http", 8080), ("public-gw", "https", 8443), ("sds", "sds", 8234)),
        proxy="public-gw",
    ),
    ComponentSpec(
        Component.EXTAUTH,
        "extauth-public-gw",
        (("app", "gloo"), ("gloo", "extauth-public-gw")),
        (("gloo", "extauth-public-gw"),),
        (("extauth", "extauth-ee"), ("envoy-sidecar", "gloo-ee-envoy-wrapper"), ("sds", "sds-ee")),
        "envoy-sidecar",
        (9955, 8083, 8084),
        (("extauth", "grpc", 8083),),
        proxy="public-gw",
    ),
    ComponentSpec(
        Component.RATE_LIMIT,
        "rate-limit-public-gw",
        (("app", "gloo"), ("gloo", "rate-limit-public-gw")),
        (("gloo", "rate-limit-public-gw"),),
        (("rate-limit", "rate-limit-ee"), ("envoy-sidecar", "gloo-ee-envoy-wrapper"), ("sds", "sds-ee")),
        "envoy-sidecar",
        (9955,),
        proxy="public-gw",
    ),
    ComponentSpec(
        Component.KUBE_GATEWAY,
        "gloo-proxy-http",
        (("gloo", "kube-gateway"), *_KUBE_GATEWAY_SELECTOR),
        _KUBE_GATEWAY_SELECTOR,
        (("gloo-gateway", "gloo-envoy-wrapper"), ("sds", "sds")),
        "gloo-gateway",
        (),
        (("gloo-gateway", "http", 8080), ("sds", "sds", 8234)),
        proxy="http",
    ),
)


def pod_containers(spec: ComponentSpec) -> list[Container]:
    """A new pod's containers, in pod order, with the chart's images, ports and env."""
    containers = []
    for cname, image in spec.containers:
        ports = tuple((p, n) for c, p, n in spec.container_ports if c == cname)
        containers.append(
            Container(
                name=cname,
                image=image if "/" in image else f"{_REGISTRY}/{image}:{GLOO_VERSION}",
                ports=ports,
                env=_container_env(spec.component, cname),
            )
        )
    return containers


def _container_env(component: Component, container: str) -> tuple[tuple[str, str], ...]:
    if container == "sds":
        env = [("GLOO_MTLS_SDS_ENABLED", "true")]
        if component in (Component.GATEWAY_PROXY, Component.KUBE_GATEWAY):
            env = [
                ("POD_NAME", "(fieldRef)"),
                ("POD_NAMESPACE", "(fieldRef)"),
                *env,
                ("LOG_LEVEL", "info"),
                ("START_STATS_SERVER", "true"),
            ]
        return tuple(env)
    if container == "envoy-sidecar":
        return (("ENVOY_SIDECAR", "true"),)
    if container == "extauth" and component is Component.GATEWAY_PROXY:  # EE extAuth.envoySidecar
        return (("SERVER_PORT", "8083"), ("GLOO_ADDRESS", "127.0.0.1:9955"))
    if component is Component.GATEWAY_PROXY and container not in _OTHER_CONTAINERS:
        return (("POD_NAME", "(fieldRef)"), ("POD_NAMESPACE", "(fieldRef)"), ("DISABLE_CORE_DUMPS", "false"))
    if component is Component.KUBE_GATEWAY:
        return (("POD_NAME", "(fieldRef)"), ("POD_NAMESPACE", "(fieldRef)"), ("ENVOY_UID", "0"))
    return ()


_OTHER_CONTAINERS = frozenset({_LOG_SHIPPER[0], "extauth", "sds"})


def make_deployment(store: NamespaceStore, spec: ComponentSpec, replicas: int) -> Deployment:
    deployment = Deployment(
        name=spec.deployment,
        labels=dict(spec.deployment_labels),
        selector=dict(
            [(k, v) for k, v in spec.pod_labels if k in ("gloo", "gateway-proxy-id")]
            if spec.component is Component.GATEWAY_PROXY
            else spec.pod_labels
        ),
        replicas=replicas,
        component=spec.component,
        template_hash=name_suffix(10),
    )
    deployment.resource_version = store.next_rv()
    store.deployments[deployment.name] = deployment
    return deployment
