"""Admin bodies are capped while they stream: hostile aiohttp servers on 127.0.0.1 send an endless
chunked body, 50 MB on every path, or drip a byte at a time. The poll ends with ``admin-bad-response``
words ("body larger than 16 MB") and the server could push only about the cap before gloomon hung up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest_asyncio
from aiohttp import web

from gloomon.domain.model import Component, EnvoyStats, ParseError, TargetRef
from gloomon.sources.admin import poller as admin
from gloomon.sources.admin.http import BODY_CAPS
from gloomon.sources.limits import MB

_MB_CHUNK = b"x" * MB
_STATS = b"server.state: 0\nserver.uptime: 12\n"
#: a body this size is "endless" to a client that never stops reading (the server stops there so that a
#: client without a cap ends the test with a wrong answer instead of hanging it)
_ENDLESS = 96 * MB
#: what the server may push beyond the cap before it sees the close: socket buffers on both sides
_SLACK = 12 * MB

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class HostileEnvoy:
    """An admin endpoint whose paths can be replaced by hostile handlers; counts bytes each one sent."""

    url: str = ""
    overrides: dict[str, Handler] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)
    hung_up: set[str] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        override = self.overrides.get(request.path)
        if override is not None:
            return await override(request)
        if request.path == "/stats":
            return web.Response(body=_STATS)
        return web.Response(body=b"{}", content_type="application/json")

    def chunked(self, total: int, *, length: bool = False) -> Handler:
        """A handler streaming ``total`` bytes in 1 MB chunks (with a Content-Length when ``length``)."""

        async def stream(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            if length:
                response.content_length = total
            await response.prepare(request)
            sent = 0
            try:
                while sent < total:
                    await response.write(_MB_CHUNK)
                    sent += len(_MB_CHUNK)
                    self.sent[request.path] = sent
                await response.write_eof()
            except (ConnectionError, asyncio.CancelledError):
                self.hung_up.add(request.path)
                raise
            return response

        return stream


@pytest_asyncio.fixture
async def envoy() -> AsyncIterator[HostileEnvoy]:
    fake = HostileEnvoy()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


def _target(url: str) -> TargetRef:
    return TargetRef("direct", "gloo-system", Component.GLOO, "gloo-1", url)


async def _fetch_once(url: str, timeout: float = 20.0) -> admin.AdminFetch:
    poller = admin.AdminPoller(request_timeout=timeout, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC))
    try:
        return await poller.fetch(_target(url))
    finally:
        await poller.aclose()


async def _settled(envoy: HostileEnvoy, paths: set[str]) -> None:
    """Wait until the server noticed the close on every path (its handler is cancelled or fails)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not paths <= envoy.hung_up:
        assert loop.time() < deadline, f"the server still streams on {sorted(paths - envoy.hung_up)}"
        await asyncio.sleep(0.01)


async def test_an_endless_config_dump_is_cut_at_its_cap_and_is_a_bad_response(envoy: HostileEnvoy) -> None:
    envoy.overrides["/config_dump"] = envoy.chunked(_ENDLESS)
    fetch = await _fetch_once(envoy.url)
    await _settled(envoy, {"/config_dump"})
    assert fetch.reachable  # it answered HTTP: not "unreachable"
    assert fetch.secrets == ParseError("/config_dump", "body larger than 16 MB")
    assert isinstance(fetch.stats, EnvoyStats)  # the other endpoints are still read
    assert envoy.sent["/config_dump"] <= BODY_CAPS["/config_dump"] + _SLACK


async def test_50_mb_on_every_path_costs_each_path_only_its_cap(envoy: HostileEnvoy) -> None:
    paths = ["/config_dump", "/clusters", "/stats", "/certs", "/ready"]
    for path in paths:
        envoy.overrides[path] = envoy.chunked(50 * MB)
    fetch = await _fetch_once(envoy.url)
    await _settled(envoy, set(paths))
    assert fetch.secrets == ParseError("/config_dump", "body larger than 16 MB")
    assert fetch.clusters == ParseError("/clusters", "body larger than 16 MB")
    assert fetch.stats == ParseError("/stats", "body larger than 16 MB")
    assert fetch.certs == ParseError("/certs", "body larger than 16 MB")
    assert fetch.server == ParseError("/ready", "/ready: body larger than 1 MB")
    for path in paths:
        assert envoy.sent[path] <= BODY_CAPS[path] + _SLACK, path


async def test_an_announced_oversized_body_is_refused_before_reading_it(envoy: HostileEnvoy) -> None:
    envoy.overrides["/server_info"] = envoy.chunked(50 * MB, length=True)
    fetch = await _fetch_once(envoy.url)
    await _settled(envoy, {"/server_info"})
    assert fetch.server == ParseError("/server_info", "body larger than 2 MB")
    assert envoy.sent["/server_info"] <= _SLACK  # refused on its Content-Length alone


async def test_a_connection_that_hit_the_cap_is_not_reused(envoy: HostileEnvoy) -> None:
    """The rest of the big body is still on the wire: the next request must not read it as its answer."""
    envoy.overrides["/clusters"] = envoy.chunked(_ENDLESS)
    fetch = await _fetch_once(envoy.url)
    assert fetch.clusters == ParseError("/clusters", "body larger than 16 MB")
    assert isinstance(fetch.stats, EnvoyStats) and fetch.stats.raw.get("server.uptime") == 12


async def test_a_slow_drip_ends_at_the_request_timeout(envoy: HostileEnvoy) -> None:
    dripped: list[int] = []

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"{")
                dripped.append(1)
                await asyncio.sleep(0.02)
        except (ConnectionError, asyncio.CancelledError):
            envoy.hung_up.add(request.path)
            raise

    envoy.overrides["/config_dump"] = drip
    fetch = await _fetch_once(envoy.url, timeout=0.5)
    await _settled(envoy, {"/config_dump"})
    assert fetch.error == "admin endpoint timed out after 0.5s"
    assert 0 < len(dripped) < 1000  # it was read while it dripped, and given up
