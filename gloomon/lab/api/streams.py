"""The API façade's long-lived endpoints: pod logs (kubelet semantics) and pod port-forward.

Port-forward speaks what a 1.30+ cluster speaks, bridged to the pod's real loopback ports (its Envoy
admin…):

* SPDY/3.1 tunnelled in a websocket (subprotocol ``SPDY/3.1+portforward.k8s.io``; kubectl's first try)
  and a plain ``Upgrade: SPDY/3.1`` (kubectl's fallback): :mod:`gloomon.lab.api.spdy_forward`. With
  ``tunnel_websockets`` off the tunnel is refused as a cluster without ``PortForwardWebsockets`` refuses
  it (the kubelet's 400 ``query parameter "port" is required``), and kubectl falls back to SPDY;
* the kubelet's websocket protocol ``v4.channel.k8s.io`` (and its base64 twin; gloomon's own client):
  for the i-th port of the ``ports`` query, data travels on channel 2i and errors on 2i+1; the server
  first sends a 3-byte ``[channel, port lo, port hi]`` frame on both.

Both kinds of stream (logs, forwards) can be cut on demand to exercise clients' reconnect paths.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aiohttp import WSMsgType, web

from gloomon.domain.parse.wire import parse_timestamp
from gloomon.lab.api import objects, spdy_forward
from gloomon.lab.api.tables import table, wants_table
from gloomon.lab.cluster.container_logs import ContainerLog, LogLine
from gloomon.lab.cluster.store import ClusterStore, Pod
from gloomon.lab.cluster.util import now_utc, rfc3339_nano
from gloomon.tasks import cancel_and_wait

_PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io")


def _status(code: int, reason: str, message: str) -> web.Response:
    return web.Response(
        status=code, text=json.dumps(objects.status(code, reason, message)), content_type="application/json"
    )


class StreamHub:
    """Serves and tracks open log follows and port-forwards so faults can cut them."""

    def __init__(self, cluster: ClusterStore) -> None:
        self.cluster = cluster
        self._log_cuts: set[asyncio.Event] = set()
        self._forwards: set[object] = set()
        self._forward_transports: dict[object, Any] = {}
        #: SPDY tunnelled in websockets accepted (a 1.30+ API server); off, kubectl falls back to SPDY
        self.tunnel_websockets = True
        #: port-forward sessions opened, by protocol: ``SPDY/3.1+portforward.k8s.io``, ``SPDY/3.1``,
        #: ``v4.channel.k8s.io``…
        self.forwards_by_protocol: Counter[str] = Counter()

    @property
    def open_port_forwards(self) -> int:
        return len(self._forwards)

    @property
    def open_log_follows(self) -> int:
        return len(self._log_cuts)

    def _pod(self, request: web.Request) -> Pod | None:
        ns = self.cluster.namespaces.get(request.match_info["ns"])
        return ns.pods.get(request.match_info["name"]) if ns is not None else None

    # ---------------------------------------------------------------------------------------- logs

    async def pod_log(self, request: web.Request) -> web.StreamResponse:
        pod = self._pod(request)
        name = request.match_info["name"]
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        query = request.query
        cname = query.get("container")
        if cname is None:
            if len(pod.containers) != 1:
                names = " ".join(c.name for c in pod.containers)
                return _status(
                    400,
                    "BadRequest",
                    f"a container name must be specified for pod {name}, choose one of: [{names}]",
                )
            cname = pod.containers[0].name
        container = pod.container(cname)
        if container is None:
            return _status(400, "BadRequest", f"container {cname} is not valid for pod {name}")
        if container.waiting_reason == "ContainerCreating" and query.get("previous") != "true":
            message = f'container "{cname}" in pod "{name}" is waiting to start: ContainerCreating'
            return _status(400, "BadRequest", message)
        log: ContainerLog | None = container.log
        if query.get("previous") == "true":
            log = container.previous
            if log is None:
                return _status(
                    400, "BadRequest", f'previous terminated container "{cname}" in pod "{name}" not found'
                )
        assert log is not None
        try:
            tail = int(query["tailLines"]) if "tailLines" in query else None
            since = None
            if "sinceSeconds" in query:
                since = now_utc() - timedelta(seconds=int(query["sinceSeconds"]))
            elif "sinceTime" in query:
                since = parse_timestamp(query["sinceTime"])
                if since is None:
                    raise ValueError(query["sinceTime"])
        except ValueError as exc:
            return _status(400, "BadRequest", f"invalid log options: {exc}")
        stamps = query.get("timestamps") == "true"
        follow = query.get("follow") == "true"
        lines, index = log.snapshot(tail=tail, since=since)
        resp = web.StreamResponse(
            status=200, headers={"Content-Type": "text/plain", "Cache-Control": "no-cache"}
        )
        resp.enable_chunked_encoding()
        await resp.prepare(request)

        def render(line: LogLine) -> bytes:
            text = f"{rfc3339_nano(line.ts)} {line.text}\n" if stamps else f"{line.text}\n"
            return text.encode()

        # ConnectionResetError: the client went away (a dropped follow, a stopped gloomon); not an error.
        with contextlib.suppress(ConnectionResetError):
            await self._stream_log(request, resp, log, lines, index, follow, render)
        return resp

    async def _stream_log(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        log: ContainerLog,
        lines: list[LogLine],
        index: int,
        follow: bool,
        render: Callable[[LogLine], bytes],
    ) -> None:
        """Write the backlog, then follow until the log ends or the stream is cut."""
        if lines:
            await resp.write(b"".join(render(line) for line in lines))
        if not follow or log.closed:
            await resp.write_eof()
            return
        cut = asyncio.Event()
        self._log_cuts.add(cut)
        cut_wait = asyncio.ensure_future(cut.wait())
        stream = log.follow(index)
        try:
            while True:
                nxt = asyncio.ensure_future(anext(stream))
                done, _ = await asyncio.wait({nxt, cut_wait}, return_when=asyncio.FIRST_COMPLETED)
                if cut_wait in done:
                    await cancel_and_wait(nxt)
                    if request.transport is not None:
                        request.transport.abort()
                    return
                try:
                    line = nxt.result()
                except StopAsyncIteration:
                    break
                await resp.write(render(line))
            await resp.write_eof()
        finally:
            cut_wait.cancel()
            self._log_cuts.discard(cut)
            await stream.aclose()

    async def watch_pods(self, request: web.Request, selector: Any) -> web.StreamResponse:
        """``?watch=true``: ADDED/MODIFIED/DELETED events, one JSON object per line, until timeoutSeconds."""
        from gloomon.lab.api.selectors import matches

        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        timeout = float(request.query.get("timeoutSeconds", "1800"))
        as_table, columns_sent = wants_table(request.headers.get("Accept", "")), False
        initial = request.query.get("resourceVersion", "") in ("", "0")
        scope = request.match_info.get("ns")  # None: every namespace (``kubectl get pods -A -w``)

        def pods() -> list[Pod]:
            return [p for ns in self.cluster.scoped(scope) for p in ns.pods_of()]

        known: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        if not initial:
            known = {(p.namespace, p.name): (p.resource_version, objects.pod_json(p)) for p in pods()}
        cut = asyncio.Event()
        self._log_cuts.add(cut)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        try:
            while loop.time() < end and not cut.is_set():
                current = {
                    (p.namespace, p.name): p for p in pods() if matches(selector, objects.pod_labels(p))
                }
                events = []
                for key, pod in current.items():
                    if key not in known or known[key][0] != pod.resource_version:
                        body = objects.pod_json(pod)
                        events.append(("ADDED" if key not in known else "MODIFIED", body))
                        known[key] = (pod.resource_version, body)
                for key in [k for k in known if k not in current]:
                    events.append(("DELETED", known.pop(key)[1]))
                for kind, body in events:
                    obj = body
                    if as_table:  # kubectl get -w: each event a one-row Table, the columns once
                        obj = table("Pod", [body], body["metadata"]["resourceVersion"])
                        if columns_sent:
                            obj["columnDefinitions"] = []
                        columns_sent = True
                    await resp.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.25):
                        await cut.wait()
            if cut.is_set() and request.transport is not None:
                request.transport.abort()
                return resp
            await resp.write_eof()
        finally:
            self._log_cuts.discard(cut)
        return resp

    def cut_logs(self) -> int:
        cuts = list(self._log_cuts)
        for cut in cuts:
            cut.set()
        return len(cuts)

    # -------------------------------------------------------------------------------- port-forward

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        pod = self._pod(request)
        name = request.match_info["name"]
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        if spdy_forward.wants_tunnel(request) and self.tunnel_websockets:
            self.forwards_by_protocol[spdy_forward.TUNNEL_PROTOCOL] += 1
            return await spdy_forward.serve_tunnel(request, pod, self._opened, self._closed)
        if spdy_forward.wants_spdy(request):
            self.forwards_by_protocol["SPDY/3.1"] += 1
            return await spdy_forward.serve_upgrade(request, pod, self._opened, self._closed)
        ports: list[int] = []
        try:
            for value in request.query.getall("ports", []):
                ports.extend(int(p) for p in value.split(",") if p.strip())
        except ValueError:
            return _status(400, "BadRequest", "invalid port in ports query")
        if not ports:
            return _status(400, "BadRequest", 'query parameter "port" is required')
        ws = web.WebSocketResponse(protocols=_PROTOCOLS, autoping=True)
        if not ws.can_prepare(request).ok:
            return _status(400, "BadRequest", "Upgrade request required")
        await ws.prepare(request)
        b64 = ws.ws_protocol == "v4.base64.channel.k8s.io"
        self.forwards_by_protocol[ws.ws_protocol or ""] += 1
        self._forwards.add(ws)
        self._forward_transports[ws] = request.transport
        tasks: list[asyncio.Task[None]] = []
        writers: dict[int, asyncio.StreamWriter] = {}
        try:

            async def send(channel: int, payload: bytes) -> None:
                if b64:
                    await ws.send_str(str(channel) + base64.b64encode(payload).decode())
                else:
                    await ws.send_bytes(bytes([channel]) + payload)

            for i, port in enumerate(ports):
                prefix = bytes([port & 0xFF, port >> 8])
                await send(2 * i, prefix)
                await send(2 * i + 1, prefix)
            for i, port in enumerate(ports):
                real = pod.port_map.get(port)
                try:
                    if real is None:
                        raise ConnectionRefusedError(111, "connect: connection refused")
                    reader, writer = await asyncio.open_connection("127.0.0.1", real)
                except OSError as exc:
                    message = (
                        f"error forwarding port {port} to pod {pod.uid}, uid : failed to execute portforward "
                        f"in network namespace: failed to connect to localhost:{port} inside namespace, "
                        f"IPv4: dial tcp4 127.0.0.1:{port}: {exc.strerror or 'connect: connection refused'}"
                    )
                    await send(2 * i + 1, message.encode())
                    continue
                writers[i] = writer
                tasks.append(asyncio.ensure_future(self._pump(reader, send, 2 * i, ws)))
            if not writers:
                await ws.close()
                return ws
            async for msg in ws:
                if msg.type == WSMsgType.BINARY:
                    data = bytes(msg.data)
                elif msg.type == WSMsgType.TEXT and b64:
                    text = str(msg.data)
                    data = bytes([int(text[0])]) + base64.b64decode(text[1:]) if text else b""
                else:
                    continue
                if not data:
                    continue
                channel, payload = data[0], data[1:]
                target = writers.get(channel // 2) if channel % 2 == 0 else None
                if target is not None and payload:
                    target.write(payload)
                    with contextlib.suppress(ConnectionError):
                        await target.drain()
        finally:
            for task in tasks:
                task.cancel()
            for writer in writers.values():
                writer.close()
            self._forwards.discard(ws)
            self._forward_transports.pop(ws, None)
        return ws

    def _opened(self, forward: object, transport: Any) -> None:
        self._forwards.add(forward)
        self._forward_transports[forward] = transport

    def _closed(self, forward: object) -> None:
        self._forwards.discard(forward)
        self._forward_transports.pop(forward, None)

    async def _pump(
        self, reader: asyncio.StreamReader, send: Any, channel: int, ws: web.WebSocketResponse
    ) -> None:
        """Pod → client on the data channel; when the pod side closes, so does the forward."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            while chunk := await reader.read(65536):
                await send(channel, chunk)
            await ws.close()

    def cut_forwards(self) -> int:
        count = 0
        for ws, transport in list(self._forward_transports.items()):
            if transport is not None:
                transport.abort()
            self._forwards.discard(ws)
            count += 1
        self._forward_transports.clear()
        return count

    async def cut_all(self) -> None:
        self.cut_logs()
        self.cut_forwards()
        await asyncio.sleep(0)
