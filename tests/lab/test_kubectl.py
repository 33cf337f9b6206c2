"""What a user types against the demo (issue 9 §4), with the real kubectl (1.37, the dev extra's): the
guide's ``port-forward deploy/gloo 8001`` + ``curl localhost:8001/certs`` over both protocols kubectl
speaks, ``logs deploy/<name> <container>``, ``get`` with a real cluster's columns, ``describe pod``."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.lab.api.spdy_forward import TUNNEL_PROTOCOL
from tests.lab.probes import get_certs, port_forward, run, serials

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
NS = "gloo-system"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", NS, rotation_duration=1.0) as running:  # a quick certgen Job
        yield running


async def certs_through_forward(kubectl: Path, lab: Lab) -> None:
    gloo = lab.pods(Component.GLOO)[0]
    async with port_forward(kubectl, lab, "deploy/gloo", 8001) as local:
        forwarded = await get_certs(f"http://127.0.0.1:{local}/certs")
        again = await get_certs(f"http://127.0.0.1:{local}/certs")  # a second connection, same session
    direct = await get_certs(f"{lab.admin_url(gloo)}/certs")
    assert serials(forwarded) == serials(again) == serials(direct) != set()


async def test_port_forward_deploy_gloo_over_spdy_in_a_websocket(lab: Lab, kubectl: Path) -> None:
    before = dict(lab.api.streams.forwards_by_protocol)
    await certs_through_forward(kubectl, lab)
    after = lab.api.streams.forwards_by_protocol
    assert after[TUNNEL_PROTOCOL] == before.get(TUNNEL_PROTOCOL, 0) + 1
    assert after["SPDY/3.1"] == before.get("SPDY/3.1", 0)


async def test_port_forward_falls_back_to_spdy_when_the_tunnel_is_refused(lab: Lab, kubectl: Path) -> None:
    before = dict(lab.api.streams.forwards_by_protocol)
    lab.api.streams.tunnel_websockets = False  # a cluster without PortForwardWebsockets
    try:
        await certs_through_forward(kubectl, lab)
    finally:
        lab.api.streams.tunnel_websockets = True
    after = lab.api.streams.forwards_by_protocol
    assert after["SPDY/3.1"] == before.get("SPDY/3.1", 0) + 1
    assert after[TUNNEL_PROTOCOL] == before.get(TUNNEL_PROTOCOL, 0)


async def test_logs_of_a_deployments_container(lab: Lab, kubectl: Path) -> None:
    def lines(component: Component, container: str) -> set[str]:
        pods = [lab.store.pods[p] for p in lab.pods(component)]
        return {line.text for p in pods for line in p.container(container).log.snapshot()[0]}  # type: ignore[union-attr]

    sds = (await run(kubectl, lab, "logs", "deploy/gateway-proxy", "sds")).splitlines()
    assert sds and set(sds) <= lines(Component.GATEWAY_PROXY, "sds")
    assert any("Updating SDS config" in line for line in sds)
    sidecar = (await run(kubectl, lab, "logs", "deploy/gloo", "-c", "envoy-sidecar")).splitlines()
    assert sidecar and set(sidecar) <= lines(Component.GLOO, "envoy-sidecar")


def sections(text: str) -> dict[str, list[list[str]]]:
    """``kubectl get a,b,c`` output: rows (cells split on 2+ spaces) by the kind of their names."""
    out: dict[str, list[list[str]]] = {}
    for block in text.strip().split("\n\n"):
        header, *rows = [re.split(r"\s{2,}", line.strip()) for line in block.splitlines()]
        kind = rows[0][0].split("/")[0]
        out[kind] = [header, *rows]
    return out


async def test_get_prints_a_real_clusters_columns(lab: Lab, kubectl: Path) -> None:
    job = await lab.rotate_now()  # a certgen Job and its pod
    got = sections(await run(kubectl, lab, "get", "pods,deploy,cronjob,job,secret"))
    assert got["pod"][0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert got["deployment.apps"][0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert got["cronjob.batch"][0] == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST SCHEDULE",
        "AGE",
    ]
    assert got["job.batch"][0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert got["secret"][0] == ["NAME", "TYPE", "DATA", "AGE"]
    pods = {row[0].removeprefix("pod/"): row for row in got["pod"][1:]}
    gloo = lab.store.pods[lab.pods(Component.GLOO)[0]]
    assert pods[gloo.name][1:4] == [f"{len(gloo.containers)}/{len(gloo.containers)}", "Running", "0"]
    deployments = {row[0]: row for row in got["deployment.apps"][1:]}
    assert deployments["deployment.apps/gateway-proxy"][1:4] == ["2/2", "2", "2"]
    (cron,) = got["cronjob.batch"][1:]
    assert cron[2:5] == ["<none>", "False", "1"]
    (job_row,) = got["job.batch"][1:]
    assert job_row[1:3] in (["Running", "0/1"], ["Complete", "1/1"])
    secrets = {row[0]: row for row in got["secret"][1:]}
    assert secrets["secret/gloo-mtls-certs"][1:3] == ["kubernetes.io/tls", "3"]
    job_name = job_row[0].removeprefix("job.batch/")
    certgen = lab.store.pods[lab.store.jobs[job_name].pod_name].containers[0]
    logs = (await run(kubectl, lab, "logs", f"job/{job_name}")).splitlines()  # the Job's own pod
    assert logs and set(logs) <= {line.text for line in certgen.log.snapshot()[0]}
    await job
    header, *rows = [
        re.split(r"\s{2,}", line.strip()) for line in (await run(kubectl, lab, "get", "jobs")).splitlines()
    ]
    assert header == got["job.batch"][0] and [row[1:3] for row in rows] == [["Complete", "1/1"]]


async def test_describe_pod_has_its_events(lab: Lab, kubectl: Path) -> None:
    name = lab.pods(Component.GLOO)[0]
    text = await run(kubectl, lab, "describe", "pod", name)
    assert f"Name:             {name}" in text
    events = text.split("\nEvents:\n", 1)[1]
    assert f"Successfully assigned {NS}/{name} to " in events
    for container in lab.store.pods[name].containers:
        assert f"Started container {container.name}" in events


async def test_get_watch_prints_rows_as_pods_change(lab: Lab, kubectl: Path) -> None:
    """``kubectl get pods -w``: the API server's watch events are one-row Tables (the columns once)."""
    name = lab.pods(Component.RATE_LIMIT)[0]
    proc = await asyncio.create_subprocess_exec(
        str(kubectl),
        *("--kubeconfig", str(lab.kubeconfig_path), "-n", NS, "get", "pods", "-w"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        header = re.split(r"\s{2,}", (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip())
        assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        for _ in lab.pods():
            await asyncio.wait_for(proc.stdout.readline(), 30)
        await lab.restart_container(name)
        while True:
            row = re.split(r"\s{2,}", (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip())
            if row[0] == name and row[3] != "0":
                break
        assert row[3].startswith("1 (") and row[3].endswith(" ago)"), row
    finally:
        proc.terminate()
        await proc.wait()


async def test_auth_can_i_answers_as_the_forbid_faults_make_rbac_answer(lab: Lab, kubectl: Path) -> None:
    """docs/findings.md's check for webhook-rbac (kubectl sends the review as protobuf)."""
    can_i = ("auth", "can-i", "get", "validatingwebhookconfigurations")
    assert (await run(kubectl, lab, *can_i)).strip() == "yes"
    lab.api.forbid_webhooks = True
    try:
        assert (await run(kubectl, lab, *can_i, ok=(1,))).strip() == "no"
        assert (await run(kubectl, lab, "auth", "can-i", "list", "secrets")).strip() == "yes"
    finally:
        lab.api.forbid_webhooks = False


async def test_get_all_and_describe_deploy_show_the_replicasets(lab: Lab, kubectl: Path) -> None:
    got = sections(await run(kubectl, lab, "get", "all"))
    assert {"pod", "service", "deployment.apps", "replicaset.apps", "cronjob.batch"} <= set(got)
    assert got["replicaset.apps"][0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    gateway = lab.store.deployments["gateway-proxy"]
    rs = f"{gateway.name}-{gateway.template_hash}"
    assert [row[1:4] for row in got["replicaset.apps"][1:] if row[0] == f"replicaset.apps/{rs}"] == [
        ["2", "2", "2"]
    ]
    text = await run(kubectl, lab, "describe", "deploy", "gateway-proxy")
    assert f"NewReplicaSet:   {rs} (2/2 replicas created)" in text
    assert f"Scaled up replica set {rs} from 0 to 2" in text
    text = await run(kubectl, lab, "describe", "rs", rs)
    assert "Controlled By:  Deployment/gateway-proxy" in text and "Pods Status:    2 Running" in text


async def test_services_get_and_port_forward(lab: Lab, kubectl: Path) -> None:
    """``get svc`` with its columns; ``port-forward svc/gloo 9977`` reaches gloo's mTLS listener (kubectl
    maps the service port to the selected pod's target port)."""
    from cryptography import x509

    got = sections(await run(kubectl, lab, "get", "svc,deploy"))
    assert got["service"][0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = {row[0]: row for row in got["service"][1:]}
    assert rows["service/gloo"][1] == "ClusterIP" and rows["service/gloo"][4].startswith("9977/TCP,9976/TCP,")
    assert rows["service/gateway-proxy"][1:2] + rows["service/gateway-proxy"][3:4] == [
        "LoadBalancer",
        "<pending>",
    ]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    async with port_forward(kubectl, lab, "svc/gloo", 9977) as local:
        _, writer = await asyncio.open_connection("127.0.0.1", local, ssl=context)
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
    subject = x509.load_der_x509_certificate(der).subject.rfc4514_string()
    assert subject.startswith(f"CN=gloo.{NS}.svc"), subject
