"""sds and gloo failing as they do in production (real-clusters.md §1–2), read from the real Envoys' admin API
and the pods' status in the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab
from tests.lab.probes import admin_json, aio_core, secret_state, stats

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"


def _leaf_serials(certs: dict) -> set[str]:
    return {c["serial_number"] for ctx in certs["certificates"] for c in ctx["cert_chain"]}


async def _container(lab: Lab, pod: str, name: str) -> Any:
    core = await aio_core(lab)
    async with core.api_client:
        status = await core.read_namespaced_pod(pod, lab.namespace)
    return next(s for s in status.status.container_statuses if s.name == name)


def _envoy_log(lab: Lab, pod: str) -> list[str]:
    runtime = lab.runtime(pod)
    container = runtime.pod.container(runtime.spec.envoy_container)
    assert container is not None
    return [line.text for line in container.log.snapshot()[0]]


async def test_sds_late_initial_fetch_times_out_then_the_secrets_arrive(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    async with make_lab("sds-late") as lab:
        pod = lab.pods(Component.RATE_LIMIT)[0]
        assert (await admin_json(lab, pod, "/certs"))["certificates"] == []
        warming = await admin_json(lab, pod, "/config_dump?resource=dynamic_warming_secrets")
        assert {c["name"] for c in warming["configs"]} == {"server_cert", "validation_context"}
        sds = await _container(lab, pod, "sds")
        assert not sds.ready and sds.state.waiting.reason == "ContainerCreating"
        # Envoy's default 15 s initial fetch timeout (Gloo sets none), counted per secret and logged.
        counters = await eventually(
            lambda: stats(lab, pod, r"^sds\."),
            lambda c: c.get("sds.server_cert.init_fetch_timeout") == 1,
            timeout=25,
            interval=0.5,
            what="the initial fetch timeout",
        )
        assert (
            counters["sds.server_cert.update_success"] == 0
            and counters["sds.server_cert.update_rejected"] == 0
        )
        assert any(f"initial fetch timed out for {SECRET_TYPE}" in line for line in _envoy_log(lab, pod))
        # Then sds starts and Envoy's next retry gets the secrets.
        await eventually(
            lambda: admin_json(lab, pod, "/certs"),
            lambda certs: _leaf_serials(certs) == {secret_state(lab)[1]},
            timeout=40,
            interval=0.5,
            what="the certificates once sds is up",
        )
        counters = await stats(lab, pod, r"^sds\.")
        assert counters["sds.server_cert.update_success"] >= 1
        assert counters["sds.server_cert.control_plane.connected_state"] == 1
        assert (await _container(lab, pod, "sds")).ready


async def test_sds_dead_envoy_keeps_the_old_certificates_and_misses_the_rotation(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    async with make_lab("sds-dead") as lab:
        pod = lab.pods(Component.RATE_LIMIT)[0]
        old = secret_state(lab)
        sds = await eventually(
            lambda: _container(lab, pod, "sds"),
            lambda s: (
                s.restart_count >= 1 and s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
            ),
            what="the sds container crash-looping",
        )
        assert not sds.ready
        core = await aio_core(lab)
        async with core.api_client:
            log = await core.read_namespaced_pod_log(pod, lab.namespace, container="sds")
        assert json.loads(log.splitlines()[-1])["msg"] == "fatal error in gRPC server"
        # Envoy keeps what it had; the SDS stats show the dead server.
        assert _leaf_serials(await admin_json(lab, pod, "/certs")) == {old[1]}
        first = await eventually(
            lambda: stats(lab, pod, r"^sds\.server_cert\.(update_failure|control_plane\.connected_state)$"),
            lambda c: (
                c["sds.server_cert.control_plane.connected_state"] == 0
                and c["sds.server_cert.update_failure"] >= 1
            ),
            what="the SDS stream down",
        )
        job = await lab.rotate_now()
        await job
        new = secret_state(lab)
        assert new[1] != old[1]
        others = [p for p in lab.pods() if p != pod]
        for other in others:
            await eventually(
                lambda other=other: admin_json(lab, other, "/certs"),
                lambda certs: _leaf_serials(certs) == {new[1]},
                timeout=20,
                what=f"{other} on the new leaf",
            )
        assert _leaf_serials(await admin_json(lab, pod, "/certs")) == {old[1]}  # never reaches this pod
        now = await stats(lab, pod, r"^sds\.server_cert\.update_failure$")
        assert now["sds.server_cert.update_failure"] > first["sds.server_cert.update_failure"]
        await eventually(
            lambda: _container(lab, pod, "sds"),
            lambda s: s.restart_count >= 2,
            timeout=20,
            interval=0.5,
            what="the restarts rising",
        )


async def test_gloo_process_down_sidecar_up(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    async with make_lab("gloo-process-down") as lab:
        gloo = lab.pods(Component.GLOO)[0]
        gws = lab.pods(Component.GATEWAY_PROXY)
        for gw in gws:
            await eventually(
                lambda gw=gw: stats(lab, gw, r"^control_plane\.connected_state$"),
                lambda c: c["control_plane.connected_state"] == 0,
                what=f"{gw}'s ADS stream closed",
            )
        fails = r"^cluster\.gloo_xds_cluster\.upstream_cx_connect_fail$"
        link = r"^cluster\.xds_cluster\.(upstream_cx_connect_fail|ssl\.handshake)$"
        first = (await stats(lab, gloo, fails))["cluster.gloo_xds_cluster.upstream_cx_connect_fail"]
        before = await stats(lab, gws[0], link)
        await eventually(
            lambda: stats(lab, gloo, fails),
            lambda c: c["cluster.gloo_xds_cluster.upstream_cx_connect_fail"] >= first + 2,
            timeout=20,
            interval=0.5,
            what="gloo_xds_cluster's connect failures rising",
        )
        # The TLS link itself still succeeds: gateway-proxy's redials shake hands with gloo's sidecar (its
        # own upstream_cx_connect_fail stays near 0: only a redial the sidecar closes mid-handshake counts).
        await eventually(
            lambda: stats(lab, gws[0], link),
            lambda c: c["cluster.xds_cluster.ssl.handshake"] > before["cluster.xds_cluster.ssl.handshake"],
            timeout=20,
            interval=0.5,
            what="gateway-proxy's redials completing TLS",
        )
        main = await _container(lab, gloo, "gloo")
        assert not main.ready and main.state.waiting.reason == "CrashLoopBackOff" and main.restart_count == 1
        assert (await _container(lab, gloo, "envoy-sidecar")).ready


async def test_secret_key_missing_a_new_pod_counts_its_sds_restarts_from_zero(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    """A pod made while ca.crt is missing (its ReplicaSet replacing a deleted one) has no crash history:
    its sds's first run is checking the files (restartCount 0, running), dies ``could not find file``
    ~13 s later, and the kubelet's restarts count up from there."""
    async with make_lab("secret-key-missing") as lab:
        new = await lab.restart_pod(lab.pods(Component.GATEWAY_PROXY)[0])
        sds = await _container(lab, new, "sds")
        assert sds.restart_count == 0 and sds.state.running and not sds.last_state.terminated, sds
        restarted = await eventually(
            lambda: _container(lab, new, "sds"),
            lambda s: s.restart_count >= 1,
            timeout=30,
            interval=0.5,
            what="the new pod's sds restarted by the kubelet",
        )
        assert restarted.restart_count == 1 and restarted.last_state.terminated.exit_code == 1, restarted
        core = await aio_core(lab)
        async with core.api_client:
            first = await core.read_namespaced_pod_log(new, lab.namespace, container="sds", previous=True)
        fatal = json.loads(first.splitlines()[-1])
        assert (fatal["level"], fatal["msg"]) == ("fatal", "could not find file '/etc/envoy/ssl/ca.crt'")


