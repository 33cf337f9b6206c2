"""The poller reads ``dynamic_warming_secrets`` only for an Envoy subscribed to the mTLS secrets that lacks
them, serving a real Envoy's answers (tests/domain/fixtures/links_*, ``capture_links.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio
from aiohttp import web

from gloomon.domain.model import SERVER_CERT_SECRET, Component, SecretsDump, TargetRef
from gloomon.sources.admin import poller as admin

FIXTURES = Path(__file__).parents[1] / "domain" / "fixtures"


@dataclass
class Envoy:
    url: str = ""
    stats: bytes = b""
    asked: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append(request.path_qs)
        if request.path == "/stats":
            return web.Response(body=self.stats)
        if request.query.get("resource") == "dynamic_warming_secrets":
            return web.Response(body=(FIXTURES / "links_sds_never_gw_warming.json").read_bytes())
        if request.path == "/config_dump":
            return web.Response(body=b'{"configs": []}', content_type="application/json")
        if request.path == "/certs":
            return web.Response(body=b'{"certificates": []}', content_type="application/json")
        return web.Response(body=b"{}", content_type="application/json")


@pytest_asyncio.fixture
async def envoy() -> AsyncIterator[Envoy]:
    fake = Envoy()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.url = f"http://127.0.0.1:{port}"
    yield fake
    await runner.cleanup()


async def _fetch(url: str) -> admin.AdminFetch:
    poller = admin.AdminPoller(request_timeout=10, clock=lambda: datetime(2026, 12, 1, tzinfo=UTC))
    try:
        return await poller.fetch(TargetRef("direct", "gloo-system", Component.GATEWAY_PROXY, "gw-1", url))
    finally:
        await poller.aclose()


async def test_secrets_never_delivered_are_read_from_the_warming_dump(envoy: Envoy) -> None:
    envoy.stats = (FIXTURES / "links_sds_never_gw_stats.txt").read_bytes()
    fetch = await _fetch(envoy.url)
    assert isinstance(fetch.secrets, SecretsDump)
    assert {(s.name, s.warming, s.version_info) for s in fetch.secrets.secrets} == {
        ("server_cert", True, "uninitialized"),
        ("validation_context", True, "uninitialized"),
    }
    assert fetch.secrets.get(SERVER_CERT_SECRET) is None  # nothing active: still not delivered


async def test_an_envoy_without_sds_subscriptions_is_not_asked(envoy: Envoy) -> None:
    envoy.stats = b"server.state: 0\nserver.uptime: 12\n"
    fetch = await _fetch(envoy.url)
    assert isinstance(fetch.secrets, SecretsDump) and fetch.secrets.secrets == ()
    assert not [path for path in envoy.asked if "dynamic_warming_secrets" in path]
