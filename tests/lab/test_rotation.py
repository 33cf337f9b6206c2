"""certgen's three-phase rotation, observed through a real Envoy's admin API and the lab's API."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
from tests.lab.probes import active_secrets, aio_core, bundle_state, pem_of, phase_of

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]

EXPECTED_CERTGEN = [
    "starting certgen job, validated inputs",
    "looking for existing valid tls secret",
    "found 1 certs",
    "existing cert is valid!",
    "secret exists but need to rotate...",
    "rotating secret",
    "updating to both ca bundles",
    "waiting for ca bundle changes to be picked up",
    "Starting a grace period for all pods to settle: 2 seconds remaining",
    "finished waiting for pods to settle",
    "updating to new server cert",
    "waiting for server cert changes to be picked up",
    "Starting a grace period for all pods to settle: 2 seconds remaining",
    "finished waiting for pods to settle",
    "updating to new ca bundle",
    "secret has been updated",
    "no ValidatingWebhookConfiguration provided. finished successfully.",
]


async def test_rotation_phases_in_order_at_every_envoy(make_lab: Callable[..., Lab]) -> None:
    async with make_lab("healthy", rotation_duration=2.0, job_ttl=4.0) as lab:
        pods = lab.pods()
        start = {pod: bundle_state(await active_secrets(lab, pod)) for pod in pods}
        assert {phase_of(s) for s in start.values()} == {"steady"}
        seen: dict[str, list[str]] = {pod: ["steady"] for pod in pods}
        task = await lab.rotate_now()
        job_pod = next(p for p in lab.store.pods if p.startswith("gloo-mtls-certgen-cronjob-"))

        async def all_done() -> bool:
            for pod in pods:
                phase = phase_of(bundle_state(await active_secrets(lab, pod)))
                if phase != seen[pod][-1]:
                    seen[pod].append(phase)
            return task.done() and all(len(s) == 4 for s in seen.values())

        await lab.wait_for(all_done, timeout=30, interval=0.1)
        for pod in pods:
            assert seen[pod] == ["steady", "ca-added", "leaf-rotated", "steady"], pod
            end = bundle_state(await active_secrets(lab, pod))
            assert end[0] != start[pod][0] and end[1] != start[pod][1]

        core = await aio_core(lab)
        async with core.api_client:
            from kubernetes.aio import client

            batch = client.BatchV1Api(core.api_client)
            cron = await batch.read_namespaced_cron_job("gloo-mtls-certgen-cronjob", lab.namespace)
            assert cron.status.last_successful_time is not None and not cron.status.active
            pod = await core.read_namespaced_pod(job_pod, lab.namespace)
            assert pod.metadata.labels["gloo"] == "gloo-mtls-certs" and pod.status.phase == "Succeeded"
            text = await core.read_namespaced_pod_log(job_pod, lab.namespace)
            records = [json.loads(line) for line in text.splitlines()]
            assert [r["msg"] for r in records] == EXPECTED_CERTGEN
            assert {r["logger"] for r in records} == {"gencert"}
            assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
            assert (
                records[8]["waitingFor"] == "ca bundles update" and records[12]["waitingFor"] == "cert update"
            )
            await lab.wait_for(lambda: job_pod not in lab.store.pods and not lab.store.jobs, timeout=10)
            gw = lab.pods(Component.GATEWAY_PROXY)[0]
            sds = await core.read_namespaced_pod_log(gw, lab.namespace, container="sds")
        updates = [json.loads(line)["msg"] for line in sds.splitlines() if "Updating SDS config" in line]
        # Gloo before 1.20.14 reloads once per fsnotify event: the start, then three lines per write.
        assert len(updates) == 1 + 3 * 3
        versions = [u.rsplit(" ", 1)[1] for u in updates]
        assert len(dict.fromkeys(versions)) == 4 and versions[1:4] == [versions[1]] * 3
        assert all(f"sdsClient is {gw}.{lab.namespace}." in u for u in updates)
        dump = await active_secrets(lab, gw)
        assert pem_of(dump["server_cert"]["tls_certificate"]["private_key"]) == b"[redacted]"
