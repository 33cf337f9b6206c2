"""`gloomon check` against a hostile admin server on 127.0.0.1 (the real command, as a subprocess): an
endless body on every path is cut at each path's cap and reported as ``admin-bad-response``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator

import pytest_asyncio
from aiohttp import web

from gloomon.sources.admin.http import BODY_CAPS

_CHUNK = b"x" * (1024 * 1024)
_SLACK = 12 * 1024 * 1024  # socket buffers on both sides


class Endless:
    """Every path streams 1 MB chunks until the client hangs up; counts bytes per path."""

    def __init__(self) -> None:
        self.sent: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        self.sent.setdefault(request.path, 0)
        while self.sent[request.path] < 200 * len(_CHUNK):  # endless to a client without a cap
            await response.write(_CHUNK)
            self.sent[request.path] += len(_CHUNK)
        return response


@pytest_asyncio.fixture
async def endless() -> AsyncIterator[tuple[Endless, str]]:
    server = Endless()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_an_endless_admin_body_is_a_bad_response_not_gigabytes(endless: tuple[Endless, str]) -> None:
    server, url = endless
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gloomon", "check", "--target", f"gloo={url}", "-o", "json",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert (proc.returncode, stderr) == (1, b"")
    report = json.loads(stdout)
    (bad,) = [f for f in report["findings"] if f["code"] == "admin-bad-response"]
    assert "/config_dump: body larger than 16 MB" in bad["message"]
    assert "/clusters: body larger than 16 MB" in bad["message"]
    assert report["targets"][0]["reachable"] is True
    for path, sent in server.sent.items():
        assert sent <= BODY_CAPS.get(path, 1024 * 1024) + _SLACK, path
