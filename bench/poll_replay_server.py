"""Serve recorded Envoy admin responses on N loopback ports (a stand-in for N Envoys in the poll bench).

Run by ``bench/poll_cycle.py`` in its own process, so its CPU is not counted as gloomon's.
Usage: ``python bench/poll_replay_server.py CAPTURES.json N`` prints one JSON line ``{"ports": [...]}``
and serves until its stdin closes. CAPTURES.json is a list of recordings, one per real Envoy, each
``{"/certs": {"status": 200, "type": "...", "body_b64": "..."}, ...}`` keyed by path (stats without query).
Port i answers with recording ``i % len(recordings)``.

``/stats`` and ``/clusters`` bodies get a few trailing blanks that change with every request: a real
Envoy's counters change between polls, so gloomon's "same bytes as last poll, skip the parse" cache must
not make the replay cheaper than the real thing. (Other bodies are stable on a real Envoy too.)
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from typing import Any

from aiohttp import web

#: bodies that differ on every poll of a real Envoy (counters, gauges)
_CHANGING = frozenset({"/stats", "/clusters"})


def _handler(recordings: list[dict[str, Any]], index: int) -> Any:
    recording = recordings[index % len(recordings)]
    decoded = {
        path: (entry["status"], entry["type"], base64.b64decode(entry["body_b64"]))
        for path, entry in recording.items()
    }

    served = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal served
        key = request.path_qs if request.path_qs in decoded else request.path
        status, content_type, body = decoded.get(key, (404, "text/plain", b"invalid path"))
        if request.path in _CHANGING:
            served += 1
            body += b"\n" + b" " * (served % 7)
        return web.Response(status=status, body=body, content_type=content_type.split(";")[0])

    return handle


async def main(captures: str, count: int) -> None:
    with open(captures) as handle:
        recordings = json.load(handle)
    runners, ports = [], []
    for index in range(count):
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", _handler(recordings, index))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        runners.append(runner)
    print(json.dumps({"ports": ports}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for runner in runners:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