async def test_secret_key_missing_sds_serves_again_once_a_rotation_writes_every_key(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    """The kubelet keeps restarting every crash-looping sds (back-off 10 s doubling); the run after the
    refreshed volume has ca.crt serves, and every Envoy gets its secrets over SDS."""
    async with make_lab("secret-key-missing", rotation_duration=2.0) as lab:
        pods = lab.pods()
        before = {pod: await _container(lab, pod, "sds") for pod in pods}
        assert all(s.state.waiting.reason == "CrashLoopBackOff" for s in before.values())
        await (await lab.rotate_now())
        leaf = secret_state(lab)[1]
        for pod in pods:
            await eventually(
                lambda pod=pod: admin_json(lab, pod, "/certs"),
                lambda certs: _leaf_serials(certs) == {leaf},
                timeout=90,
                interval=1,
                what=f"{pod}'s Envoy on the rotated certificate",
            )
            counters = await stats(lab, pod, r"^sds\.server_cert\.")
            assert counters["sds.server_cert.update_success"] >= 1, (pod, counters)
            assert counters["sds.server_cert.control_plane.connected_state"] == 1, (pod, counters)
            sds = await _container(lab, pod, "sds")
            assert sds.ready and sds.state.running and not sds.state.waiting, (pod, sds)
            assert sds.restart_count > before[pod].restart_count, (pod, sds)
            assert sds.last_state.terminated.exit_code == 1, (pod, sds)
            assert sds.last_state.terminated.finished_at <= sds.state.running.started_at, (pod, sds)
        core = await aio_core(lab)
        async with core.api_client:
            statuses = [(await core.read_namespaced_pod(pod, lab.namespace)).status for pod in pods]
            log = await core.read_namespaced_pod_log(pods[0], lab.namespace, container="sds")
        ready = [next(c for c in s.conditions if c.type == "Ready").status for s in statuses]
        assert ready == ["True"] * len(pods)
        messages = [json.loads(line)["msg"] for line in log.splitlines()]
        assert "sds server listening on 0.0.0.0:8234" in messages and not any(
            m.startswith("could not find file") for m in messages
        )
