"""The API façade serves every namespace of its cluster as a real apiserver does: namespaced lists and gets
per namespace (an empty list, but a 404 get, in a namespace that does not exist), cluster-wide lists for
``kubectl get -A``, watches over one namespace or all, and the real kubectl's NAMESPACE column.

These run the façade alone over a hand-filled :class:`ClusterStore` (no Envoys): what is checked is the
API's answer, not the pods behind it (``test_kube_gateway_namespace.py`` checks a lab's second namespace)."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from gloomon.domain.model import Component
from gloomon.lab.api.server import ApiServer
from gloomon.lab.cluster import certs
from gloomon.lab.cluster.store import ClusterStore, NamespaceStore, Pod
from gloomon.lab.kubeconfig import write_kubeconfigs
from gloomon.lab.pods.deployments import SPECS, VARIETY, ComponentSpec, make_deployment, pod_containers

pytestmark = pytest.mark.asyncio(loop_scope="module")
NS, APPS = "gloo-system", "apps"
TOKEN = "namespaces-test-token"


def _pod(store: NamespaceStore, spec: ComponentSpec) -> Pod:
    deployment = make_deployment(store, spec, 1)
    rs = f"{deployment.name}-{deployment.template_hash}"
    pod = Pod(
        name=f"{rs}-abcde",
        namespace=store.namespace,
        labels=dict(spec.pod_labels),
        containers=pod_containers(spec),
        pod_ip=store.next_pod_ip(),
        component=spec.component,
        owner=("ReplicaSet", rs, deployment.uid),
    )
    return store.add_pod(pod)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("namespaces")


@pytest.fixture(scope="module")
def kubeconfig(api: ApiServer, workdir: Path) -> Path:
    """A kubeconfig for the façade, its context's namespace the release namespace."""
    path = workdir / "kubeconfig"
    write_kubeconfigs(
        api,
        path,
        workdir / "kubeconfig-exec",
        context="namespaces",
        token=TOKEN,
        namespace=NS,
        token_validity=30.0,
    )
    return path


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(workdir: Path) -> AsyncIterator[ApiServer]:
    cluster = ClusterStore()
    release, apps = cluster.add_namespace(NS), cluster.add_namespace(APPS, {"team": "apps"})
    secret = certs.generate(NS).secret()
    release.write_secret(secret)
    apps.write_secret(secret, manager="kubed")
    _pod(release, SPECS[Component.GLOO])
    _pod(release, SPECS[Component.GATEWAY_PROXY])
    _pod(apps, next(s for s in VARIETY if s.component is Component.KUBE_GATEWAY))
    server = ApiServer(cluster, NS, TOKEN, workdir / "apiserver", certs.tls_server_pair())
    await server.start()
    yield server
    await server.stop()


async def _get(api: ApiServer, path: str) -> tuple[int, Any]:
    ctx = ssl.create_default_context(cadata=api.ca_pem.decode())
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession() as session, session.get(api.url + path, headers=headers, ssl=ctx) as r:
        return r.status, json.loads(await r.text())


def _names(listing: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in listing["items"]]


async def test_namespaced_lists_hold_only_their_namespaces_objects(api: ApiServer) -> None:
    for ns in (NS, APPS):
        for path in (
            f"/api/v1/namespaces/{ns}/pods",
            f"/api/v1/namespaces/{ns}/secrets",
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            f"/apis/apps/v1/namespaces/{ns}/replicasets",
            f"/api/v1/namespaces/{ns}/events",
            f"/api/v1/namespaces/{ns}/services",
        ):
            status, listing = await _get(api, path)
            assert status == 200 and listing["items"], path
            assert {n for n, _ in _names(listing)} == {ns}, path
    _, apps_services = await _get(api, f"/api/v1/namespaces/{APPS}/services")
    (gateway,) = apps_services["items"]  # the gateway2 chart's Service, beside its Deployment
    assert (gateway["metadata"]["name"], gateway["spec"]["type"]) == ("gloo-proxy-http", "LoadBalancer")
    assert [(p["port"], p["targetPort"]) for p in gateway["spec"]["ports"]] == [(8080, 8080)]
    _, apps_pods = await _get(api, f"/api/v1/namespaces/{APPS}/pods")
    assert [
        p["metadata"]["labels"].get("gateway.networking.k8s.io/gateway-name") for p in apps_pods["items"]
    ] == ["http"]


