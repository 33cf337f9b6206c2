"""The façade's HTTP answers in a real apiserver's shape: JSON bodies and ``Status`` errors.

Shared by the routes of :mod:`gloomon.lab.api.server`, :mod:`~gloomon.lab.api.discovery` and
:mod:`~gloomon.lab.api.faults`, so every error is one ``Status`` object with a real apiserver's words.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gloomon.lab.api import objects


def json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def static(body: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that always answers ``body``."""

    async def handler(_: web.Request) -> web.Response:
        return json_response(body)

    return handler


def status_response(code: int, reason: str, message: str, **details: Any) -> web.Response:
    return json_response(objects.status(code, reason, message, details or None), code)


def not_found(kind: str, name: str) -> web.Response:
    return status_response(404, "NotFound", f'{kind} "{name}" not found', name=name, kind=kind)
