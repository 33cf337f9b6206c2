"""The kubelet's side of ``portforward.k8s.io`` over SPDY/3.1, bridged to a pod's loopback ports.

What ``kubectl port-forward`` (client-go's ``PortForwarder``) does on one SPDY session: for each local
connection, it opens an *error* stream then a *data* stream, both with headers ``streamtype``, ``port``
and ``requestid``, half-closes the error stream at once and waits for each SYN_REPLY. The kubelet's
handler (``pkg/kubelet/cri/streaming/portforward/httpstream.go``), as here:

* a stream without a valid ``port`` (1-65535) or ``streamtype`` (``error``/``data``) is reset
  (RST_STREAM CANCEL); any other stream gets an empty SYN_REPLY;
* streams are paired by ``requestid`` (a client without it: the error stream's id, the data stream's id
  minus 2); a second stream of a type is ``error processing stream for request N: … already assigned``,
  and a pair still incomplete after 30 s is ``timed out waiting for streams``, both written to the
  error stream;
* a complete pair connects to the port in the pod; a refused connection is ``error forwarding port P to
  pod …`` on the error stream (kubectl then closes the whole session, as against a real cluster); bytes
  are copied both ways until one direction ends, then (as containerd does) the other gets up to 1 s;
  then the error stream and the data stream are closed (DATA with FIN);
* PINGs from the client are echoed; GOAWAY ends the session.

Transport-agnostic: :meth:`SpdyPortForward.feed` takes bytes as they arrive (plain upgrade or websocket
tunnel) and ``write`` sends the reply bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from aiohttp import WSMsgType, web

from gloomon.lab.api import spdy
from gloomon.lab.cluster.store import Pod

#: the kubelet's default ``streamCreationTimeout``
STREAM_CREATION_TIMEOUT = 30.0
#: how long the second direction gets once the first is done (containerd's port-forward)
DRAIN_TIMEOUT = 1.0


def forward_error(pod: Pod, port: int, exc: OSError) -> str:
    """What a kubelet with containerd writes to the error stream when the port refuses."""
    return (
        f"error forwarding port {port} to pod {pod.uid}, uid : failed to execute portforward "
        f"in network namespace: failed to connect to localhost:{port} inside namespace, "
        f"IPv4: dial tcp4 127.0.0.1:{port}: {exc.strerror or 'connect: connection refused'}"
    )


def _stream_problem(headers: spdy.Headers) -> str:
    """Why the kubelet rejects a stream with these headers, "" when it accepts it."""
    port = headers.get("port", [""])[0]
    if not port:
        return '"port" header is required'
    if not port.isdigit() or int(port) > 65535:
        return f'unable to parse "{port}" as a port'
    if int(port) < 1:
        return f'port "{port}" must be > 0'
    kind = headers.get("streamtype", [""])[0]
    if not kind:
        return '"streamType" header is required'
    if kind not in ("error", "data"):
        return f'invalid stream type "{kind}"'
    return ""


@dataclass
class _Pair:
    request_id: str
    port: int
    error: int = 0
    data: int = 0
    #: client bytes that arrived before the pod connection was open
    pending: list[bytes] = field(default_factory=list)
    writer: asyncio.StreamWriter | None = None
    client_done: asyncio.Event = field(default_factory=asyncio.Event)
    data_reset: bool = False
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class SpdyPortForward:
    """One port-forward session (one upgraded connection) to one pod."""

    def __init__(self, pod: Pod, write: Callable[[bytes], Awaitable[None]]) -> None:
        self.pod = pod
        self._write = write
        self._encoder = spdy.Encoder()
        self._decoder = spdy.Decoder()
        self._lock = asyncio.Lock()
        self._pairs: dict[str, _Pair] = {}
        self._by_stream: dict[int, _Pair] = {}
        self._next_id = 1
        self.closed = False

    async def send(self, *frames: spdy.Frame) -> None:
        """Encode and write in one go under the lock: the zlib stream's order is the wire's."""
        async with self._lock:
            if self.closed:
                return
            data = b"".join(self._encoder.encode(f) for f in frames)
            try:
                await self._write(data)
            except (ConnectionError, RuntimeError):
                self.closed = True

    async def feed(self, data: bytes) -> None:
        try:
            frames = self._decoder.feed(data)
        except spdy.SpdyError:
            await self.send(spdy.GoAway(max(self._next_id - 2, 0), 1))
            self.closed = True
            return
        for frame in frames:
            await self._on_frame(frame)

    async def _on_frame(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.SynStream):
            await self._on_syn_stream(frame)
        elif isinstance(frame, spdy.DataFrame):
            pair = self._by_stream.get(frame.stream_id)
            if pair is not None and frame.stream_id == pair.data:
                if frame.data:
                    self._to_pod(pair, frame.data)
                if frame.fin:
                    self._client_finished(pair)
        elif isinstance(frame, spdy.RstStream):
            pair = self._by_stream.get(frame.stream_id)
            if pair is not None and frame.stream_id == pair.data:
                pair.data_reset = True
                self._client_finished(pair)
        elif isinstance(frame, spdy.Ping):
            if frame.ping_id % 2 == 1:  # the client's (odd); ours would be even
                await self.send(frame)
        elif isinstance(frame, spdy.GoAway):
            self.closed = True
        # SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY: nothing to do (no flow control, as spdystream)

    async def _on_syn_stream(self, frame: spdy.SynStream) -> None:
        if frame.stream_id < self._next_id or frame.stream_id % 2 == 0:
            await self.send(spdy.RstStream(frame.stream_id, spdy.RstStatus.PROTOCOL_ERROR))
            return
        self._next_id = frame.stream_id + 2
        if _stream_problem(frame.headers):
            await self.send(spdy.RstStream(frame.stream_id, spdy.RstStatus.CANCEL))
            return
        await self.send(spdy.SynReply(frame.stream_id))
        kind = frame.headers["streamtype"][0]
        request_id = frame.headers.get("requestid", [""])[0]
        if not request_id:  # an old client: ids are consecutive, error stream first
            request_id = str(frame.stream_id if kind == "error" else frame.stream_id - 2)
        pair = self._pairs.get(request_id)
        if pair is None:
            pair = self._pairs[request_id] = _Pair(request_id, int(frame.headers["port"][0]))
            pair.tasks.append(asyncio.ensure_future(self._monitor(pair)))
        if getattr(pair, kind):
            message = f"error processing stream for request {request_id}: {kind} stream already assigned"
            await self._print_error(pair, message)
            return
        setattr(pair, kind, frame.stream_id)
        self._by_stream[frame.stream_id] = pair
        if pair.error and pair.data:  # complete: the kubelet forgets the pair's request id
            self._pairs.pop(request_id, None)
            pair.tasks.pop(0).cancel()
            pair.tasks.append(asyncio.ensure_future(self._forward(pair)))

    async def _monitor(self, pair: _Pair) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(STREAM_CREATION_TIMEOUT)
            if not (pair.error and pair.data):
                await self._print_error(
                    pair, f"(conn={id(self):#x}, request={pair.request_id}) timed out waiting for streams"
                )
            self._pairs.pop(pair.request_id, None)

    async def _print_error(self, pair: _Pair, message: str) -> None:
        if pair.error:
            await self.send(spdy.DataFrame(pair.error, message.encode()))

    def _to_pod(self, pair: _Pair, data: bytes) -> None:
        if pair.writer is None:
            pair.pending.append(data)
        else:
            pair.writer.write(data)

    def _client_finished(self, pair: _Pair) -> None:
        pair.client_done.set()
        if pair.writer is not None and pair.writer.can_write_eof():
            with contextlib.suppress(OSError, RuntimeError):
                pair.writer.write_eof()

    async def _forward(self, pair: _Pair) -> None:
        """Bridge a complete pair to the pod's port, then close both streams."""
        real = self.pod.port_map.get(pair.port)
        try:
            if real is None:
                raise ConnectionRefusedError(111, "connect: connection refused")
            reader, writer = await asyncio.open_connection("127.0.0.1", real)
        except OSError as exc:
            await self._print_error(pair, forward_error(self.pod, pair.port, exc))
            await self._close_streams(pair)
            return
        pair.writer = writer
        for chunk in pair.pending:
            writer.write(chunk)
        pair.pending.clear()
        if pair.client_done.is_set():
            self._client_finished(pair)
        from_pod = asyncio.ensure_future(self._from_pod(pair, reader))
        client = asyncio.ensure_future(pair.client_done.wait())
        try:
            done, _ = await asyncio.wait({from_pod, client}, return_when=asyncio.FIRST_COMPLETED)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(DRAIN_TIMEOUT):
                    await asyncio.shield(client if from_pod in done else from_pod)
        finally:
            from_pod.cancel()
            client.cancel()
            writer.close()
            await self._close_streams(pair)

    async def _from_pod(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(65536):
                if pair.data_reset or self.closed:
                    return
                await self.send(spdy.DataFrame(pair.data, chunk))

    async def _close_streams(self, pair: _Pair) -> None:
        frames: list[spdy.Frame] = [spdy.DataFrame(pair.error, b"", fin=True)]
        if not pair.data_reset:
            frames.append(spdy.DataFrame(pair.data, b"", fin=True))
        await self.send(*frames)
        for sid in (pair.error, pair.data):
            self._by_stream.pop(sid, None)
        self._pairs.pop(pair.request_id, None)
        for task in pair.tasks:
            if task is not asyncio.current_task():
                task.cancel()

    async def close(self) -> None:
        """The connection is gone: stop every bridge."""
        self.closed = True
        pairs = {id(p): p for p in [*self._pairs.values(), *self._by_stream.values()]}
        for pair in pairs.values():
            for task in pair.tasks:
                task.cancel()
            if pair.writer is not None:
                pair.writer.close()
        self._pairs.clear()
        self._by_stream.clear()


# ------------------------------------------------------------------------------------- the upgrades

#: the websocket subprotocol of SPDY tunnelled in a websocket (kubectl 1.30+, PortForwardWebsockets)
TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
#: the port-forward protocol negotiated in ``X-Stream-Protocol-Version`` on a plain SPDY upgrade
PROTOCOL = "portforward.k8s.io"

Track = Callable[[object, Any], None]


def websocket_protocols(request: web.Request) -> list[str]:
    return [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]


def wants_tunnel(request: web.Request) -> bool:
    """A websocket upgrade offering SPDY tunnelling (what kubectl tries first)."""
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    return upgrade and TUNNEL_PROTOCOL in websocket_protocols(request)


def wants_spdy(request: web.Request) -> bool:
    """A plain ``Upgrade: SPDY/3.1`` (kubectl's fallback, and every client before 1.30)."""
    return "spdy/3.1" in request.headers.get("Upgrade", "").lower()


async def _run(session: SpdyPortForward, chunks: asyncio.Queue[bytes | None]) -> None:
    try:
        while not session.closed and (data := await chunks.get()) is not None:
            await session.feed(data)
    finally:
        await session.close()


async def serve_tunnel(
    request: web.Request, pod: Pod, opened: Track, closed: Callable[[object], None]
) -> web.StreamResponse:
    """SPDY in a websocket, as the API server's ``TunnelingHandler`` serves it: each binary message is a
    slice of the SPDY byte stream, each write one binary message."""
    ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL,), autoping=True, max_msg_size=0)
    await ws.prepare(request)
    session = SpdyPortForward(pod, ws.send_bytes)
    opened(session, request.transport)
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
    runner = asyncio.ensure_future(_run(session, chunks))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                chunks.put_nowait(bytes(msg.data))
            if session.closed:
                break
    finally:
        chunks.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        closed(session)
        await ws.close()
    return ws


