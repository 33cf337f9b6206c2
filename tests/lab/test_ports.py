"""Ports taken between the lab's pick and Envoy's bind: the pod retries with fresh ports, or fails clearly."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from gloomon.domain.model import DEFAULT_ADMIN_PORTS, Component
from gloomon.lab import Lab
from gloomon.lab.cluster.util import free_port
from gloomon.lab.pods import runtime as pods
from gloomon.lab.pods.ads import GlooXds
from gloomon.lab.pods.process import LabStartError
from tests.lab.probes import admin_json, stats

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest.fixture
def held() -> Iterator[Callable[[], int]]:
    """Listening sockets held by the test (another process's listener, for the lab): ``held()`` opens one."""
    socks: list[socket.socket] = []

    def hold() -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        socks.append(sock)
        return int(sock.getsockname()[1])

    yield hold
    for sock in socks:
        sock.close()


@pytest.fixture
def held_at() -> Iterator[Callable[[int], None]]:
    """``held_at(port)``: the test listens on that loopback port (another process took it)."""
    socks: list[socket.socket] = []

    def hold(port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        socks.append(sock)

    yield hold
    for sock in socks:
        sock.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_ports_taken_before_use_are_replaced_and_the_lab_serves(
    monkeypatch: pytest.MonkeyPatch, held: Callable[[], int], make_lab: Callable[..., Lab]
) -> None:
    # The picker's calls, in order: gloo's service ports (9977, 9976), gloo's xDS stand-in (9999, 9998),
    # extauth (9955, 8083, 8084), rate-limit (9955). Taken: gloo's TLS listener 9977 (its Envoy),
    # the stand-in's 9999 (Python) and extauth's listener 9955 (its Envoy).
    taken = {0: held(), 2: held(), 4: held()}
    calls: list[int] = []

    def racy_free_port() -> int:
        calls.append(len(calls))
        return taken.get(len(calls) - 1) or free_port()

    monkeypatch.setattr(pods, "free_port", racy_free_port)
    async with make_lab() as lab:
        assert len(calls) > 8  # retries picked fresh ports
        for pod in lab.pods():
            runtime = lab.runtime(pod)
            port_map = runtime.pod.port_map
            assert not set(port_map.values()) & set(taken.values()), pod
            # The port-forward target follows the admin port Envoy picked.
            assert port_map[DEFAULT_ADMIN_PORTS[runtime.spec.component]] == runtime.admin_port
            certs = await admin_json(lab, pod, "/certs")
            assert any(c["cert_chain"] for c in certs["certificates"]), pod
            # A failed attempt's lines stay out of the container log.
            container = runtime.pod.container(runtime.spec.envoy_container)
            assert container is not None
            log = [line.text for line in container.log.snapshot()[0]]
            assert log and not [line for line in log if "Address already in use" in line], pod
        assert lab._gloo_ports[9977] != taken[0]

        # Clients reach gloo on its moved port: gateway-proxies' ADS streams and extauth's process's stream
        # (real mTLS handshakes through its sidecar) are up.
        async def linked() -> bool:
            for pod in lab.pods(Component.GATEWAY_PROXY):
                counters = await stats(lab, pod, r"^control_plane\.connected_state$")
                if counters.get("control_plane.connected_state") != 1:
                    return False
            counters = await stats(
                lab, lab.pods(Component.EXTAUTH)[0], r"^cluster\.xds_cluster\.ssl\.handshake$"
            )
            return counters.get("cluster.xds_cluster.ssl.handshake", 0) > 0

        await lab.wait_for(linked, timeout=15, interval=0.2)


async def test_a_port_that_stays_taken_fails_with_one_clear_error_and_no_envoy_left(
    monkeypatch: pytest.MonkeyPatch,
    held: Callable[[], int],
    make_lab: Callable[..., Lab],
    eventually: Callable[..., Any],
) -> None:
    port = held()
    calls: list[int] = []

    def taken_for_extauth_and_rate_limit() -> int:
        calls.append(len(calls))
        return port if len(calls) > 4 else free_port()

    monkeypatch.setattr(pods, "free_port", taken_for_extauth_and_rate_limit)
    lab = make_lab()
    with pytest.raises(LabStartError) as info:
        await lab.start()
    message = str(info.value)
    assert "extauth-" in message or "rate-limit-" in message
    assert "attempt 3 of 3" in message
    assert f"cannot bind '127.0.0.1:{port}': Address already in use" in message
    pids = [r.envoy.pid for r in lab.runtimes.values() if r.envoy is not None and r.envoy.pid is not None]
    assert len(pids) >= 3
    await eventually(lambda: [p for p in pids if _alive(p)], lambda alive: not alive, what="every Envoy gone")
    assert not lab.workdir.exists()


async def test_a_gateway_listener_port_taken_before_envoy_binds_it_moves_and_the_proxy_serves_it(
    monkeypatch: pytest.MonkeyPatch, held_at: Callable[[int], None], make_lab: Callable[..., Lab],
    eventually: Callable[..., Any],
) -> None:  # fmt: skip
    # Another process takes the port gloo's LDS names for the proxy's 8080 before its Envoy binds it.
    taken: list[int] = []
    add_gateway = GlooXds.add_gateway

    def add_and_take(self: GlooXds, node_id: str, port: int, *args: Any, **kwargs: Any) -> None:
        held_at(port)
        taken.append(port)
        add_gateway(self, node_id, port, *args, **kwargs)

    monkeypatch.setattr(GlooXds, "add_gateway", add_and_take)
    async with make_lab(replicas={Component.GLOO: 1, Component.GATEWAY_PROXY: 1}) as lab:
        (pod,) = lab.pods(Component.GATEWAY_PROXY)
        runtime = lab.runtime(pod)

        def bound_port(listeners: dict[str, Any]) -> int | None:
            for listener in listeners.get("listener_statuses", []):
                if listener["name"] == "listener-::-8080":
                    return int(listener["local_address"]["socket_address"]["port_value"])
            return None

        listeners = await eventually(
            lambda: admin_json(lab, pod, "/listeners?format=json"),
            lambda found: bound_port(found) is not None,
            what="the proxy's listener-::-8080",
        )
        port = bound_port(listeners)
        assert port not in taken and port == runtime.pod.port_map[8080]
        # Envoy refused the first version (the bind error), gloo answered with a new one, Envoy took it.
        counters = await stats(lab, pod, r"^listener_manager\.lds\.update_(rejected|success)$")
        assert counters["listener_manager.lds.update_rejected"] >= 1, counters
        (state,) = [s for node, s in lab.control_plane.engine.nodes.items() if node.startswith(pod)]
        lds = state["type.googleapis.com/envoy.config.listener.v3.Listener"]
        assert lds.nacks >= 1 and "Address already in use" in lds.error and lds.acked is not None
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/") as resp:
            assert (resp.status, await resp.text()) == (200, "ok\n")
