"""Every proxy Gloo can deploy, discovered from pod lists as the API sends them (real-clusters.md §4):
classic proxies of any ``gatewayProxies.<name>``, user ``extraContainers`` first, dataplanePerProxy
extauth / rate-limit, Gateway API kube-gateways (no ``gloo`` label on the pod), an extauth sidecar."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gloomon.domain.cells import name_words, short_pod
from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.model import Component, EnvoyStats, TargetRef
from gloomon.sources.bundle.collect import log_containers
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.logs.follow import containers_to_follow
from tests.domain.certs import rotation
from tests.domain.fleet_helpers import fetch, secret, snap

_REPO = "quay.io/solo-io"


def _pod(
    name: str, labels: dict[str, str], containers: list[tuple[str, str]], namespace: str = "gloo-system"
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": c, "image": image} for c, image in containers]},
        "status": {
            "phase": "Running",
            "startTime": "2026-11-25T10:00:00Z",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


PUBLIC_GW = _pod(
    "public-gw-6d5f8c7b9-q8x2v",
    {"gloo": "gateway-proxy", "gateway-proxy-id": "public-gw", "gateway-proxy": "live"},
    [
        ("log-shipper", "docker.io/fluent/fluent-bit:3.1"),  # a user extraContainers entry, first
        ("public-gw", f"{_REPO}/gloo-envoy-wrapper:1.18.2"),
        ("sds", f"{_REPO}/sds:1.18.2"),
    ],
    namespace="edge",
)
DEFAULT_GW = _pod(
    "gateway-proxy-7d9f8b6c5-x2k4p",
    {"gloo": "gateway-proxy", "gateway-proxy-id": "gateway-proxy"},
    [
        ("gateway-proxy", f"{_REPO}/gloo-ee-envoy-wrapper:1.18.2"),
        ("sds", f"{_REPO}/sds-ee:1.18.2"),
        ("extauth", f"{_REPO}/extauth-ee:1.18.2"),  # extAuth.envoySidecar=true
    ],
)
EXTAUTH_PER_PROXY = _pod(
    "extauth-public-gw-5c6d7-h5j2l",
    {"gloo": "extauth-public-gw", "app": "gloo"},
    [
        ("extauth", f"{_REPO}/extauth-ee:1.18.2"),
        ("envoy-sidecar", f"{_REPO}/gloo-ee-envoy-wrapper:1.18.2"),
        ("sds", f"{_REPO}/sds-ee:1.18.2"),
    ],
)
RATE_LIMIT_PER_PROXY = _pod(
    "rate-limit-public-gw-8f9a-k3m4n",
    {"gloo": "rate-limit-public-gw", "app": "gloo"},
    [
        ("rate-limit", f"{_REPO}/rate-limit-ee:1.18.2"),
        ("envoy-sidecar", f"{_REPO}/gloo-ee-envoy-wrapper:1.18.2"),
    ],
)
KUBE_GATEWAY = _pod(
    "gloo-proxy-http-7b8c9d-z9y8x",
    {
        "app.kubernetes.io/name": "gloo-proxy-http",
        "app.kubernetes.io/instance": "http",
        "gateway.networking.k8s.io/gateway-name": "http",
    },
    [("gloo-gateway", f"{_REPO}/gloo-envoy-wrapper:1.19.0"), ("sds", f"{_REPO}/sds:1.19.0")],
    namespace="apps",
)
ISTIO_GATEWAY = _pod(  # another implementation's Gateway API proxy: not Gloo's
    "mesh-gw-istio-6f7d-abcde",
    {"gateway.networking.k8s.io/gateway-name": "mesh-gw"},
    [("istio-proxy", "docker.io/istio/proxyv2:1.24.0")],
    namespace="apps",
)
GLOO = _pod(
    "gloo-5b6c7d8e9-a1b2c",
    {"gloo": "gloo", "app": "gloo"},
    [
        ("envoy-sidecar", f"{_REPO}/gloo-envoy-wrapper:1.18.2"),
        ("sds", f"{_REPO}/sds:1.18.2"),
        ("gloo", f"{_REPO}/gloo:1.18.2"),
    ],
)


def _split() -> dict[Component, list[Any]]:
    # the two lists of a poll (`gloo` and the Gateway API's label), merged: nothing counted twice
    merged = kube_objects.merge_lists(
        [
            {"items": [GLOO, DEFAULT_GW, PUBLIC_GW, EXTAUTH_PER_PROXY, RATE_LIMIT_PER_PROXY]},
            {"items": [KUBE_GATEWAY, ISTIO_GATEWAY, KUBE_GATEWAY]},
        ]
    )
    by_component, certgen = kube_objects.split_pods(merged)
    assert certgen == []
    return by_component


def test_every_proxy_is_found_and_named_after_itself() -> None:
    pods = _split()
    seen = {
        component: [(p.namespace, p.name, p.proxy, p.envoy_container) for p in found]
        for component, found in pods.items()
    }
    assert seen == {
        Component.GLOO: [("gloo-system", "gloo-5b6c7d8e9-a1b2c", None, "envoy-sidecar")],
        Component.GATEWAY_PROXY: [
            ("edge", "public-gw-6d5f8c7b9-q8x2v", "public-gw", "public-gw"),
            ("gloo-system", "gateway-proxy-7d9f8b6c5-x2k4p", "gateway-proxy", "gateway-proxy"),
        ],
        Component.EXTAUTH: [("gloo-system", "extauth-public-gw-5c6d7-h5j2l", "public-gw", "envoy-sidecar")],
        Component.RATE_LIMIT: [
            ("gloo-system", "rate-limit-public-gw-8f9a-k3m4n", "public-gw", "envoy-sidecar")
        ],
        Component.KUBE_GATEWAY: [("apps", "gloo-proxy-http-7b8c9d-z9y8x", "http", "gloo-gateway")],
    }
    assert pods[Component.GATEWAY_PROXY][1].extauth_sidecar
    assert not pods[Component.GATEWAY_PROXY][0].extauth_sidecar


def test_the_envoy_container_is_found_by_image_when_named_otherwise() -> None:
    renamed = _pod(
        "edge-7c8d-q1w2e",
        {"gloo": "gateway-proxy", "gateway-proxy-id": "edge"},
        [("sidecar", "docker.io/x/y:1"), ("proxy", f"{_REPO}/gloo-envoy-wrapper@sha256:{'a' * 64}")],
    )
    (pod,) = kube_objects.split_pods({"items": [renamed]})[0][Component.GATEWAY_PROXY]
    assert pod.envoy_container == "proxy"


def test_logs_follow_the_containers_that_exist() -> None:
    pods = _split()
    public, default = pods[Component.GATEWAY_PROXY]
    assert containers_to_follow(public) == ("public-gw", "sds")  # never the user's log-shipper
    assert containers_to_follow(default) == ("gateway-proxy", "sds", "extauth")
    assert containers_to_follow(pods[Component.KUBE_GATEWAY][0]) == ("gloo-gateway", "sds")
    assert log_containers(public) == ("public-gw", "sds")
    assert log_containers(pods[Component.EXTAUTH][0]) == ("extauth", "envoy-sidecar", "sds")


def test_deployments_of_any_proxy_name_count_for_their_component() -> None:
    def deployment(labels: dict[str, str], ready: int) -> dict[str, Any]:
        return {"metadata": {"labels": labels}, "status": {"readyReplicas": ready}}

    listed = {
        "items": [
            deployment({"gloo": "gateway-proxy", "gateway-proxy-id": "public-gw"}, 2),
            deployment({"gloo": "extauth-public-gw"}, 1),
            deployment({"gloo": "kube-gateway", "gateway.networking.k8s.io/gateway-name": "http"}, 0),
            deployment({"gloo": "discovery"}, 1),
        ]
    }
    assert kube_objects.deployment_components(listed) == {
        Component.GATEWAY_PROXY: 2,
        Component.EXTAUTH: 1,
        Component.KUBE_GATEWAY: 0,
    }


def _ref(obj: dict[str, Any], component: Component) -> TargetRef:
    (pod,) = [p for p in kube_objects.split_pods({"items": [obj]})[0][component]]
    return TargetRef("lab", pod.namespace, component, pod.name, "http://127.0.0.1:1", pod_info=pod)


def test_names_and_hints_use_the_proxy_and_its_container() -> None:
    rot = rotation()
    leaf, cas = rot.leaf_new.info, [rot.ca_new.info]
    public = _ref(PUBLIC_GW, Component.GATEWAY_PROXY)
    kube = _ref(KUBE_GATEWAY, Component.KUBE_GATEWAY)
    per_proxy = _ref(EXTAUTH_PER_PROXY, Component.EXTAUTH)
    assert [name_words(r) for r in (public, kube, per_proxy)] == [
        "public-gw",
        "kube-gateway/http",
        "extauth-public-gw",
    ]
    assert [short_pod(r) for r in (public, kube, per_proxy)] == [
        "6d5f8c7b9-q8x2v",
        "7b8c9d-z9y8x",
        "5c6d7-h5j2l",
    ]
    draining = replace(fetch("gateway-proxy-x", leaf, cas, state="DRAINING"), target=public)
    cut = fetch("kube-gateway-x", leaf, cas)
    cut = replace(cut, target=kube, stats=replace(cut.stats, control_plane_connected=False))
    assert isinstance(cut.stats, EnvoyStats)
    result = snap([draining, cut], [secret(leaf, cas)])
    hints = {(f.code, f.pod): f.hint for f in result.findings}
    live_hint = hints[("envoy-not-live", public.pod)]
    assert f"kubectl -n edge logs {public.pod} -c public-gw" in live_hint
    assert "-c gateway-proxy" not in live_hint
    # a kube-gateway is a client of gloo: its control-plane connection is judged like gateway-proxy's
    (kube_status,) = [t for t in result.targets if t.ref.component is Component.KUBE_GATEWAY]
    assert kube_status.xds is not None and not kube_status.xds.healthy
    doc = snapshot_to_dict(result)
    rows = {(t["component"], t["proxy"], t["namespace"], t["envoy_container"]) for t in doc["targets"]}
    assert rows == {
        ("gateway-proxy", "public-gw", "edge", "public-gw"),
        ("kube-gateway", "http", "apps", "gloo-gateway"),
    }
