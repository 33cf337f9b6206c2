"""split-planes: gloo and certgen in ``mgmt``; ``edge`` runs proxies only, dials mgmt's gloo, and mounts a
copy of gloo-mtls-certs that a sync tool (kubed's config-syncer stand-in) writes after a delay."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from gloomon.domain.model import Component
from gloomon.lab import Lab, LabFleet
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.pods.process import LabStartError
from gloomon.lab.pods.runtime import PodRuntime
from gloomon.lab.secret_sync import ORIGIN_ANNOTATION, ORIGIN_CLUSTER_LABEL, SYNC_MANAGER
from tests.conftest import QUICK_KUBELET, Eventually
from tests.lab.probes import active_secrets, bundle_state, secret_state, stats
from tests.lab.test_fleet_two_clusters import run_kubectl
from tests.lab.test_lifecycle import _alive

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
SYNC_DELAY = 0.5


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fleet() -> AsyncIterator[LabFleet]:
    async with LabFleet(
        "split-planes", kubelet_delay=QUICK_KUBELET, sync_delay=SYNC_DELAY, rotation_duration=0.5
    ) as running:
        yield running


async def _post(lab: Lab, fault: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    """``POST /lab/v1/faults/<fault>`` on ``lab``'s own API server, with its own token."""
    assert lab.api is not None
    context = ssl.create_default_context(cadata=lab.api.ca_pem.decode())
    headers = {"Authorization": f"Bearer {lab.token}"}
    url = f"{lab.api_url}/lab/v1/faults/{fault}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, ssl=context, headers=headers, json=body) as r,
    ):
        return r.status, await r.json(content_type=None)


async def _fault(lab: Lab, fault: str, body: dict[str, object]) -> dict[str, object]:
    status, answer = await _post(lab, fault, body)
    assert status == 200, answer
    return answer


async def _edge_in_sync(fleet: LabFleet) -> bool:
    """Every edge pod's Envoy holds the bundle and leaf of the management cluster's secret."""
    mgmt, edge = fleet.labs["mgmt"], fleet.labs["edge"]
    for pod in edge.pods():
        if bundle_state(await active_secrets(edge, pod)) != secret_state(mgmt):
            return False
    return True


async def test_the_edge_runs_proxies_only_and_no_certgen(fleet: LabFleet, kubectl: Path) -> None:
    mgmt, edge = fleet.labs["mgmt"], fleet.labs["edge"]
    assert [mgmt.store.pods[p].component for p in mgmt.pods()] == [Component.GLOO]
    assert {edge.store.pods[p].component for p in edge.pods()} == {Component.GATEWAY_PROXY, Component.EXTAUTH}
    assert edge.store.cronjob is None and not edge.store.jobs and mgmt.store.cronjob is not None
    code, out, err = await run_kubectl(
        kubectl,
        fleet.kubeconfig_path,
        "--context",
        "edge",
        "get",
        "cronjobs,jobs,pods",
        "-n",
        "gloo-system",
        "-o",
        "name",
    )
    assert code == 0, err
    assert sorted(out.split()) == sorted(f"pod/{p}" for p in edge.pods())
    # the user made gloo an ExternalName for the management gloo: the bootstrap's hostname still resolves
    code, out, err = await run_kubectl(
        kubectl, fleet.kubeconfig_path, "--context", "edge", "get", "svc", "-n", "gloo-system", "--no-headers"
    )
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()}
    assert rows["gloo"] == ["ExternalName", "<none>", "gloo-xds.mgmt.example.internal"]
    assert set(rows) == {"gloo", "gateway-proxy", "extauth"}


async def test_edge_envoys_link_to_the_management_gloo(fleet: LabFleet, eventually: Eventually) -> None:
    mgmt, edge = fleet.labs["mgmt"], fleet.labs["edge"]
    gloo = mgmt.pods(Component.GLOO)[0]
    for pod in edge.pods():
        found = await eventually(
            lambda pod=pod: stats(edge, pod, r"cluster\.xds_cluster\.ssl\.handshake$"),
            lambda s: s.get("cluster.xds_cluster.ssl.handshake", 0) >= 1,
            what=f"a TLS handshake from {pod} to gloo",
        )
        assert found
    # mgmt runs no client of its own: every handshake its gloo terminates comes from the edge cluster
    listener = await stats(mgmt, gloo, r"listener\.0\.0\.0\.0_9977\.ssl\.handshake$")
    assert listener["listener.0.0.0.0_9977.ssl.handshake"] >= len(edge.pods(Component.GATEWAY_PROXY))


