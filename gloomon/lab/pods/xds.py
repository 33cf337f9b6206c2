"""State-of-the-world xDS over gRPC, as go-control-plane's ``sotw`` server answers it (Gloo's sds and gloo).

One :class:`SotwEngine` serves any number of bidirectional streams (``StreamSecrets``,
``StreamAggregatedResources``): each request names a type URL, resources and, after the first response,
the nonce it answers. The engine keeps go-control-plane's rules:

* a request whose ``response_nonce`` is not the last one sent on that stream for that type is stale and
  ignored;
* the first request of a subscription carrying a ``version_info`` equal to the current version (Envoy
  reconnecting with what it already has) gets no response until the version changes;
* a request with ``error_detail`` is a NACK of the version last sent; it is recorded (per node and type)
  and nothing is resent until the resources change; one repeating the last nonce without error is an ACK;
* on a change every open subscription whose last version differs gets the new resources (pushes).

``provider(node_id, type_url)`` gives the current :class:`Resources` (``None``: nothing to send yet);
``on_nack(node_id, type_url, error)``, when given, hears each NACK before the engine answers it, so a
provider that changes its resources then (gloo moving a listener whose port was taken) answers at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest, DiscoveryResponse
from google.protobuf import any_pb2
from google.protobuf.message import Message

from gloomon.tasks import cancel_and_wait


@dataclass(frozen=True, slots=True)
class Resources:
    version: str
    items: dict[str, Message]


Provider = Callable[[str, str], Resources | None]
NackListener = Callable[[str, str, str], None]


@dataclass
class NodeState:
    """What one node last did with one type: the version it ACKed, the one it NACKed and why."""

    acked: str | None = None
    nacked: str | None = None
    error: str = ""
    acks: int = 0
    nacks: int = 0


@dataclass
class _Subscription:
    names: tuple[str, ...] = ()
    sent: str | None = None
    nonce: str = ""


@dataclass
class StreamRecord:
    """One open stream: its node and subscriptions (type URL → what was sent)."""

    node_id: str = ""
    subs: dict[str, _Subscription] = field(default_factory=dict)


_END = object()


class SotwEngine:
    def __init__(self, provider: Provider, on_nack: NackListener | None = None) -> None:
        self.provider = provider
        self.on_nack = on_nack
        #: the open streams (removed when they close)
        self.streams: list[StreamRecord] = []
        #: node id → type URL → ACK/NACK state; kept after the node's stream closes
        self.nodes: dict[str, dict[str, NodeState]] = {}
        #: streams opened since start (reconnects included)
        self.opened = 0
        self._queues: set[asyncio.Queue[object]] = set()
        self._nonces = itertools.count(1)

    def changed(self) -> None:
        """The provider's answers changed: push to every open stream whose subscriptions are behind."""
        for queue in self._queues:
            queue.put_nowait(None)

    def node(self, node_id: str, type_url: str) -> NodeState:
        return self.nodes.setdefault(node_id, {}).setdefault(type_url, NodeState())

    def connected(self, node_id: str) -> bool:
        return any(s.node_id == node_id for s in self.streams)

    async def stream(
        self, requests: AsyncIterator[DiscoveryRequest], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[DiscoveryResponse]:
        """The bidirectional stream handler (``StreamSecrets`` / ``StreamAggregatedResources``)."""
        record = StreamRecord()
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._queues.add(queue)
        self.streams.append(record)
        self.opened += 1
        reader = asyncio.ensure_future(self._pump(requests, queue))
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, DiscoveryRequest):
                    responses = self._on_request(record, item)
                else:
                    responses = [self._respond(record, t) for t in list(record.subs)]
                for response in responses:
                    if response is not None:
                        yield response
        finally:
            await cancel_and_wait(reader)
            self._queues.discard(queue)
            with contextlib.suppress(ValueError):
                self.streams.remove(record)

    async def _pump(self, requests: AsyncIterator[DiscoveryRequest], queue: asyncio.Queue[object]) -> None:
        try:
            async for request in requests:
                queue.put_nowait(request)
        except Exception:  # the peer went away: the stream ends like an EOF
            pass
        finally:
            queue.put_nowait(_END)

    def _on_request(self, record: StreamRecord, request: DiscoveryRequest) -> list[DiscoveryResponse | None]:
        if request.node.id:
            record.node_id = request.node.id
        type_url = request.type_url
        sub = record.subs.get(type_url)
        if sub is None:
            sub = record.subs[type_url] = _Subscription()
            # Envoy reconnecting names the version it holds: nothing to send while it is current.
            sub.sent = request.version_info or None
        elif request.response_nonce != sub.nonce:
            return []  # stale: answers an older response
        else:
            state = self.node(record.node_id, type_url)
            if request.HasField("error_detail"):
                state.nacked, state.error = sub.sent, request.error_detail.message
                state.nacks += 1
                if self.on_nack is not None:
                    self.on_nack(record.node_id, type_url, state.error)
            elif request.version_info == sub.sent:
                state.acked = sub.sent
                state.acks += 1
        names = tuple(request.resource_names)
        if names != sub.names:
            sub.names = names
            sub.sent = None if sub.nonce else sub.sent  # new names: send again
        return [self._respond(record, type_url)]

    def _respond(self, record: StreamRecord, type_url: str) -> DiscoveryResponse | None:
        sub = record.subs[type_url]
        current = self.provider(record.node_id, type_url)
        if current is None or current.version == sub.sent:
            return None
        wanted = sub.names or tuple(current.items)
        packed = []
        for name in wanted:
            if name in current.items:
                message = any_pb2.Any()
                message.Pack(current.items[name])
                packed.append(message)
        sub.sent = current.version
        sub.nonce = str(next(self._nonces))
        return DiscoveryResponse(
            version_info=current.version, resources=packed, type_url=type_url, nonce=sub.nonce
        )


async def serve_grpc(add: Callable[[grpc.aio.Server], None], port: int) -> tuple[grpc.aio.Server, int]:
    """A started plaintext gRPC server on ``127.0.0.1:port`` (0: the OS picks); raises OSError if the
    port is taken (no ``SO_REUSEPORT``: a port is one server's)."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0), ("grpc.max_concurrent_streams", 10000)])
    add(server)
    try:
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
    except RuntimeError as exc:
        raise OSError(98, f"cannot bind 127.0.0.1:{port}: {exc}") from exc
    if not bound:
        raise OSError(98, f"cannot bind 127.0.0.1:{port}")
    await server.start()
    return server, bound
