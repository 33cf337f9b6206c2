"""extauth's and rate-limit's own processes, as gloo's xDS clients: one gRPC stream through the sidecar.

A real extauth (or rate-limit) server dials gloo's xDS at ``127.0.0.1:9955`` (``glooAddress``), the
``envoy-sidecar``'s ``gloo_xds_mtls_listener``, whose tcp_proxy opens the mTLS connection to gloo's 9977
only then; it holds one ``StreamAggregatedResources`` stream for its config type and reconnects with
gRPC's connection back-off (1 s growing ×1.6 with 20 % jitter to 120 s) when the stream breaks or
cannot be set up. So the sidecar's ``cluster.xds_cluster.*`` counters move exactly when a real one's
would: once per (re)connect, not on a timer. The stand-in asks for its type and ACKs what it gets.
"""

from __future__ import annotations

import asyncio
import random

import grpc
from envoy.config.core.v3.base_pb2 import Node
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest

from gloomon.domain.model import Component
from gloomon.tasks import cancel_and_wait

#: the config type each process watches (Gloo Enterprise's xDS types)
CONFIG_TYPES = {
    Component.EXTAUTH: "type.googleapis.com/enterprise.gloo.solo.io.ExtAuthConfig",
    Component.RATE_LIMIT: "type.googleapis.com/glooe.solo.io.RateLimitConfig",
}
#: gRPC's connection back-off (``doc/connection-backoff.md``)
INITIAL_BACKOFF, MULTIPLIER, JITTER, MAX_BACKOFF = 1.0, 1.6, 0.2, 120.0


class XdsClient:
    """One process's stream to gloo through ``127.0.0.1:<port>`` (the pod's 9955)."""

    def __init__(self, component: Component, node_id: str, port: int, rng: random.Random) -> None:
        self.component = component
        self.node_id = node_id
        self.port = port
        self.rng = rng
        #: streams that got a first answer (reconnects included), and failed attempts
        self.connected = 0
        self.failures = 0
        self.streaming = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"xds-client-{self.node_id}"
            )

    async def _run(self) -> None:
        backoff = INITIAL_BACKOFF
        while True:
            got_answer = await self._one_stream()
            if got_answer:
                backoff = INITIAL_BACKOFF
            else:
                self.failures += 1
            await asyncio.sleep(backoff * (1 + self.rng.uniform(-JITTER, JITTER)))
            backoff = min(backoff * MULTIPLIER, MAX_BACKOFF)

    async def _one_stream(self) -> bool:
        """Open a channel and a stream; hold it until it breaks. True if gloo answered at least once."""
        type_url = CONFIG_TYPES[self.component]
        node = Node(id=self.node_id, cluster=self.component.value)
        outbox: asyncio.Queue[DiscoveryRequest | None] = asyncio.Queue()
        outbox.put_nowait(DiscoveryRequest(node=node, type_url=type_url))

        async def requests():  # type: ignore[no-untyped-def]
            while (request := await outbox.get()) is not None:
                yield request

        answered = False
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.port}")
        try:
            call = ads_pb2_grpc.AggregatedDiscoveryServiceStub(channel).StreamAggregatedResources(requests())
            async for response in call:
                if not answered:
                    answered, self.streaming = True, True
                    self.connected += 1
                outbox.put_nowait(
                    DiscoveryRequest(
                        type_url=type_url, version_info=response.version_info, response_nonce=response.nonce
                    )
                )
        except grpc.aio.AioRpcError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():  # our stop, reported as CANCELLED by grpc.aio
                raise asyncio.CancelledError from None
        finally:
            self.streaming = False
            outbox.put_nowait(None)
            await channel.close()
        return answered

    async def stop(self) -> None:
        await cancel_and_wait(self._task)  # grpc.aio can turn the cancel into an AioRpcError
        self._task = None