async def test_the_copy_is_kubeds_and_follows_a_rotation_after_the_delay(
    fleet: LabFleet, kubectl: Path, eventually: Eventually
) -> None:
    mgmt, edge = fleet.labs["mgmt"], fleet.labs["edge"]
    code, out, err = await run_kubectl(
        kubectl,
        fleet.kubeconfig_path,
        "--context",
        "edge",
        "get",
        "secret",
        "gloo-mtls-certs",
        "-o",
        "json",
        "--show-managed-fields",
    )
    assert code == 0, err
    meta = json.loads(out)["metadata"]
    assert meta["labels"][ORIGIN_CLUSTER_LABEL] == "mgmt"
    assert json.loads(meta["annotations"][ORIGIN_ANNOTATION])["name"] == "gloo-mtls-certs"
    assert meta["managedFields"][0]["manager"] == SYNC_MANAGER
    before = secret_state(edge)
    await (await mgmt.rotate_now())
    assert secret_state(mgmt) != before
    await eventually(lambda: secret_state(edge) == secret_state(mgmt), timeout=15, what="the copy to follow")
    source, copy = mgmt.store.secret, edge.store.secret
    assert source is not None and copy is not None
    assert (copy.updated - source.updated).total_seconds() >= SYNC_DELAY * 0.99  # written after the delay
    await eventually(lambda: _edge_in_sync(fleet), timeout=15, what="edge Envoys to load the new copy")


async def test_a_frozen_sync_leaves_the_edge_on_the_old_ca_until_it_resumes(
    fleet: LabFleet, eventually: Eventually
) -> None:
    mgmt, edge = fleet.labs["mgmt"], fleet.labs["edge"]
    await _fault(edge, "freeze-sync", {"enabled": True})
    before = secret_state(edge)
    await (await mgmt.rotate_now())
    assert secret_state(mgmt)[0] != before[0] and secret_state(edge) == before  # the copy lags behind
    # a new connection from the edge (its Envoy restarted) now fails: gloo's new leaf is from a CA it lacks
    proxy = edge.pods(Component.GATEWAY_PROXY)[0]
    await edge.restart_container(proxy)
    await eventually(
        lambda: stats(edge, proxy, r"cluster\.xds_cluster\.ssl\.fail_verify_error$"),
        lambda s: s.get("cluster.xds_cluster.ssl.fail_verify_error", 0) >= 1,
        timeout=15,
        what="the edge proxy to reject gloo's new certificate",
    )
    await _fault(edge, "freeze-sync", {"enabled": False})
    await eventually(lambda: secret_state(edge) == secret_state(mgmt), timeout=15, what="the copy to resume")
    await eventually(lambda: _edge_in_sync(fleet), timeout=15, what="edge Envoys to load the resumed copy")


async def test_sync_lag_and_a_removed_copy(fleet: LabFleet, kubectl: Path) -> None:
    edge = fleet.labs["edge"]
    status, answer = await _post(edge, "rotate", {})
    assert (status, answer["message"]) == (
        400,
        "fault rotate: edge runs no certgen (its management cluster mgmt does)",
    )
    assert (await _fault(edge, "sync-lag", {"seconds": 120}))["delay"] == 120.0
    assert fleet.syncs["edge"].delay == 120.0
    await _fault(edge, "sync-lag", {"seconds": SYNC_DELAY})
    await _fault(edge, "remove-copy", {"enabled": True})
    code, _, err = await run_kubectl(
        kubectl,
        fleet.kubeconfig_path,
        "--context",
        "edge",
        "get",
        "secret",
        "gloo-mtls-certs",
        "-n",
        "gloo-system",
    )
    assert code != 0 and "NotFound" in err
    for pod in edge.pods():  # mounted files stay: the running Envoys keep their certificates
        assert bundle_state(await active_secrets(edge, pod)) != ((), "", None)
    await _fault(edge, "remove-copy", {"enabled": False})
    assert edge.store.secret is not None and secret_state(edge) == secret_state(fleet.labs["mgmt"])


async def test_a_cluster_that_fails_to_start_stops_the_whole_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    start = PodRuntime.start

    async def extauth_fails(self: PodRuntime, secret: SecretData, **kwargs: bool) -> None:
        if self.spec.component is Component.EXTAUTH:
            raise LabStartError(f"pod {self.name}: no room")
        await start(self, secret, **kwargs)

    monkeypatch.setattr(PodRuntime, "start", extauth_fails)
    fleet = LabFleet("split-planes", kubelet_delay=QUICK_KUBELET)
    with pytest.raises(
        LabStartError, match=r"the fleet \(split-planes\) did not start: .*extauth-.*: no room"
    ):
        await fleet.start()
    pids = fleet.envoy_pids()
    assert len(pids) == 3  # mgmt's gloo and edge's two gateway-proxies had started
    assert not [pid for pid in pids if _alive(pid)]
    assert not fleet.workdir.exists()
