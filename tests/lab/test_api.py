"""The lab's Kubernetes API façade, exercised with the real ``kubernetes`` clients and kubectl."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from gloomon.domain.model import Component
from gloomon.lab import Lab
from tests.lab.probes import admin_get, aio_core

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
NS = "gloo-system"


async def raw_get(lab: Lab, path: str, *, token: str | None = None) -> tuple[int, dict]:
    import ssl

    ctx = ssl.create_default_context(cadata=lab.api.ca_pem.decode())
    headers = {"Authorization": f"Bearer {token if token is not None else lab.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(lab.api_url + path, headers=headers, ssl=ctx) as r,
    ):
        return r.status, json.loads(await r.text())


async def test_pods_listed_with_gloo_labels_and_containers(healthy_lab: Lab) -> None:
    core = await aio_core(healthy_lab)
    async with core.api_client:
        pods = await core.list_namespaced_pod(NS)
        by_component = {}
        for pod in pods.items:
            by_component.setdefault(pod.metadata.labels["gloo"], []).append(pod)
        assert sorted(by_component) == ["extauth", "gateway-proxy", "gloo", "rate-limit"]
        assert len(by_component["gateway-proxy"]) == 2
        names = {k: [c.name for c in v[0].spec.containers] for k, v in by_component.items()}
        assert names == {
            "gloo": ["envoy-sidecar", "sds", "gloo"],
            "gateway-proxy": ["gateway-proxy", "sds"],
            "extauth": ["extauth", "envoy-sidecar", "sds"],
            "rate-limit": ["rate-limit", "envoy-sidecar", "sds"],
        }
        gw = by_component["gateway-proxy"][0]
        assert gw.status.phase == "Running"
        assert all(
            s.ready and s.restart_count == 0 and s.state.running.started_at
            for s in gw.status.container_statuses
        )
        assert gw.metadata.uid and gw.metadata.resource_version and gw.metadata.creation_timestamp
        assert gw.status.pod_ip
        selected = await core.list_namespaced_pod(NS, label_selector="app=gloo,gloo=gateway-proxy")
        assert sorted(p.metadata.name for p in selected.items) == sorted(
            healthy_lab.pods(Component.GATEWAY_PROXY)
        )
        either = await core.list_namespaced_pod(NS, label_selector="gloo in (extauth,rate-limit)")
        assert len(either.items) == 2
        one = await core.read_namespaced_pod(healthy_lab.pods(Component.GLOO)[0], NS)
        template_hash = healthy_lab.store.deployments["gloo"].template_hash  # as a ReplicaSet's pod has it
        assert one.metadata.labels == {"gloo": "gloo", "pod-template-hash": template_hash}


async def test_secret_cronjob_deployments(healthy_lab: Lab) -> None:
    from kubernetes.aio import client

    core = await aio_core(healthy_lab)
    async with core.api_client:
        secret = await core.read_namespaced_secret("gloo-mtls-certs", NS)
        assert secret.type == "kubernetes.io/tls"
        assert sorted(secret.data) == ["ca.crt", "tls.crt", "tls.key"]
        apps = client.AppsV1Api(core.api_client)
        deps = await apps.list_namespaced_deployment(NS)
        assert {d.metadata.name: d.status.ready_replicas for d in deps.items} == {
            "gloo": 1,
            "gateway-proxy": 2,
            "extauth": 1,
            "rate-limit": 1,
        }
        batch = client.BatchV1Api(core.api_client)
        crons = await batch.list_namespaced_cron_job(NS)
        assert [c.metadata.name for c in crons.items] == ["gloo-mtls-certgen-cronjob"]
        assert (
            "--force-rotation=true" in crons.items[0].spec.job_template.spec.template.spec.containers[0].args
        )
        assert (await batch.list_namespaced_job(NS)).items == []


async def test_plain_http_is_refused(healthy_lab: Lab) -> None:
    url = healthy_lab.api_url.replace("https://", "http://") + "/version"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                await resp.read()


async def test_logs_tail_timestamps_and_unknown_container(healthy_lab: Lab) -> None:
    from kubernetes.aio.client.exceptions import ApiException

    pod = healthy_lab.pods(Component.GATEWAY_PROXY)[0]
    core = await aio_core(healthy_lab)
    async with core.api_client:
        text = await core.read_namespaced_pod_log(pod, NS, container="sds", tail_lines=2, timestamps=True)
        lines = text.splitlines()
        assert len(lines) == 2
        stamp, _, record = lines[-1].partition(" ")
        assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # RFC3339Nano: 9 digits + Z
        assert json.loads(record)["msg"] == "watcher started"
        envoy = await core.read_namespaced_pod_log(pod, NS, container="gateway-proxy")
        assert "starting main dispatch loop" in envoy
        with pytest.raises(ApiException) as err:
            await core.read_namespaced_pod_log(pod, NS, container="nope")
        assert err.value.status == 400


async def test_port_forward_aio_websocket_gets_certs(healthy_lab: Lab) -> None:
    pod = healthy_lab.pods(Component.GATEWAY_PROXY)[1]
    core = await aio_core(healthy_lab, ws=True)
    async with core.api_client:
        ctx = await core.connect_get_namespaced_pod_portforward_without_preload_content(
            pod, NS, ports="19000"
        )
        async with ctx as ws:
            first, second = await ws.receive_bytes(), await ws.receive_bytes()
            assert (first, second) == (
                bytes([0, 19000 & 0xFF, 19000 >> 8]),
                bytes([1, 19000 & 0xFF, 19000 >> 8]),
            )
            await ws.send_bytes(b"\x00GET /certs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            body = b""
            while True:
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.BINARY:
                    break
                assert msg.data[0] == 0
                body += msg.data[1:]
    head, _, payload = body.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    certs = json.loads(payload[payload.index(b"{") : payload.rindex(b"}") + 1])["certificates"]
    assert any(c["cert_chain"] for c in certs)


async def test_port_forward_sync_client_and_unreachable_port(healthy_lab: Lab) -> None:
    from kubernetes import client, config
    from kubernetes.stream import portforward

    pod = healthy_lab.pods(Component.GLOO)[0]

    def forward() -> tuple[bytes, str | None]:
        api_client = config.new_client_from_config(config_file=str(healthy_lab.kubeconfig_path))
        core = client.CoreV1Api(api_client)
        pf = portforward(core.connect_get_namespaced_pod_portforward, pod, NS, ports="8001,1234")
        sock = pf.socket(8001)
        sock.sendall(b"GET /ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(4096):
            data += chunk
        error = pf.error(1234)
        pf.close()
        return data, error

    data, error = await asyncio.to_thread(forward)
    assert data.startswith(b"HTTP/1.1 200") and b"LIVE" in data
    assert error is not None and "1234" in error


async def test_kubectl_get_pods(healthy_lab: Lab, kubectl: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(kubectl),
        "--kubeconfig",
        str(healthy_lab.kubeconfig_path),
        "get",
        "pods",
        "-n",
        NS,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert text.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    for name in healthy_lab.pods():
        assert name in text


# ---------------------------------------------------------------------------------------------------
# Tests that change the lab, on a lab of their own.


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    """A lab of this module's own, for the tests that change it: faults, a rotation, writes, restarts."""
    async with make_lab("healthy", NS, kubelet_delay=(0.05, 0.2)) as running:
        yield running


