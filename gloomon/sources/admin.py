"""Poll Envoy admin endpoints: every target in parallel, one keep-alive ``httpx.AsyncClient`` per URL.

Per poll and target: ``/ready``, ``/certs``, ``/config_dump?resource=dynamic_active_secrets``,
``/clusters?format=json`` and ``/stats?filter=…``, one after the other over the target's single keep-alive
connection (behind a port-forward that is one websocket per pod, not five). ``/server_info`` is large, so it
is fetched once per target (and again after the pod's containers restart) and aged with ``/ready``.
A response body identical to the previous poll's is not parsed again.

One dead target never delays the others: targets run concurrently, each request has its own timeout, and
a target whose first request fails is not asked the rest.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import httpx

from gloomon.domain import envoy
from gloomon.domain.models import AdminFetch, ParseError, ServerInfo, TargetRef
from gloomon.sources.errors import describe_exception

#: (field of AdminFetch, path, parser)
_ENDPOINTS: tuple[tuple[str, str, Callable[[bytes], Any]], ...] = (
    ("certs", "/certs", envoy.parse_certs),
    ("secrets", "/config_dump?resource=dynamic_active_secrets", envoy.parse_secrets_dump),
    ("clusters", "/clusters?format=json", envoy.parse_clusters),
    ("stats", "/stats", envoy.parse_stats),
)
_RETRYABLE = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class TargetUnreachable(Exception):
    """The first request to a target failed at the connection level."""


@dataclass(slots=True)
class _ServerInfoCache:
    generation: object
    info: ServerInfo
    fetched_monotonic: float


class AdminPoller:
    """Owns the HTTP clients and per-target caches; :meth:`fetch_all` is one poll of every target."""

    def __init__(self, *, request_timeout: float, clock: Callable[[], datetime]) -> None:
        self._timeout = httpx.Timeout(request_timeout)
        self._clock = clock
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._server_info: dict[str, _ServerInfoCache] = {}
        self._parsed: dict[tuple[str, str], tuple[bytes, Any]] = {}

    def _client(self, base_url: str) -> httpx.AsyncClient:
        client = self._clients.get(base_url)
        if client is None:
            client = httpx.AsyncClient(
                base_url=base_url,
                timeout=self._timeout,
                trust_env=False,
                limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
                headers={"Accept-Encoding": "identity"},
            )
            self._clients[base_url] = client
        return client

    async def fetch_all(self, targets: Sequence[TargetRef]) -> list[AdminFetch]:
        """One :class:`AdminFetch` per target, in the order given, all fetched concurrently."""
        return list(await asyncio.gather(*(self.fetch(target) for target in targets)))

    async def fetch(self, target: TargetRef) -> AdminFetch:
        started = time.perf_counter()
        fetched_at = self._clock()
        if not target.admin_url:
            reason = (target.forward.error if target.forward else None) or "no admin address"
            return AdminFetch(target, fetched_at, 0.0, error=reason)
        client = self._client(target.admin_url)
        results: dict[str, Any] = {}
        try:
            status, body = await self._get(client, "/ready", first=True)
            ready = envoy.parse_ready(status, body)
            for name, path, parser in _ENDPOINTS:
                if name == "stats":
                    _, body = await self._get(client, path, params={"filter": envoy.STATS_FILTER})
                else:
                    _, body = await self._get(client, path)
                results[name] = self._parse(target.key, name, parser, body)
            results["server"] = await self._server(client, target, ready)
        except TargetUnreachable as exc:
            return AdminFetch(target, fetched_at, time.perf_counter() - started, error=str(exc))
        except httpx.HTTPError as exc:
            error = f"admin request failed: {describe_exception(exc)}"
            return AdminFetch(target, fetched_at, time.perf_counter() - started, error=error, **results)
        return AdminFetch(target, fetched_at, time.perf_counter() - started, **results)

    async def _get(
        self,
        client: httpx.AsyncClient,
        path: str,
        *,
        first: bool = False,
        params: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """GET ``path`` once more if a reused keep-alive connection turned out to be dead."""
        for attempt in (1, 2):
            try:
                response = await client.get(path, params=params)
                return response.status_code, response.content
            except _RETRYABLE as exc:
                if attempt == 2:
                    if first:
                        raise TargetUnreachable(_unreachable(exc)) from None
                    raise
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.PoolTimeout) as exc:
                if first:
                    raise TargetUnreachable(_unreachable(exc)) from None
                raise
        raise AssertionError("unreachable")

    def _parse(self, key: str, name: str, parser: Callable[[bytes], Any], body: bytes) -> Any:
        """Parse ``body``, or return last poll's result when the bytes are the same."""
        cached = self._parsed.get((key, name))
        if cached is not None and cached[0] == body:
            return cached[1]
        result = parser(body)
        self._parsed[(key, name)] = (body, result)
        return result

    async def _server(
        self, client: httpx.AsyncClient, target: TargetRef, ready: ServerInfo
    ) -> ServerInfo | ParseError:
        """``/server_info`` once per target and container generation, its state and uptime kept current."""
        generation = target.pod_info.restarts if target.pod_info else None
        cached = self._server_info.get(target.key)
        if cached is None or cached.generation != generation:
            status, body = await self._get(client, "/server_info")
            parsed = envoy.parse_server_info(body) if status == 200 else None
            if not isinstance(parsed, ServerInfo):
                return parsed if isinstance(parsed, ParseError) else ready
            cached = _ServerInfoCache(generation, parsed, time.monotonic())
            self._server_info[target.key] = cached
        uptime = cached.info.uptime_seconds
        if uptime is not None:
            uptime += time.monotonic() - cached.fetched_monotonic
        return replace(cached.info, state=ready.state, uptime_seconds=uptime)

    def forget(self, keep_urls: set[str], keep_keys: set[str]) -> list[httpx.AsyncClient]:
        """Drop caches of targets that are gone; return their clients for the caller to close."""
        for key in [k for k in self._server_info if k not in keep_keys]:
            del self._server_info[key]
        for pair in [p for p in self._parsed if p[0] not in keep_keys]:
            del self._parsed[pair]
        gone = [url for url in self._clients if url not in keep_urls]
        return [self._clients.pop(url) for url in gone]

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(client.aclose() for client in clients), return_exceptions=True)


def _unreachable(exc: BaseException) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "admin endpoint timed out"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "admin endpoint closed the connection"
    return f"admin endpoint unreachable: {describe_exception(exc)}"