async def test_cluster_wide_lists_hold_every_namespaces_objects(api: ApiServer) -> None:
    for path in (
        "/api/v1/pods",
        "/api/v1/secrets",
        "/api/v1/events",
        "/apis/apps/v1/deployments",
        "/apis/apps/v1/replicasets",
        "/api/v1/services",
    ):
        status, listing = await _get(api, path)
        assert status == 200, path
        assert {n for n, _ in _names(listing)} == {NS, APPS}, path
    _, secrets = await _get(api, "/api/v1/secrets")
    assert _names(secrets) == [(APPS, "gloo-mtls-certs"), (NS, "gloo-mtls-certs")]  # by namespace, then name
    status, namespaces = await _get(api, "/api/v1/namespaces")
    assert [n["metadata"]["name"] for n in namespaces["items"]] == [APPS, NS]
    assert namespaces["items"][0]["metadata"]["labels"] == {
        "kubernetes.io/metadata.name": APPS,
        "team": "apps",
    }


async def test_an_unknown_namespace_lists_empty_and_its_gets_are_404(api: ApiServer) -> None:
    status, listing = await _get(api, "/api/v1/namespaces/nowhere/pods")
    assert (status, listing["items"]) == (200, [])  # as a real apiserver answers a list there
    _, pods = await _get(api, f"/api/v1/namespaces/{NS}/pods")
    name = pods["items"][0]["metadata"]["name"]
    for path, kind in (
        (f"/api/v1/namespaces/{APPS}/pods/{name}", "pods"),  # exists, but in another namespace
        ("/api/v1/namespaces/nowhere/secrets/gloo-mtls-certs", "secrets"),
        ("/api/v1/namespaces/nowhere", "namespaces"),
        (f"/api/v1/namespaces/nowhere/pods/{name}/log", "pods"),
    ):
        status, body = await _get(api, path)
        assert (status, body["reason"]) == (404, "NotFound"), path
        assert body["message"].startswith(f"{kind} "), path
    status, apps = await _get(api, f"/api/v1/namespaces/{APPS}")
    assert (status, apps["metadata"]["name"]) == (200, APPS)


async def test_a_watch_follows_one_namespace_or_all(api: ApiServer) -> None:
    async def first_events(path: str) -> list[tuple[str, str]]:
        status, _ = await _get(api, path.split("?")[0])
        assert status == 200
        ctx = ssl.create_default_context(cadata=api.ca_pem.decode())
        headers = {"Authorization": f"Bearer {TOKEN}"}
        seen: list[tuple[str, str]] = []
        async with aiohttp.ClientSession() as s, s.get(api.url + path, headers=headers, ssl=ctx) as r:
            while len(seen) < 3:
                try:
                    line = await asyncio.wait_for(r.content.readline(), 2.0)
                except TimeoutError:
                    break
                meta = json.loads(line)["object"]["metadata"]
                seen.append((meta["namespace"], meta["name"]))
        return seen

    everywhere = await first_events("/api/v1/pods?watch=true&timeoutSeconds=3")
    assert {n for n, _ in everywhere} == {NS, APPS} and len(everywhere) == 3
    only_apps = await first_events(f"/api/v1/namespaces/{APPS}/pods?watch=true&timeoutSeconds=3")
    assert [n for n, _ in only_apps] == [APPS]


async def test_kubectl_reads_one_namespace_or_all_with_the_namespace_column(
    api: ApiServer, kubeconfig: Path, kubectl: Path
) -> None:
    async def run(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            str(kubectl),
            "--kubeconfig",
            str(kubeconfig),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    apps = (await run("-n", APPS, "get", "pods")).splitlines()
    assert apps[0].split()[:2] == ["NAME", "READY"] and len(apps) == 2
    assert apps[1].startswith("gloo-proxy-http-")
    every = [line.split() for line in (await run("get", "pods", "-A")).splitlines()]
    assert every[0][:2] == ["NAMESPACE", "NAME"]  # kubectl adds the column for -A
    assert sorted({row[0] for row in every[1:]}) == [APPS, NS] and len(every) == 4
    secrets = [line.split()[:2] for line in (await run("get", "secrets", "--all-namespaces")).splitlines()]
    assert secrets[1:] == [[APPS, "gloo-mtls-certs"], [NS, "gloo-mtls-certs"]]
    namespaces = [line.split()[0] for line in (await run("get", "namespaces")).splitlines()]
    assert namespaces == ["NAME", APPS, NS]