async def test_secret_metadata_and_no_key_in_any_repr(lab: Lab, key_leaks: Callable[..., list[str]]) -> None:
    from datetime import UTC, datetime

    assert key_leaks(lab, held=True) == []
    core = await aio_core(lab)
    async with core.api_client:
        before = await core.read_namespaced_secret("gloo-mtls-certs", NS)
        assert before.metadata.managed_fields[0].time == lab.store.secret.updated.replace(microsecond=0)
        # certgen's next write moves managedFields[0].time, never creationTimestamp
        written = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
        lab.store.write_secret(lab.store.secret.data, at=written)
        after = await core.read_namespaced_secret("gloo-mtls-certs", NS)
    assert after.metadata.creation_timestamp == before.metadata.creation_timestamp
    assert after.metadata.managed_fields[0].time == written
    assert int(after.metadata.resource_version) > int(before.metadata.resource_version)


async def test_auth_forbidden_and_not_found_are_status_objects(lab: Lab) -> None:
    status, body = await raw_get(lab, f"/api/v1/namespaces/{NS}/pods", token="wrong")
    assert (status, body["kind"], body["reason"]) == (401, "Status", "Unauthorized")
    status, body = await raw_get(lab, "/apis/nothing/v9/whatever")
    assert (status, body["kind"], body["code"]) == (404, "Status", 404)
    status, body = await raw_get(lab, f"/api/v1/namespaces/{NS}/pods/no-such-pod")
    assert (status, body["reason"], body["details"]["name"]) == (404, "NotFound", "no-such-pod")
    lab.forbid_secrets(True)
    try:
        from kubernetes.aio.client.exceptions import ApiException

        core = await aio_core(lab)
        async with core.api_client:
            with pytest.raises(ApiException) as err:
                await core.read_namespaced_secret("gloo-mtls-certs", NS)
        assert err.value.status == 403
        assert json.loads(err.value.body)["reason"] == "Forbidden"
    finally:
        lab.forbid_secrets(False)


