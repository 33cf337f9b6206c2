"""Which of Gloo's proxies a pod or Deployment is, and which of its containers runs the Envoy, from the
labels and containers Gloo's charts give them (reference/real-clusters.md §4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gloomon.domain.model import Component

#: the pod label of Kubernetes Gateway API proxies (a kube-gateway pod carries no ``gloo`` label)
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
#: the container the gateway2 chart runs a kube-gateway's Envoy in (its ``.Chart.Name``)
KUBE_GATEWAY_CONTAINER = "gloo-gateway"
#: classic proxies: ``gloo: gateway-proxy`` on every ``gatewayProxies.<name>``, the name in this label
PROXY_ID_LABEL = "gateway-proxy-id"
#: Enterprise ``dataplanePerProxy``: extauth / rate-limit per proxy, labelled ``gloo: <component>-<proxy>``
_PER_PROXY = (Component.EXTAUTH, Component.RATE_LIMIT)


def classify(labels: Mapping[str, Any], containers: tuple[str, ...]) -> tuple[Component, str | None] | None:
    """(component, proxy name) of a pod or Deployment from its labels (real-clusters.md §4), or None
    when it is none of Gloo's mTLS components.

    ``gloo: gateway-proxy`` (name from ``gateway-proxy-id``), ``gloo: extauth-<proxy>`` /
    ``rate-limit-<proxy>`` (dataplanePerProxy), ``gloo: kube-gateway`` (the gateway2 chart's
    Deployment), and a pod with the Gateway API's ``gateway-name`` label and a ``gloo-gateway``
    container (the gateway2 chart's pod, which has no ``gloo`` label; other implementations' gateway
    pods carry that label too, never that container).
    """
    value = str(labels.get("gloo", ""))
    gateway = labels.get(GATEWAY_NAME_LABEL)
    gateway_name = str(gateway) if gateway else None
    if value == Component.GATEWAY_PROXY:
        return Component.GATEWAY_PROXY, str(labels.get(PROXY_ID_LABEL) or Component.GATEWAY_PROXY)
    if value == Component.KUBE_GATEWAY:
        return Component.KUBE_GATEWAY, gateway_name
    component = Component.parse(value)
    if component is not None:
        return component, None
    for per_proxy in _PER_PROXY:
        proxy = value.removeprefix(f"{per_proxy}-")
        if proxy != value and proxy:
            return per_proxy, proxy
    if not value and gateway_name and KUBE_GATEWAY_CONTAINER in containers:
        return Component.KUBE_GATEWAY, gateway_name
    return None


def envoy_container_of(
    component: Component, proxy: str | None, containers: tuple[str, ...], images: tuple[str, ...]
) -> str | None:
    """The container running the pod's Envoy, as the charts name it: ``envoy-sidecar`` (gloo, extauth,
    rate-limit), the proxy's own name for a classic proxy (``public-gw``; ``gateway-proxy`` by default),
    ``gloo-gateway`` for a kube-gateway; else the container running an ``*envoy-wrapper`` image (user
    ``extraContainers`` may come first). None when the spec lists none of them."""
    if component in (Component.GLOO, Component.EXTAUTH, Component.RATE_LIMIT):
        named: tuple[str, ...] = ("envoy-sidecar",)
    elif component is Component.KUBE_GATEWAY:
        named = (KUBE_GATEWAY_CONTAINER,)
    else:
        named = tuple(dict.fromkeys(n for n in (proxy, str(Component.GATEWAY_PROXY)) if n))
    for name in named:
        if name in containers:
            return name
    if len(images) == len(containers):
        for name, image in zip(containers, images, strict=True):
            repository = image.rsplit("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image
            if repository.rsplit("/", 1)[-1].endswith("envoy-wrapper"):
                return name
    return None
