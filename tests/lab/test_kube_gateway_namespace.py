"""The variety lab's kube-gateway runs as Gloo 1.19+ runs one (real-clusters.md §4): in its Gateway's
namespace (``apps``), mounting that namespace's copy of ``gloo-mtls-certs``, which gloo's own Gateway
deployer renders (the lab's :class:`GatewayDeployer`: server-side applied by ``solo.io/gloo-gateway``,
owned by the Gateway ``apps/http``) at once after each write of the release namespace's secret, while
gloo's process runs. So the copy, and the kube-gateway's real Envoy, follow a rotation only while gloo
runs: with gloo's process down, the Envoy keeps the old certificate while gloo-system's move on. Seen
through the API, the fault endpoint and the real kubectl (``-n apps``, ``-A``, logs and port-forward in
``apps``)."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography import x509

from gloomon.domain.model import SECRET_NAME, Component
from gloomon.domain.parse.x509 import envoy_serial
from gloomon.lab import Lab
from gloomon.lab.gateway_deployer import DEPLOYER_MANAGER
from gloomon.lab.secret_sync import SYNC_ANNOTATION
from tests.lab.probes import active_secrets, bundle_state, get_certs, port_forward, run, serials

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
NS, APPS = "gloo-system", "apps"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", NS, variety=True, rotation_duration=0.5) as running:
        yield running


async def _request(lab: Lab, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    assert lab.api is not None
    ctx = ssl.create_default_context(cadata=lab.api.ca_pem.decode())
    headers = {"Authorization": f"Bearer {lab.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, lab.api_url + path, headers=headers, json=body, ssl=ctx) as response,
    ):
        return response.status, json.loads(await response.text())


async def _fault(lab: Lab, name: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await _request(lab, "POST", f"/lab/v1/faults/{name}", body)
    assert status == 200, answer
    return answer


def _kube_gateway(lab: Lab) -> str:
    (pod,) = lab.pods(Component.KUBE_GATEWAY)
    return pod


def _leaf_serial(secret: dict[str, Any]) -> str:
    """The leaf serial (Envoy's spelling) of a Secret object as the API serves it."""
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    return envoy_serial(leaf.serial_number)


async def _secret(lab: Lab, namespace: str) -> dict[str, Any]:
    status, secret = await _request(lab, "GET", f"/api/v1/namespaces/{namespace}/secrets/{SECRET_NAME}")
    assert status == 200, secret
    return secret


async def _envoy_leaf(lab: Lab, pod: str) -> str:
    return bundle_state(await active_secrets(lab, pod))[1]


async def _rotate(lab: Lab) -> None:
    """A certgen run, to its end (its three writes of the release namespace's secret)."""
    await (await lab.rotate_now())


async def test_the_kube_gateway_runs_in_the_gateways_namespace_beside_gloos_rendered_copy(lab: Lab) -> None:
    _, apps_pods = await _request(lab, "GET", f"/api/v1/namespaces/{APPS}/pods")
    assert [p["metadata"]["name"] for p in apps_pods["items"]] == [_kube_gateway(lab)]
    assert apps_pods["items"][0]["metadata"]["namespace"] == APPS
    _, release_pods = await _request(lab, "GET", f"/api/v1/namespaces/{NS}/pods")
    assert _kube_gateway(lab) not in {p["metadata"]["name"] for p in release_pods["items"]}
    _, deployments = await _request(lab, "GET", f"/apis/apps/v1/namespaces/{APPS}/deployments")
    assert [d["metadata"]["name"] for d in deployments["items"]] == ["gloo-proxy-http"]

    source, copy = await _secret(lab, NS), await _secret(lab, APPS)
    assert copy["data"] == source["data"] and copy["type"] == "kubernetes.io/tls"
    # the gateway2 chart's Secret, applied by gloo's deployer with the Gateway as its controller owner
    (owner,) = copy["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "name": "http",
        "uid": lab.deployers[APPS].gateway_uid,
        "controller": True,
    }
    (fields,) = copy["metadata"]["managedFields"]
    assert (fields["manager"], fields["operation"]) == (DEPLOYER_MANAGER, "Apply")
    assert set(fields["fieldsV1"]["f:data"]) == {"f:ca.crt", "f:tls.crt", "f:tls.key"}
    assert "labels" not in copy["metadata"] and "annotations" not in copy["metadata"]  # no kubed marks
    assert SYNC_ANNOTATION not in source["metadata"].get("annotations", {})  # and no kubed rule on the source
    # the kube-gateway still dials the release namespace's gloo
    assert lab.runtime(_kube_gateway(lab)).gloo_namespace == NS
    _, state = await _request(lab, "GET", "/lab/v1/state")
    assert (state["namespace"], state["namespaces"]) == (NS, [APPS, NS])
    assert state["pods"][_kube_gateway(lab)]["namespace"] == APPS


async def test_the_copy_follows_each_write_of_the_source_at_once(
    lab: Lab, eventually: Callable[..., Any]
) -> None:
    pod, deployer = _kube_gateway(lab), lab.deployers[APPS]
    before, renders = await _envoy_leaf(lab, pod), deployer.renders
    await _rotate(lab)
    source = await _secret(lab, NS)
    assert _leaf_serial(source) != before
    # no sync delay: the copy equals the source as soon as certgen's last write is done
    assert (await _secret(lab, APPS))["data"] == source["data"]
    assert deployer.renders == renders + 3  # one apply per certgen write
    assert await eventually(lambda: _envoy_leaf(lab, pod), lambda leaf: leaf == _leaf_serial(source))


async def test_with_gloos_process_down_the_copy_freezes_and_catches_up_when_it_returns(
    lab: Lab, eventually: Callable[..., Any]
) -> None:
    pod, classic = _kube_gateway(lab), lab.pods(Component.GATEWAY_PROXY)[0]
    old = await _secret(lab, APPS)
    await _fault(lab, "gloo-process-down", {"enabled": True})
    try:
        await _rotate(lab)
        new = _leaf_serial(await _secret(lab, NS))
        await eventually(
            lambda: _envoy_leaf(lab, classic), lambda leaf: leaf == new, what="gloo-system's pickup"
        )
        assert (await _secret(lab, APPS))["data"] == old["data"]  # the copy stood still
        assert await _envoy_leaf(lab, pod) == _leaf_serial(old)  # and so did the kube-gateway
    finally:
        await _fault(lab, "gloo-process-down", {"enabled": False})
    assert (await _secret(lab, APPS))["data"] == (await _secret(lab, NS))["data"]  # gloo's start reconciles
    await eventually(lambda: _envoy_leaf(lab, pod), lambda leaf: leaf == new, what="the catch-up")


async def test_a_removed_copy_comes_back_at_gloos_next_reconcile(
    lab: Lab, eventually: Callable[..., Any]
) -> None:
    old = await _secret(lab, APPS)
    # gloo runs: the copy's delete event re-queues its Gateway, which applies it again (a new object)
    assert await _fault(lab, "remove-copy", {"enabled": True, "namespace": APPS}) == {
        "ok": True,
        "namespace": APPS,
        "owner": "Gateway apps/http",
    }
    back = await eventually(
        lambda: _request(lab, "GET", f"/api/v1/namespaces/{APPS}/secrets/{SECRET_NAME}"),
        lambda answer: answer[0] == 200,
        what="gloo to re-create the copy",
    )
    assert back[1]["metadata"]["uid"] != old["metadata"]["uid"] and back[1]["data"] == old["data"]

    # gloo down: nothing re-creates it, not even the next write of the source; gloo's start does
    await _fault(lab, "gloo-process-down", {"enabled": True})
    try:
        await _fault(lab, "remove-copy", {"enabled": True, "namespace": APPS})
        await _rotate(lab)
        status, gone = await _request(lab, "GET", f"/api/v1/namespaces/{APPS}/secrets/{SECRET_NAME}")
        assert (status, gone["reason"]) == (404, "NotFound")
        await _secret(lab, NS)  # the source stays
    finally:
        await _fault(lab, "gloo-process-down", {"enabled": False})
    assert (await _secret(lab, APPS))["data"] == (await _secret(lab, NS))["data"]


async def test_sync_faults_on_gloos_copy_say_what_makes_it(lab: Lab) -> None:
    for name, body in (("sync-lag", {"seconds": 7}), ("freeze-sync", {"enabled": True})):
        status, answer = await _request(lab, "POST", f"/lab/v1/faults/{name}", body | {"namespace": APPS})
        assert (status, answer["reason"]) == (400, "BadRequest"), name
        assert "gloo's Gateway deployer renders it (owner Gateway apps/http)" in answer["message"]
        assert "gloo-process-down" in answer["message"]
    for body in ({"enabled": True}, {"enabled": True, "namespace": "nowhere"}, {"namespace": 3}):
        status, answer = await _request(lab, "POST", "/lab/v1/faults/freeze-sync", body)
        assert (status, answer["reason"]) == (400, "BadRequest"), body
    assert lab.syncs == {}


async def test_kubectl_in_the_gateways_namespace_and_across_all(lab: Lab, kubectl: Path) -> None:
    apps = [line.split() for line in (await run(kubectl, lab, "get", "pods", namespace=APPS)).splitlines()]
    assert [row[0] for row in apps[1:]] == [_kube_gateway(lab)] and apps[1][1:3] == ["2/2", "Running"]
    every = [
        line.split() for line in (await run(kubectl, lab, "get", "pods", "-A", namespace=None)).splitlines()
    ]
    assert every[0][:2] == ["NAMESPACE", "NAME"]
    assert (APPS, _kube_gateway(lab)) in {(row[0], row[1]) for row in every[1:]}
    assert {row[1] for row in every[1:] if row[0] == NS} >= set(lab.pods(Component.GLOO))
    secrets = (await run(kubectl, lab, "get", "secrets", "-A", namespace=None)).splitlines()
    assert [line.split()[:2] for line in secrets if SECRET_NAME in line] == [
        [APPS, SECRET_NAME],
        [NS, SECRET_NAME],
    ]

    owner = "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}"
    made = "{.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation}"
    jsonpath = f"jsonpath={owner} {made} {{.type}}"
    described = await run(
        kubectl, lab, "get", "secret", SECRET_NAME, "--show-managed-fields", "-o", jsonpath, namespace=APPS
    )
    assert described == f"Gateway/http {DEPLOYER_MANAGER} Apply kubernetes.io/tls"

    sds = (await run(kubectl, lab, "logs", "deploy/gloo-proxy-http", "sds", namespace=APPS)).splitlines()
    assert any("sds server listening" in line for line in sds)
    status, _ = await _request(
        lab, "GET", f"/api/v1/namespaces/{NS}/pods/{_kube_gateway(lab)}/log?container=sds"
    )
    assert status == 404  # not in the release namespace

    async with port_forward(kubectl, lab, "deploy/gloo-proxy-http", 19000, namespace=APPS) as local:
        forwarded = await get_certs(f"http://127.0.0.1:{local}/certs")
    assert (
        serials(forwarded) == serials(await get_certs(f"{lab.admin_url(_kube_gateway(lab))}/certs")) != set()
    )


async def test_forbid_secrets_in_one_namespace_refuses_only_there(lab: Lab, kubectl: Path) -> None:
    """A namespace without gloomon's RoleBinding: its secrets (and a cluster-wide list) are 403, the
    release namespace's still readable; ``kubectl auth can-i`` answers per namespace."""
    await _fault(lab, "forbid-secrets", {"enabled": True, "namespace": APPS})
    try:
        status, refused = await _request(lab, "GET", f"/api/v1/namespaces/{APPS}/secrets/{SECRET_NAME}")
        assert (status, refused["reason"]) == (403, "Forbidden")
        assert refused["message"].endswith(f'in the namespace "{APPS}"')
        status, refused = await _request(lab, "GET", "/api/v1/secrets")
        assert status == 403 and refused["message"].endswith("at the cluster scope")
        await _secret(lab, NS)
        can = {
            namespace: (
                await run(kubectl, lab, "auth", "can-i", "get", "secrets", namespace=namespace, ok=(0, 1))
            )
            for namespace in (APPS, NS)
        }
        assert {ns: answer.strip() for ns, answer in can.items()} == {APPS: "no", NS: "yes"}
    finally:
        await _fault(lab, "forbid-secrets", {"enabled": False, "namespace": APPS})
    await _secret(lab, APPS)
    status, answer = await _request(lab, "POST", "/lab/v1/faults/forbid-secrets", {"namespace": "nowhere"})
    assert (status, answer["reason"]) == (400, "BadRequest")


async def test_a_restarted_kube_gateway_comes_back_in_its_namespace_on_the_copy(
    lab: Lab, eventually: Callable[..., Any]
) -> None:
    old = _kube_gateway(lab)
    new = (await _fault(lab, "restart-pod", {"pod": old}))["pod"]
    assert new != old and lab.runtime(new).store.namespace == APPS
    status, _ = await _request(lab, "GET", f"/api/v1/namespaces/{APPS}/pods/{new}")
    assert status == 200
    copy = await _secret(lab, APPS)
    assert await eventually(lambda: _envoy_leaf(lab, new), lambda leaf: leaf == _leaf_serial(copy))


async def test_a_restarted_gloo_renders_the_copy_again_and_keeps_following(lab: Lab) -> None:
    """A new gloo pod's process reconciles every Gateway at its start, then follows each write again."""
    (gloo,) = lab.pods(Component.GLOO)
    renders = lab.deployers[APPS].renders
    await _fault(lab, "restart-pod", {"pod": gloo})
    assert lab.deployers[APPS].running and lab.deployers[APPS].renders == renders + 1
    await _rotate(lab)
    assert (await _secret(lab, APPS))["data"] == (await _secret(lab, NS))["data"]
