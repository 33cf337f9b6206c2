"""The sds server alone (no Envoy): Gloo's log lines in order for both releases, and SOTW answers to a
real gRPC client (ACK, NACK, a reconnect naming the current version)."""

from __future__ import annotations

import asyncio
import json
import random

import grpc
import pytest
from envoy.config.core.v3.base_pb2 import Node
from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest
from envoy.service.secret.v3 import sds_pb2_grpc
from google.rpc.status_pb2 import Status

from gloomon.lab.cluster import certs
from gloomon.lab.cluster.store import Container
from gloomon.lab.pods.sds import SECRET_TYPE, SdsServer, snapshot_version

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _server(container: Container, *, debounce: bool) -> SdsServer:
    return SdsServer(
        container=lambda: container,
        client="sds_client",
        port=0,
        delay=(0.0, 0.0),
        stats_server=False,
        rng=random.Random(1),
        debounce=debounce,
    )


def _messages(container: Container) -> list[str]:
    return [json.loads(line.text)["msg"] for line in container.log.snapshot()[0]]


@pytest.mark.parametrize("debounce", [False, True])
async def test_log_lines_in_gloos_order(debounce: bool) -> None:
    first, second = (certs.generate("gloo-system").secret() for _ in range(2))
    container = Container(name="sds", image="sds")
    sds = _server(container, debounce=debounce)
    await sds.start(first)
    try:
        sds.on_secret(second)
        update = (
            f"Updating SDS config. sdsClient is sds_client. Snapshot version is {snapshot_version(second)}"
        )
        deadline = asyncio.get_running_loop().time() + 5
        while update not in _messages(container) or _messages(container)[-1] != "watcher started":
            assert asyncio.get_running_loop().time() < deadline, _messages(container)
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.6 if debounce else 0.05)  # nothing more follows
        start = [
            "initializing config",
            "config loaded",
            "checking for existence of secrets",
            "secrets confirmed present, proceeding to start SDS server",
            "sds server listening on 0.0.0.0:8234",
            f"Updating SDS config. sdsClient is sds_client. Snapshot version is {snapshot_version(first)}",
            "watcher started",
        ]
        per_write = (
            ["received event"] * 3 + [update, "watcher started"]
            if debounce
            else ["received event", update, "watcher started"] * 3
        )
        assert _messages(container) == start + per_write
    finally:
        await sds.stop()


async def test_sotw_answers_ack_nack_and_reconnect() -> None:
    data = certs.generate("gloo-system").secret()
    container = Container(name="sds", image="sds")
    sds = _server(container, debounce=False)
    await sds.start(data)
    version = snapshot_version(data)
    node = Node(id="gateway-proxy-1.gloo-system")
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{sds.port}") as channel:
            stub = sds_pb2_grpc.SecretDiscoveryServiceStub(channel)
            outbox: asyncio.Queue[DiscoveryRequest] = asyncio.Queue()

            async def requests():  # type: ignore[no-untyped-def]
                while True:
                    yield await outbox.get()

            call = stub.StreamSecrets(requests())
            outbox.put_nowait(
                DiscoveryRequest(node=node, type_url=SECRET_TYPE, resource_names=["server_cert"])
            )
            response = await call.read()
            assert response.version_info == version and [r.type_url for r in response.resources] == [
                SECRET_TYPE
            ]
            outbox.put_nowait(  # a NACK of that version
                DiscoveryRequest(
                    type_url=SECRET_TYPE,
                    resource_names=["server_cert"],
                    response_nonce=response.nonce,
                    error_detail=Status(code=3, message="bad key"),
                )
            )
            await asyncio.sleep(0.2)
            state = sds.engine.nodes[node.id][SECRET_TYPE]
            assert (state.nacked, state.error, state.acked) == (version, "bad key", None)
            call.cancel()
            # a reconnect naming the version it holds gets nothing until the snapshot changes
            call = stub.StreamSecrets(requests())
            outbox.put_nowait(
                DiscoveryRequest(
                    node=node, type_url=SECRET_TYPE, resource_names=["server_cert"], version_info=version
                )
            )
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(call.read(), 0.3)
            call.cancel()
    finally:
        await sds.stop()
