"""The lab's links speak production's protocols: gRPC SDS from each pod's sds (real-clusters.md §2), as the
real Envoys report them through their admin API."""

from __future__ import annotations

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
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
