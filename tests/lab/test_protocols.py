"""The lab's links speak production's protocols — gRPC SDS from each pod's sds, ADS from gloo, extauth's and
rate-limit's processes streaming through their sidecars, no health checks (real-clusters.md §1–2) — as the
real Envoys report them through their admin API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.lab.pods.ads import CLUSTER_TYPE, LISTENER_TYPE
from gloomon.lab.pods.bootstrap import SDS_CLUSTERS
from gloomon.lab.pods.sds import snapshot_version
from tests.lab.probes import admin_get, admin_json, stats

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


def _clusters(dump: dict) -> list[dict]:
    for config in dump["configs"]:
        if config["@type"].endswith("ClustersConfigDump"):
            static = [c["cluster"] for c in config.get("static_clusters", [])]
            dynamic = [c["cluster"] for c in config.get("dynamic_active_clusters", [])]
            return static + dynamic
    raise AssertionError("no clusters in /config_dump")


async def test_every_pod_gets_its_secrets_over_grpc_sds(healthy_lab: Lab) -> None:
    lab = healthy_lab
    assert lab.store.secret is not None
    version = snapshot_version(lab.store.secret.data)
    for pod in lab.pods():
        component = lab.runtime(pod).spec.component
        counters = await stats(lab, pod, r"^sds\.")
        for secret in ("server_cert", "validation_context"):
            assert counters[f"sds.{secret}.control_plane.connected_state"] == 1, (pod, secret)
            assert counters[f"sds.{secret}.update_success"] >= 1, (pod, secret)
            assert counters[f"sds.{secret}.update_rejected"] == 0, (pod, secret)
        text = await admin_get(lab, pod, r"/stats?filter=^sds\..*version_text")
        assert text.count(f'"{version}"') == 2, (pod, text)
        # Gloo's SDS cluster for this component, STATIC on the pod's loopback 8234, over HTTP/2.
        sds_cluster = SDS_CLUSTERS[component]
        clusters = {c["name"]: c for c in _clusters(await admin_json(lab, pod, "/config_dump"))}
        address = clusters[sds_cluster]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        assert address["address"]["socket_address"]["port_value"] == lab.runtime(pod).pod.port_map[8234]
        secrets = await admin_json(lab, pod, "/config_dump?resource=dynamic_active_secrets")
        assert {c["version_info"] for c in secrets["configs"]} == {version}, pod
        # every stream ACKed the one snapshot
        engine = lab.runtime(pod).sds.engine
        assert engine.nodes and all(
            state.acked == version and state.nacks == 0
            for states in engine.nodes.values()
            for state in states.values()
        ), pod
    gw = lab.pods(Component.GATEWAY_PROXY)[0]
    assert f"{gw}.{lab.namespace}" in lab.runtime(gw).sds.engine.nodes


async def test_gateway_proxies_get_their_config_over_ads_and_no_cluster_has_health_checks(
    healthy_lab: Lab, eventually: Callable[..., Any]
) -> None:
    lab = healthy_lab
    for pod in lab.pods():
        clusters = _clusters(await admin_json(lab, pod, "/config_dump"))
        assert clusters and not [c["name"] for c in clusters if "health_checks" in c], pod
    plane = lab.control_plane
    for pod in lab.pods(Component.GATEWAY_PROXY):
        assert (await stats(lab, pod, r"^control_plane\.connected_state$"))[
            "control_plane.connected_state"
        ] == 1
        states = plane.engine.nodes[f"{pod}.{lab.namespace}"]
        assert {t for t, s in states.items() if s.acked and not s.nacks} == {CLUSTER_TYPE, LISTENER_TYPE}
        dump = await admin_json(lab, pod, "/config_dump?resource=dynamic_listeners")
        assert [c["name"] for c in dump["configs"]] == ["listener-::-8080"], pod
        port = lab.runtime(pod).pod.port_map[8080]
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as resp:
            assert resp.status == 200  # routed to the upstream gloo's CDS named
    # gloo's sidecar carries one connection per client: 2 gateway-proxies, extauth's and rate-limit's process
    gloo = lab.pods(Component.GLOO)[0]
    await eventually(
        lambda: stats(lab, gloo, r"^cluster\.gloo_xds_cluster\.upstream_cx_active$"),
        lambda counters: counters.get("cluster.gloo_xds_cluster.upstream_cx_active") == 4,
        what="gloo_xds_cluster's 4 active connections",
    )
    for pod in lab.pods(Component.EXTAUTH) + lab.pods(Component.RATE_LIMIT):
        client = lab.runtime(pod).client
        assert client is not None and client.streaming, pod
        assert (await stats(lab, pod, r"^cluster\.xds_cluster\.upstream_cx_active$"))[
            "cluster.xds_cluster.upstream_cx_active"
        ] == 1
