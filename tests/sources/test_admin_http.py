"""AdminPoller over real HTTP (a tiny aiohttp server standing in for Envoy's admin): connection reuse, error
lines for dead, slow and failing endpoints, redirects, closing. No lab needed."""

from __future__ import annotations

import asyncio
import base64
import gc
import socket
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest_asyncio
from aiohttp import web

from gloomon.domain.model import Component, EnvoyStats, ParseError, ServerInfo, TargetRef
from gloomon.settings import DirectTarget
from gloomon.sources.admin import poller as admin
from gloomon.sources.admin.http import http_error
from gloomon.sources.direct import direct_targets

_STATS = b"server.state: 0\nserver.uptime: 12\nserver.live: 1\n"
_SERVER_INFO = (
    b'{"version": "abc/1.40.0/Clean/RELEASE/BoringSSL", "state": "LIVE", "uptime_current_epoch": "12s"}'
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class FakeEnvoy:
    """An admin endpoint whose answers a test can override per path; counts connections and requests."""

    url: str = ""
    overrides: dict[str, Handler] = field(default_factory=dict)
    peers: set[object] = field(default_factory=set)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        self.headers.append(dict(request.headers))
        assert request.transport is not None
        self.peers.add(request.transport.get_extra_info("peername"))
        if request.transport not in self.transports:
            self.transports.append(request.transport)
        override = self.overrides.get(request.path)
        if override is not None:
            return await override(request)
        if request.path == "/stats":
            return web.Response(body=_STATS)
        if request.path == "/server_info":
            return web.Response(body=_SERVER_INFO, content_type="application/json")
        return web.Response(body=b"{}", content_type="application/json")


@pytest_asyncio.fixture
async def envoy() -> AsyncIterator[FakeEnvoy]:
    fake = FakeEnvoy()
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


def _target(url: str | None, pod: str = "gloo-1") -> TargetRef:
    return TargetRef("direct", "gloo-system", Component.GLOO, pod, url)


def _poller(timeout: float = 2.0) -> admin.AdminPoller:
    return admin.AdminPoller(request_timeout=timeout, clock=lambda: datetime(2026, 11, 25, tzinfo=UTC))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_polls_reuse_one_connection_and_send_plain_requests(envoy: FakeEnvoy) -> None:
    poller = _poller()
    try:
        first = await poller.fetch(_target(envoy.url))
        second = await poller.fetch(_target(envoy.url))
    finally:
        await poller.aclose()
    assert first.error is None and second.error is None
    assert isinstance(first.stats, EnvoyStats) and isinstance(first.server, ServerInfo)
    assert first.server.state == "LIVE" and first.server.version == "1.40.0"
    assert len(envoy.peers) == 1  # one keep-alive connection for every request of both polls
    assert envoy.requests.count("/server_info") == 1  # once per target, not per poll
    assert "/ready" not in envoy.requests  # the server.state gauge stood in for it
    assert all(h.get("Accept-Encoding") == "identity" for h in envoy.headers)
    assert all("Cookie" not in h for h in envoy.headers)


async def test_a_keep_alive_connection_closed_by_the_far_end_costs_no_error(envoy: FakeEnvoy) -> None:
    poller = _poller()
    try:
        assert (await poller.fetch(_target(envoy.url))).error is None
        for transport in envoy.transports:
            transport.close()  # what a cut port-forward does to the idle connection
        await asyncio.sleep(0)
        again = await poller.fetch(_target(envoy.url))
    finally:
        await poller.aclose()
    assert again.error is None and isinstance(again.stats, EnvoyStats)
    assert len(envoy.peers) == 2


async def test_refused_connection_is_one_clear_line() -> None:
    poller = _poller()
    try:
        fetch = await poller.fetch(_target(f"http://127.0.0.1:{_free_port()}"))
    finally:
        await poller.aclose()
    assert fetch.error == "admin endpoint unreachable: connection refused"
    assert not fetch.reachable and fetch.secrets is None


async def test_silent_endpoint_times_out_with_the_timeout_named(envoy: FakeEnvoy) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        raise AssertionError("unreachable")

    envoy.overrides["/config_dump"] = hang
    poller = _poller(timeout=0.2)
    try:
        fetch = await poller.fetch(_target(envoy.url))
    finally:
        await poller.aclose()
    assert fetch.error == "admin endpoint timed out after 0.2s"
    assert envoy.requests == ["/config_dump"]  # a dead target is not asked the rest


async def test_a_later_request_failing_keeps_what_was_fetched(envoy: FakeEnvoy) -> None:
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        raise AssertionError("unreachable")

    envoy.overrides["/stats"] = hang
    poller = _poller(timeout=0.2)
    try:
        fetch = await poller.fetch(_target(envoy.url))
    finally:
        await poller.aclose()
    assert fetch.error == "admin request failed: /stats: timed out after 0.2s"
    assert fetch.secrets is not None and fetch.clusters is not None and fetch.stats is None


async def test_http_errors_and_redirects_are_parse_errors_with_sanitised_text(envoy: FakeEnvoy) -> None:
    async def unavailable(request: web.Request) -> web.Response:
        body = b"\x1b[31mLIVE\x1b[0m\r\n" + "\u202eevil".encode() + b"x" * 500
        return web.Response(status=503, body=body)

    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://198.51.100.1/elsewhere"})

    envoy.overrides["/config_dump"] = unavailable
    envoy.overrides["/clusters"] = redirect
    poller = _poller()
    try:
        fetch = await poller.fetch(_target(envoy.url))
    finally:
        await poller.aclose()
    assert fetch.error is None  # the endpoint answered: reachable, its answers were not the resources
    assert isinstance(fetch.secrets, ParseError) and fetch.secrets.source == "/config_dump"
    assert fetch.secrets.message.startswith("HTTP 503: LIVE evilxxx")
    assert "\x1b" not in fetch.secrets.message and len(fetch.secrets.message) < 80
    assert isinstance(fetch.clusters, ParseError) and fetch.clusters.message == "HTTP 302"
    assert "/elsewhere" not in envoy.requests


def test_http_error_is_one_inert_line_of_the_body() -> None:
    assert http_error(503, "a\x1b]52;c;x\x07b\u202ec\u200bd\ne".encode()) == "HTTP 503: abcd e"
    assert http_error(503, b"\xff\xfeok") == "HTTP 503: \ufffd\ufffdok"
    assert http_error(503, b"y" * 100) == "HTTP 503: " + "y" * 59 + "…"
    assert http_error(500, b"") == "HTTP 500"


async def test_forgotten_and_remaining_connections_are_closed_without_warnings(envoy: FakeEnvoy) -> None:
    poller = _poller()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await poller.fetch_all([_target(envoy.url, "gloo-1"), _target(envoy.url + "/", "gloo-2")])
        gone = poller.forget({envoy.url}, {_target(envoy.url).key})
        assert len(gone) == 1 and not gone[0].closed
        await poller.aclose()  # also closes the retired connection nobody closed
        assert gone[0].closed
        await gone[0].aclose()  # twice is harmless
        gc.collect()
        await asyncio.sleep(0)
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_target_without_an_admin_url_says_why() -> None:
    poller = _poller()
    fetch = await poller.fetch(_target(None))
    await poller.aclose()
    assert fetch.error == "no admin address"


async def test_server_info_is_passed_on_as_read_with_when_it_was_read(envoy: FakeEnvoy) -> None:
    """The poller reports the fact (uptime 12 s, read at the first poll) and ages nothing: the domain
    dates the Envoy's start from it."""
    times = iter([datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 25, 0, 10, tzinfo=UTC)])
    poller = admin.AdminPoller(request_timeout=2.0, clock=lambda: next(times))
    first, second = [await poller.fetch(_target(envoy.url)) for _ in range(2)]
    await poller.aclose()
    assert envoy.requests.count("/server_info") == 1
    for fetched in (first, second):
        assert isinstance(fetched.server, ServerInfo) and fetched.server.uptime_seconds == 12
        assert fetched.server.read_at == first.fetched_at and fetched.server.state == "LIVE"
    assert second.fetched_at > first.fetched_at


async def test_target_credentials_are_sent_but_not_shown() -> None:
    seen: list[str | None] = []

    async def ready(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(text="LIVE")

    app = web.Application()
    app.router.add_get("/ready", ready)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        poller = admin.AdminPoller(
            request_timeout=2.0, clock=lambda: datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
        )
        url = f"http://user:pa55@127.0.0.1:{port}/"
        (ref,) = direct_targets([DirectTarget("g", Component.GLOO, url)], "ns", poller.request_urls)
        assert ref.admin_url == f"http://127.0.0.1:{port}"
        assert ref.forward is not None and ref.forward.local_address == f"127.0.0.1:{port}"
        status, _ = await poller._connection(ref.admin_url).get("/ready")
        await poller.aclose()
        assert status == 200
        assert seen == ["Basic " + base64.b64encode(b"user:pa55").decode()]
    finally:
        await runner.cleanup()
