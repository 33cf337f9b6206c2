"""``kubectl port-forward``, natively in asyncio: a loopback listener bridged to a pod's admin port.

Each accepted TCP connection gets its own API ``portforward`` websocket (``v4.channel.k8s.io``, the only
protocol the aio client speaks): the server first sends, on the data channel 0 and the error channel 1, a
3-byte frame ``[channel, port lo, port hi]``; afterwards every binary frame is ``[channel] + payload``, data
on 0, error text on 1. A keep-alive HTTP client therefore costs one websocket per pod, reused across polls.

The listener binds ``127.0.0.1`` only and stays on the same port when the forward is re-targeted to a new
pod, so an address shown to the user (to ``curl``) keeps working across pod restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gloomon.domain.model import ForwardState, ForwardStatus
from gloomon.domain.text import one_line
from gloomon.sources.errors import describe_exception
from gloomon.sources.kube.credentials import renew_after_unauthorized, token_of
from gloomon.tasks import cancel_and_wait

if TYPE_CHECKING:
    from datetime import datetime

    from gloomon.sources.kube.config import KubeConnection

_DATA, _ERROR = 0, 1
_CHUNK = 64 * 1024


class PodForward:
    """A loopback listener forwarding to ``port`` of pod ``pod`` through the Kubernetes API.

    ``on_pod_gone(forward)`` is called (once per pod) when the API says the pod no longer exists, so the
    owner can re-target the forward to the component's new pod.
    """

    def __init__(
        self,
        connection: KubeConnection,
        namespace: str,
        pod: str,
        port: int,
        *,
        clock: Callable[[], datetime],
        connect_timeout: float = 5.0,
        on_pod_gone: Callable[[PodForward], None] | None = None,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        self.pod = pod
        self.port = port
        self._clock = clock
        self._connect_timeout = connect_timeout
        self._on_pod_gone = on_pod_gone
        self._server: asyncio.Server | None = None
        self._bridges: set[asyncio.Task[None]] = set()
        self._gone_reported: str | None = None
        self._state = ForwardState(ForwardStatus.CONNECTING, since=clock())
        self._core_ws = connection.core(websocket=True)

    # ------------------------------------------------------------------ observable state

    @property
    def state(self) -> ForwardState:
        return self._state

    @property
    def local_address(self) -> str | None:
        return self._state.local_address

    @property
    def url(self) -> str | None:
        address = self.local_address
        return f"http://{address}" if address else None

    def _set(self, status: ForwardStatus, error: str | None = None, *, pod: str | None = None) -> None:
        """Record the forward's state; an outcome of a bridge to ``pod`` is ignored once re-targeted away."""
        if pod is not None and pod != self.pod:
            return
        if status != self._state.status or error != self._state.error:
            since = self._state.since if status == self._state.status else self._clock()
            self._state = ForwardState(status, self._state.local_address, since, error)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind ``127.0.0.1:<ephemeral>``; connections are bridged from then on."""
        self._server = await asyncio.start_server(self._accept, host="127.0.0.1", port=0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self._state = ForwardState(ForwardStatus.CONNECTING, f"{host}:{port}", self._clock())

    def retarget(self, pod: str, port: int | None = None, namespace: str | None = None) -> None:
        """Point new connections at ``pod`` (same local address); open bridges to the old pod are closed."""
        namespace = namespace or self.namespace
        if pod == self.pod and (port is None or port == self.port) and namespace == self.namespace:
            return
        self.pod = pod
        self.namespace = namespace
        self.port = port if port is not None else self.port
        self._gone_reported = None
        for task in list(self._bridges):
            task.cancel()
        self._state = ForwardState(ForwardStatus.CONNECTING, self._state.local_address, self._clock())

    def mark_down(self, reason: str) -> None:
        self._set(ForwardStatus.DOWN, reason)

    async def close(self) -> None:
        """Stop listening and close every bridge (and its websocket)."""
        if self._server is not None:
            self._server.close()
        await cancel_and_wait(*self._bridges)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None
        self._set(ForwardStatus.DOWN, self._state.error)

    # ------------------------------------------------------------------ one bridged connection

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._bridges.add(task)
        try:
            await self._bridge(reader, writer, self.pod, self.port)
        except asyncio.CancelledError:
            pass
        finally:
            self._bridges.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _bridge(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pod: str, port: int
    ) -> None:
        import aiohttp

        try:
            ws = await self._open(pod, port)
        except aiohttp.WSServerHandshakeError as exc:
            self._handshake_failed(pod, exc.status)
            return
        except Exception as exc:  # unreachable API, TLS, timeout: all transient
            reason = f"cannot reach the Kubernetes API: {describe_exception(exc)}"
            self._set(self._failing(), reason, pod=pod)
            return
        try:
            if not await self._read_port_frames(ws, pod, port):
                return
            self._set(ForwardStatus.UP, pod=pod)
            await self._pump(reader, writer, ws, pod)
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    async def _open(self, pod: str, port: int) -> Any:
        """The portforward websocket; a 401 renews rotating credentials (``credentials``) and retries once."""
        import aiohttp

        sent = token_of(self._core_ws)
        try:
            return await self._connect(pod, port)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status != 401 or not await renew_after_unauthorized(self._core_ws, sent):
                raise
        return await self._connect(pod, port)

    async def _connect(self, pod: str, port: int) -> Any:
        async with asyncio.timeout(self._connect_timeout):
            api = self._core_ws
            context = await api.connect_get_namespaced_pod_portforward_without_preload_content(
                pod, self.namespace, ports=str(port)
            )
            return await context.__aenter__()

    def _failing(self) -> ForwardStatus:
        return (
            ForwardStatus.CONNECTING
            if self._state.status == ForwardStatus.CONNECTING
            else (ForwardStatus.RECONNECTING)
        )

    def _handshake_failed(self, pod: str, status: int) -> None:
        if pod != self.pod:
            return  # a bridge accepted before retarget(): its pod is not this forward's any more
        if status == 404:
            self._set(ForwardStatus.RECONNECTING, f"pod {pod} not found")
            if self._on_pod_gone is not None and self._gone_reported != pod:
                self._gone_reported = pod
                self._on_pod_gone(self)
        elif status in (401, 403):
            word = "unauthorized" if status == 401 else "forbidden"
            hint = "needs 'create' on pods/portforward"
            self._set(ForwardStatus.DOWN, f"port-forward {word} ({status}): {hint}")
        else:
            self._set(self._failing(), f"port-forward refused by the API (HTTP {status})")

    async def _read_port_frames(self, ws: object, pod: str, port: int) -> bool:
        """Consume the two ``[channel, port lo, port hi]`` frames; False (state set) when they are wrong."""
        import aiohttp

        assert isinstance(ws, aiohttp.ClientWebSocketResponse)
        try:
            async with asyncio.timeout(self._connect_timeout):
                for expected in (_DATA, _ERROR):
                    message = await ws.receive()
                    if message.type != aiohttp.WSMsgType.BINARY:
                        self._set(self._failing(), "port-forward closed before it started", pod=pod)
                        return False
                    frame = bytes(message.data)
                    if len(frame) != 3 or frame[0] != expected or int.from_bytes(frame[1:], "little") != port:
                        reason = "port-forward: unexpected first frame (not v4.channel)"
                        self._set(ForwardStatus.DOWN, reason, pod=pod)
                        return False
        except TimeoutError:
            self._set(self._failing(), "port-forward: no answer from the API server", pod=pod)
            return False
        return True

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: object, pod: str
    ) -> None:
        """Copy bytes both ways until either side ends; an error-channel frame is recorded as the reason."""
        import aiohttp

        assert isinstance(ws, aiohttp.ClientWebSocketResponse)

        async def upstream() -> None:
            while data := await reader.read(_CHUNK):
                await ws.send_bytes(b"\x00" + data)

        async def downstream() -> None:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.BINARY or not message.data:
                    break
                channel, payload = message.data[0], message.data[1:]
                if channel == _DATA:
                    writer.write(payload)
                    await writer.drain()
                elif channel == _ERROR and payload:
                    text = one_line(bytes(payload).decode("utf-8", "replace"))
                    self._set(ForwardStatus.RECONNECTING, f"pod {pod}: {text}", pod=pod)
                    return
            else:
                if not reader.at_eof():  # the API (not our client) ended the stream
                    reason = "port-forward stream closed by the API server"
                    self._set(ForwardStatus.RECONNECTING, reason, pod=pod)

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait(*tasks)
