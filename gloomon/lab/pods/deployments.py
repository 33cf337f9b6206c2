"""Gloo's deployments as its Helm chart renders them: labels, containers, images, env and ports.

One :class:`ComponentSpec` per component (reference/gloo-mtls.md §1); :func:`make_deployment` puts a
Deployment in the store and :func:`pod_containers` gives a new pod its containers. The processes behind a
pod are :mod:`gloomon.lab.pods.runtime`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from gloomon.domain.model import Component
from gloomon.lab.cluster.store import ClusterStore, Container, Deployment
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


def pod_containers(spec: ComponentSpec) -> list[Container]:
    """A new pod's containers, in pod order, with the chart's images, ports and env."""
    containers = []
    for cname, image in spec.containers:
        ports = tuple((p, n) for c, p, n in spec.container_ports if c == cname)
        containers.append(
            Container(
                name=cname,
                image=f"{_REGISTRY}/{image}:{GLOO_VERSION}",
                ports=ports,
                env=_container_env(spec.component, cname),
            )
        )
    return containers


def _container_env(component: Component, container: str) -> tuple[tuple[str, str], ...]:
    if container == "sds":
        env = [("GLOO_MTLS_SDS_ENABLED", "true")]
        if component is Component.GATEWAY_PROXY:
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
    if component is Component.GATEWAY_PROXY:
        return (("POD_NAME", "(fieldRef)"), ("POD_NAMESPACE", "(fieldRef)"), ("DISABLE_CORE_DUMPS", "false"))
    return ()


def make_deployment(store: ClusterStore, spec: ComponentSpec, replicas: int) -> Deployment:
    deployment = Deployment(
        name=spec.deployment,
        labels=dict(spec.deployment_labels),
        selector=dict(spec.pod_labels[:2] if spec.component is Component.GATEWAY_PROXY else spec.pod_labels),
        replicas=replicas,
        component=spec.component,
        template_hash=name_suffix(10),
    )
    deployment.resource_version = store.next_rv()
    store.deployments[deployment.name] = deployment
    return deployment