async def test_log_follow_streams_new_lines_and_is_cut(lab: Lab) -> None:
    pod = lab.pods(Component.GATEWAY_PROXY)[0]
    core = await aio_core(lab)
    async with core.api_client:
        resp = await core.read_namespaced_pod_log_without_preload_content(
            pod, NS, container="sds", follow=True
        )
        seen: list[dict] = []

        async def read() -> None:
            async for raw in resp.content:
                seen.append(json.loads(raw))

        reader = asyncio.ensure_future(read())
        await lab.wait_for(lambda: any("Updating SDS config" in r["msg"] for r in seen), timeout=10)
        before = len(seen)
        task = await lab.rotate_now()
        await lab.wait_for(
            lambda: sum("Updating SDS config" in r["msg"] for r in seen[before:]) >= 1, timeout=30
        )
        assert [r["seq"] for r in seen] == list(range(1, len(seen) + 1))
        assert await lab.cut_log_streams() == 1
        with pytest.raises(aiohttp.ClientPayloadError):
            await asyncio.wait_for(reader, 10)
        task.cancel()


async def test_cut_port_forwards(lab: Lab) -> None:
    pod = lab.pods(Component.EXTAUTH)[0]
    core = await aio_core(lab, ws=True)
    async with core.api_client:
        ctx = await core.connect_get_namespaced_pod_portforward_without_preload_content(pod, NS, ports="8001")
        async with ctx as ws:
            await ws.receive_bytes()
            await ws.receive_bytes()
            await lab.wait_for(lambda: lab.api.streams.open_port_forwards == 1, timeout=5)
            assert await lab.cut_port_forwards() == 1
            msg = await asyncio.wait_for(ws.receive(), 10)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)


async def test_restart_pod_and_container(lab: Lab) -> None:
    old = lab.pods(Component.RATE_LIMIT)[0]
    old_pid = lab.runtime(old).envoy.pid
    new = await lab.restart_pod(old)
    assert new != old and new.startswith("rate-limit-")
    assert lab.pods(Component.RATE_LIMIT) == [new]
    assert lab.runtime(new).envoy.pid != old_pid
    assert "certificates" in (await admin_get(lab, new, "/certs"))
    await lab.restart_container(new)
    core = await aio_core(lab)
    async with core.api_client:
        pod = await core.read_namespaced_pod(new, NS)
        restarts = {s.name: s.restart_count for s in pod.status.container_statuses}
        assert restarts == {"rate-limit": 0, "envoy-sidecar": 1, "sds": 0}
        previous = await core.read_namespaced_pod_log(new, NS, container="envoy-sidecar", previous=True)
        assert "starting main dispatch loop" in previous


async def test_api_outage_refuses_then_recovers(lab: Lab) -> None:
    await lab.api_outage(1.0)
    with pytest.raises(aiohttp.ClientError):
        await raw_get(lab, "/version")

    async def up() -> bool:
        try:
            return (await raw_get(lab, "/version"))[0] == 200
        except aiohttp.ClientError:
            return False

    await lab.wait_for(up, timeout=15, interval=0.2)


async def test_control_endpoint_triggers_faults(lab: Lab) -> None:
    import ssl

    ctx = ssl.create_default_context(cadata=lab.api.ca_pem.decode())
    url = lab.api_url + "/lab/v1/faults/forbid-secrets"
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"enabled": True}, ssl=ctx) as resp:
            assert resp.status == 401
        async with session.post(
            url, json={"enabled": True}, ssl=ctx, headers={"Authorization": f"Bearer {lab.token}"}
        ) as resp:
            assert resp.status == 200
    assert lab.api.forbid_secrets
    status, _ = await raw_get(lab, f"/api/v1/namespaces/{NS}/secrets/gloo-mtls-certs")
    assert status == 403
    lab.forbid_secrets(False)


async def test_watch_pods_reports_changes(lab: Lab) -> None:
    from kubernetes.aio import watch

    core = await aio_core(lab)
    events: list[tuple[str, str]] = []
    async with core.api_client:
        w = watch.Watch()

        async def collect() -> None:
            async for event in w.stream(
                core.list_namespaced_pod, NS, label_selector="gloo=extauth", timeout_seconds=30
            ):
                events.append((event["type"], event["object"].metadata.name))

        task = asyncio.ensure_future(collect())
        pod = lab.pods(Component.EXTAUTH)[0]
        await lab.wait_for(lambda: ("ADDED", pod) in events, timeout=10)
        new = await lab.restart_pod(pod)
        await lab.wait_for(lambda: ("DELETED", pod) in events and ("ADDED", new) in events, timeout=10)
        w.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
