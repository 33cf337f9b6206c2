"""Stand-ins for the sources tests without a lab: a connection, a cluster reader, pods, the log API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from gloomon.domain.model import Component, PodInfo
from gloomon.sources.kube.forwards import ForwardSet

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


class Connection:
    context = "ctx"

    def core(self, websocket: bool = False) -> object:
        return object()


class Reader:
    context = "ctx"
    namespace = "gloo-system"
    connection = Connection()


def pod(name: str, component: Component | None = Component.GLOO) -> PodInfo:
    return PodInfo(
        name, "gloo-system", component, "Running", ready=True, restarts=0, containers=("gloo", "sds")
    )


def forward_set() -> ForwardSet:
    return ForwardSet(
        Reader(),  # type: ignore[arg-type]
        lambda component: 19000,
        clock=lambda: T0,
        request_timeout=1.0,
        spare_seconds=15.0,
    )


class _Content:
    def __init__(self, body: bytes = b"") -> None:
        self._body = body

    async def read(self, n: int = -1) -> bytes:
        return self._body

    async def readany(self) -> bytes:
        await asyncio.Event().wait()  # a followed stream that stays open
        return b""


class _Response:
    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status = status
        self.content = _Content(body)

    def release(self) -> None:
        pass


class Core:
    """``read_namespaced_pod_log_without_preload_content``: answers ``status`` (or raises ``error``)."""

    def __init__(self, status: int = 200, body: bytes = b"", error: Exception | None = None) -> None:
        self.status, self.body, self.error = status, body, error
        self.calls = 0

    async def read_namespaced_pod_log_without_preload_content(self, *args: Any, **kwargs: Any) -> _Response:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return _Response(self.status, self.body)
