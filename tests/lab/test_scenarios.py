"""Each scenario produces its situation for real: in the Envoys' own admin answers and in the API."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.lab.pods.certgen_job import CertgenConfig
from tests.lab.probes import (
    active_secrets,
    admin_json,
    aio_core,
    bundle_state,
    secret_state,
    stats,
)

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


def _leaf_serials(certs: dict) -> set[str]:
    return {c["serial_number"] for ctx in certs["certificates"] for c in ctx["cert_chain"]}


async def _connected(lab: Lab, pod: str) -> int:
    """gateway-proxy's ADS stream to gloo: ``control_plane.connected_state`` (1 while it is open)."""
    return (await stats(lab, pod, r"^control_plane\.connected_state$"))["control_plane.connected_state"]


async def test_lagging_pod_serves_the_old_certificate_and_keeps_its_stream_until_a_reconnect(
    make_lab: Callable[..., Lab],
) -> None:
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
        # As in production the established ADS stream outlives the rotation: no health check redials.
        assert await _connected(lab, lagging[0]) == 1
        before = await stats(
            lab, lagging[0], r"^cluster\.xds_cluster\.ssl\.(fail_verify_error|connection_error)$"
        )
        # A reconnect (gloo's sidecar restarts) is what breaks it: gloo no longer trusts its issuer.
        await lab.restart_container(lab.pods(Component.GLOO)[0])
        other = next(p for p in lab.pods(Component.GATEWAY_PROXY) if p not in lagging)

        async def broken() -> bool:
            now = await stats(
                lab, lagging[0], r"^cluster\.xds_cluster\.ssl\.(fail_verify_error|connection_error)$"
            )
            return sum(now.values()) > sum(before.values()) and await _connected(lab, other) == 1

        await lab.wait_for(broken, timeout=30, interval=0.2)
        assert await _connected(lab, lagging[0]) == 0


async def test_untrusted_bundle_fails_real_handshakes(make_lab: Callable[..., Lab]) -> None:
    async with make_lab("untrusted") as lab:
        extauth = lab.pods(Component.EXTAUTH)[0]

        # extauth's own process redials gloo through its sidecar (gRPC back-off): each try fails to verify.
        async def verify_failed() -> bool:
            counters = await stats(lab, extauth, r"cluster\.xds_cluster\.ssl\.fail_verify_error")
            return counters.get("cluster.xds_cluster.ssl.fail_verify_error", 0) > 0

        await lab.wait_for(verify_failed, timeout=15, interval=0.2)
        assert lab.runtime(extauth).client is not None and lab.runtime(extauth).client.connected == 0
        gw = lab.pods(Component.GATEWAY_PROXY)[0]
        assert await _connected(lab, gw) == 1
        ok = await stats(lab, gw, r"cluster\.xds_cluster\.ssl\.(handshake|fail_verify_error)$")
        assert (
            ok["cluster.xds_cluster.ssl.handshake"] > 0
            and ok["cluster.xds_cluster.ssl.fail_verify_error"] == 0
        )
        assert bundle_state(await active_secrets(lab, extauth))[2] is None  # its bundle lacks the issuer


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
            return state == after and await _connected(lab, gw) == 1

        await lab.wait_for(synced_and_healthy, timeout=15, interval=0.2)
