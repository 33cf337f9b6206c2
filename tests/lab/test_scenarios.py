"""Each scenario produces its situation for real: in the Envoys' own admin answers and in the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.lab.pods.certgen_job import CertgenConfig
from tests.lab.probes import (
    active_secrets,
    admin_get,
    admin_json,
    aio_core,
    bundle_state,
    secret_state,
    stats,
)

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
XDS = "gloo.gloo-system.svc.cluster.local:9977"


def _leaf_serials(certs: dict) -> set[str]:
    return {c["serial_number"] for ctx in certs["certificates"] for c in ctx["cert_chain"]}


async def _health(lab: Lab, pod: str) -> str:
    text = await admin_get(lab, pod, "/clusters")
    return next(line for line in text.splitlines() if line.startswith(XDS) and "::health_flags::" in line)


async def test_lagging_pod_serves_the_old_certificate(make_lab: Callable[..., Lab]) -> None:
    async with make_lab("lagging") as lab:
        secret = secret_state(lab)
        lagging = [p for p in lab.pods(Component.GATEWAY_PROXY) if lab.runtime(p).sds.frozen]
        assert len(lagging) == 1
        fresh = [p for p in lab.pods() if p not in lagging]
        assert _leaf_serials(await admin_json(lab, lagging[0], "/certs")) != {secret[1]}
        old = bundle_state(await active_secrets(lab, lagging[0]))
        assert old[1] != secret[1] and old[0] != secret[0] and len(old[0]) == 1
        for pod in fresh:
            assert bundle_state(await active_secrets(lab, pod)) == secret, pod
            assert _leaf_serials(await admin_json(lab, pod, "/certs")) == {secret[1]}
        # gloo no longer trusts the lagging pod's issuer: its link to gloo breaks for real.
        await lab.wait_for(lambda: _failed(lab, lagging[0]), timeout=15, interval=0.2)


async def _failed(lab: Lab, pod: str) -> bool:
    return "/failed_active_hc" in await _health(lab, pod)


async def test_untrusted_bundle_fails_real_handshakes(make_lab: Callable[..., Lab]) -> None:
    async with make_lab("untrusted") as lab:
        extauth = lab.pods(Component.EXTAUTH)[0]

        async def verify_failed() -> bool:
            counters = await stats(lab, extauth, r"cluster\.xds_cluster\.ssl\.fail_verify_error")
            return counters.get("cluster.xds_cluster.ssl.fail_verify_error", 0) > 0 and await _failed(
                lab, extauth
            )

        await lab.wait_for(verify_failed, timeout=15, interval=0.2)
        gw = lab.pods(Component.GATEWAY_PROXY)[0]

        async def healthy() -> bool:
            return (await _health(lab, gw)).endswith("::healthy")

        await lab.wait_for(healthy, timeout=15, interval=0.2)
        ok = await stats(lab, gw, r"cluster\.xds_cluster\.ssl\.(handshake|fail_verify_error)$")
        assert (
            ok["cluster.xds_cluster.ssl.handshake"] > 0
            and ok["cluster.xds_cluster.ssl.fail_verify_error"] == 0
        )
        assert bundle_state(await active_secrets(lab, extauth))[2] is None  # its bundle lacks the issuer


async def test_sds_down_pod_has_no_certificates(
    make_lab: Callable[..., Lab], key_leaks: Callable[..., list[str]]
) -> None:
    async with make_lab("sds-down") as lab:
        pod = lab.pods(Component.RATE_LIMIT)[0]
        assert (await admin_json(lab, pod, "/certs"))["certificates"] == []
        warming = await admin_json(lab, pod, "/config_dump?resource=dynamic_warming_secrets")
        assert {c["name"]: c["version_info"] for c in warming["configs"]} == {
            "server_cert": "uninitialized",
            "validation_context": "uninitialized",
        }
        # A down sds server is a failed stream for Envoy, never a rejected update (no false findings).
        counters = await stats(lab, pod, r"^sds\.")
        assert counters["sds.server_cert.update_rejected"] == 0
        assert counters["sds.validation_context.update_rejected"] == 0
        assert (
            counters["sds.server_cert.update_success"] == 0
            and counters["sds.server_cert.update_failure"] >= 1
        )
        assert key_leaks(lab, held=True) == []
        core = await aio_core(lab)
        async with core.api_client:
            status = await core.read_namespaced_pod(pod, lab.namespace)
            sds = next(s for s in status.status.container_statuses if s.name == "sds")
            assert not sds.ready and sds.state.waiting.reason == "CrashLoopBackOff" and sds.restart_count >= 1
            log = await core.read_namespaced_pod_log(pod, lab.namespace, container="sds")
        last = json.loads(log.splitlines()[-1])
        assert (last["level"], last["msg"]) == ("fatal", "could not find file '/etc/envoy/ssl/tls.key'")


async def test_expiring_leaf_has_days_left(make_lab: Callable[..., Lab]) -> None:
    async with make_lab("expiring") as lab:
        gw = lab.pods(Component.GATEWAY_PROXY)[0]
        certs = await admin_json(lab, gw, "/certs")
        leaf = certs["certificates"][0]["cert_chain"][0]
        expires = datetime.fromisoformat(leaf["expiration_time"].replace("Z", "+00:00"))
        left = expires - datetime.now(UTC)
        assert timedelta(days=2, hours=23) < left <= timedelta(days=3)
        assert int(leaf["days_until_expiration"]) in (2, 3)
        assert lab.store.cronjob is None


async def test_stalled_rotation_holds_two_cas_then_a_third(make_lab: Callable[..., Lab]) -> None:
    config = CertgenConfig(
        rotation_duration=3.0, schedule="0 */6 * * *", first_run_after=0.3, active_deadline=1.5
    )
    async with make_lab("stalled", certgen_config=config, job_ttl=30) as lab:
        gw = lab.pods(Component.GATEWAY_PROXY)[0]
        held = bundle_state(await active_secrets(lab, gw))
        assert len(held[0]) == 2 and held[2] == 0
        assert lab.store.secret.updated < datetime.now(UTC) - timedelta(hours=2)

        async def three_cas() -> bool:
            return len(bundle_state(await active_secrets(lab, gw))[0]) == 3

        await lab.wait_for(three_cas, timeout=20, interval=0.1)
        await lab.wait_for(lambda: any(j.completed for j in lab.store.jobs.values()), timeout=10)
        job = next(iter(lab.store.jobs.values()))
        assert (job.succeeded, job.failure_reason) == (False, "DeadlineExceeded")
        after = bundle_state(await active_secrets(lab, gw))
        assert after[0][:2] == held[0] and after[1] == held[1]  # appended; old leaf kept
        core = await aio_core(lab)
        async with core.api_client:
            from kubernetes.aio import client

            cron = await client.BatchV1Api(core.api_client).read_namespaced_cron_job(
                "gloo-mtls-certgen-cronjob", lab.namespace
            )
        assert cron.status.last_successful_time < cron.status.last_schedule_time


async def test_rotating_runs_from_the_cronjob_and_survives_a_gloo_restart(
    make_lab: Callable[..., Lab],
) -> None:
    async with make_lab("rotating", first_run_after=0.2, rotation_duration=1.0) as lab:
        assert lab.store.cronjob is not None and lab.store.cronjob.schedule == "*/2 * * * *"
        assert "--rotation-duration=1s" in lab.store.cronjob.args
        before = secret_state(lab)
        new_gloo = await lab.restart_pod(lab.pods(Component.GLOO)[0])
        assert lab.pods(Component.GLOO) == [new_gloo]
        await lab.wait_for(lambda: any(j.succeeded for j in lab.store.jobs.values()), timeout=20)
        assert lab.store.cronjob.last_successful is not None
        after = secret_state(lab)
        assert len(after[0]) == 1 and after[0] != before[0] and after[2] == 0
        gw = lab.pods(Component.GATEWAY_PROXY)[0]

        async def synced_and_healthy() -> bool:
            state = bundle_state(await active_secrets(lab, gw))
            return state == after and (await _health(lab, gw)).endswith("::healthy")

        await lab.wait_for(synced_and_healthy, timeout=15, interval=0.2)
