"""The exporter's HTTP server (aiohttp) and the loop that feeds it from the session's snapshots.

``/metrics`` (OpenMetrics when the scrape's ``Accept`` asks for it, else text 0.0.4), ``/healthz`` (the
process answers), ``/readyz`` (503 until the first poll is done), ``/snapshot.json`` (the ``check -o
json`` document). Every answer is bytes rendered when the last snapshot arrived; a scrape reads them and
nothing else, so scrapes never trigger or slow down polls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from aiohttp import web

from gloomon.domain.model import FleetSnapshot
from gloomon.exporter.exposition import Rendered
from gloomon.exporter.metrics import FleetMetrics


class SnapshotSource(Protocol):
    """What the exporter asks of its session (:class:`gloomon.sources.session.MonitorSession` fits):
    the dashboard's Session protocol without the log stream and the refresh key."""

    async def start(self) -> None:
        """Connect and discover; raises with a clear message when nothing can be monitored."""

    def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        """One snapshot per poll, for as long as the session runs."""

    async def stop(self) -> None:
        """Close every connection."""


class Exporter:
    """The metrics of the snapshots seen so far and the bytes every endpoint serves."""

    def __init__(self) -> None:
        self.metrics = FleetMetrics()
        self.rendered = Rendered.of(self.metrics)

    def update(self, snapshot: FleetSnapshot) -> None:
        self.metrics.update(snapshot)
        self.rendered = Rendered.of(self.metrics)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/snapshot.json", self._snapshot)
        app.router.add_get("/", self._index)
        return app

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.rendered.exposition(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self.rendered.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="waiting for the first poll\n")

    async def _snapshot(self, request: web.Request) -> web.Response:
        document = self.rendered.snapshot_json
        if document is None:
            return web.Response(status=503, text="waiting for the first poll\n")
        return web.Response(body=document, content_type="application/json")

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="gloomon exporter: /metrics /healthz /readyz /snapshot.json\n")


class HttpThread:
    """The exporter's aiohttp server on a thread and event loop of its own.

    A poll of 200 Envoys keeps the session's loop busy for a second or more (parsing, judging); a scrape
    waiting behind it would take as long. On its own loop a scrape waits for the interpreter only (a
    few ms), and reads ``exporter.rendered``, which the poll loop replaces in one assignment.
    """

    def __init__(self, exporter: Exporter, host: str, port: int) -> None:
        self.exporter = exporter
        self.host, self.port = host, port
        self.address = ""
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(exporter.app(), access_log=None, handle_signals=False)
        self._thread = threading.Thread(target=self._loop.run_forever, name="gloomon-http", daemon=True)

    def start(self) -> str:
        """Listen (raising OSError when the address cannot be used) and serve; return ``host:port``."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result()
        return self.address

    async def _listen(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.address = _address(site, self.host, self.port)

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()


async def serve(
    source: SnapshotSource,
    host: str,
    port: int,
    *,
    on_listening: Callable[[str], None] = lambda address: None,
) -> None:
    """Listen on ``host:port``, start ``source`` and export each of its snapshots until cancelled.

    The listener comes first, so ``/healthz`` answers (and ``/readyz`` says 503) while the session
    connects; an error of ``source.start()`` propagates after the listener is closed.
    """
    exporter = Exporter()
    http = HttpThread(exporter, host, port)
    try:
        on_listening(await asyncio.to_thread(http.start))
        await source.start()
        try:
            async for snapshot in source.snapshots():
                exporter.update(snapshot)
        finally:
            await source.stop()
    finally:
        await asyncio.to_thread(http.stop)


def _address(site: web.TCPSite, host: str, port: int) -> str:
    """``host:port`` actually bound (the port chosen by the kernel when ``port`` is 0)."""
    sockets = getattr(site._server, "sockets", None) or ()
    if sockets:
        port = sockets[0].getsockname()[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