class _RawFeed:
    """Stands in for aiohttp's payload parser after a SPDY upgrade: raw bytes go to a queue."""

    def __init__(self, chunks: asyncio.Queue[bytes | None]) -> None:
        self._chunks = chunks

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._chunks.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self._chunks.put_nowait(None)


async def serve_upgrade(
    request: web.Request, pod: Pod, opened: Track, closed: Callable[[object], None]
) -> web.StreamResponse:
    """``Upgrade: SPDY/3.1`` with the kubelet's protocol handshake, then SPDY on the raw connection."""
    offered = [
        v.strip() for h in request.headers.getall("X-Stream-Protocol-Version", []) for v in h.split(",")
    ]
    if not [v for v in offered if v]:
        text = "unable to upgrade: header X-Stream-Protocol-Version does not exist in request"
        return web.Response(status=400, text=text + "\n")
    if PROTOCOL not in offered:
        text = "unable to upgrade: unable to negotiate protocol: "
        text += f"client supports {offered}, server accepts [{PROTOCOL}]"
        return web.Response(
            status=403, text=text + "\n", headers={"X-Accepted-Stream-Protocol-Versions": PROTOCOL}
        )
    if "upgrade" not in request.headers.get("Connection", "").lower():
        return web.Response(status=400, text="unable to upgrade: missing upgrade headers in request\n")
    headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": PROTOCOL}
    resp = web.StreamResponse(status=101, headers=headers)
    await resp.prepare(request)
    transport = request.transport
    assert transport is not None
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
    cast(Any, request.protocol).set_parser(_RawFeed(chunks))
    session = SpdyPortForward(pod, resp.write)
    opened(session, transport)
    try:
        await _run(session, chunks)
    finally:
        closed(session)
        transport.close()
    return resp
