"""Kubernetes API bodies are capped while they stream: a hostile API server on 127.0.0.1 that answers a
secret read with an endless body costs gloomon at most the cap, and the read fails with one line."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web

from gloomon.settings import Settings
from gloomon.sources.kube.client import BODY_CAP, ApiError, KubeReader
from gloomon.sources.kube.config import connect
from gloomon.sources.limits import MB

_CHUNK = b" " * MB
#: endless to a reader without a cap; finite so that such a reader fails the test instead of hanging it
_ENDLESS = BODY_CAP + 64 * MB
_SLACK = 12 * MB  # socket buffers and aiohttp's read buffer between the server and the reader


class HostileApi:
    """Answers every GET with a JSON-looking body that never ends; counts what it could send."""

    def __init__(self) -> None:
        self.sent = 0
        self.hung_up = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b'{"kind": "Secret", "data": {"ca.crt": "')
            while self.sent < _ENDLESS:
                await response.write(_CHUNK)
                self.sent += len(_CHUNK)
            await response.write(b'"}}')
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self.hung_up.set()
            raise
        return response


@pytest_asyncio.fixture
async def hostile(tmp_path: Path) -> AsyncIterator[tuple[HostileApi, Path]]:
    api = HostileApi()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", api.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: hostile\n"
        f"clusters: [{{name: hostile, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: hostile, context: {cluster: hostile, user: u}}]\n"
    )
    yield api, kubeconfig
    await runner.cleanup()


async def test_an_endless_secret_body_is_cut_at_the_cap(hostile: tuple[HostileApi, Path]) -> None:
    api, kubeconfig = hostile
    (connection,) = await connect(Settings(kubeconfig=str(kubeconfig)))
    try:
        reader = KubeReader(connection, "gloo-system", timeout=60)
        with pytest.raises(ApiError) as raised:
            await reader.read_secret(datetime(2026, 11, 25, tzinfo=UTC))
        await asyncio.wait_for(api.hung_up.wait(), 10)
    finally:
        await connection.close()
    cut = "the API answered with a body larger than 64 MB"
    assert str(raised.value) == f"secret gloo-mtls-certs in gloo-system: {cut}"
    assert api.sent <= BODY_CAP + _SLACK
