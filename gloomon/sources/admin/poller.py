"""Poll Envoy admin endpoints: every target in parallel, one keep-alive connection per URL (aiohttp).

Per poll and target, over the target's single keep-alive connection (behind a port-forward that is one
websocket per pod): ``/config_dump?resource=dynamic_active_secrets`` (leaf and bundle, with SDS versions),
``/clusters?format=json`` and ``/stats?filter=…``. Everything else is fetched only when it can tell
something new, because each request costs CPU in gloomon (and, behind a port-forward, in the API server):

- ``/certs`` is the fallback for the leaf and bundle: fetched on a target's first poll, whenever the
  config_dump failed, is unparseable or lacks the server cert / validation context, whenever an SDS
  version there changed, and every :data:`CERTS_EVERY` polls. Otherwise last poll's report is passed on.
- ``/config_dump?resource=dynamic_warming_secrets`` is asked only when the active secrets lack the
  server cert or validation context of an Envoy subscribed to them (``sds.*`` stats): what it requested
  from SDS and never got (shown, and judged with ``sds.<secret>.init_fetch_timeout``); its secrets join
  the active ones, marked ``warming``.
- The server state comes from the ``server.state`` gauge of ``/stats`` (the stats filter asks for it;
  the domain's :func:`~gloomon.domain.parse.metrics.server_state` reads it);
  ``/ready`` is fetched only when ``/stats`` did not give it or Envoy has not flushed its stats yet.
  The gauge is refreshed at each stats flush, so a state change shows up to ``stats_flush_interval``
  (5 s by default) later than ``/ready`` would show it.
- ``/server_info`` is large, so it is fetched once per target (and again after the pod's containers
  restart); it is passed on with the time it was read (``read_at``), from which the domain dates the
  Envoy's start (the ``server.uptime`` gauge is as stale as ``server.state``).

A response body identical to the previous poll's is not parsed again, and each URL is parsed once per
connection (see :mod:`gloomon.sources.admin.http` for the client). A non-200 answer is not parsed: it
becomes a ``ParseError`` saying ``HTTP 503: …`` (the body sanitised and clipped).
One dead target never delays the others: targets run concurrently, each request has its own timeout, and
a target whose first request fails is not asked the rest (its error says why, in one line).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    AdminFetch,
    CertsReport,
    EnvoyStats,
    ParseError,
    SecretsDump,
    ServerInfo,
    TargetRef,
)
from gloomon.domain.parse import envoy
from gloomon.domain.parse.metrics import server_state
from gloomon.sources.admin.http import KEEPALIVE_SECONDS, AdminConnection, AdminHttpError, http_error

SECRETS_PATH = envoy.ADMIN_PATHS["/config_dump"]
CLUSTERS_PATH = envoy.ADMIN_PATHS["/clusters"]
STATS_PATH = envoy.ADMIN_PATHS["/stats"]
CERTS_PATH = envoy.ADMIN_PATHS["/certs"]
READY_PATH = "/ready"
SERVER_INFO_PATH = envoy.ADMIN_PATHS["/server_info"]
WARMING_PATH = "/config_dump?resource=dynamic_warming_secrets"
#: ``/certs`` is fetched at least every this many polls even when config_dump says nothing changed
CERTS_EVERY = 12

#: ParseError sources, as the parsers name them
_SOURCES = {
    SECRETS_PATH: "/config_dump",
    WARMING_PATH: "/config_dump",
    CLUSTERS_PATH: "/clusters",
    STATS_PATH: "/stats",
    CERTS_PATH: "/certs",
}


class TargetUnreachable(Exception):
    """The first request to a target failed at the connection level."""


@dataclass(slots=True)
class _TargetCache:
    """What one target's earlier polls left: parsed bodies, the last ``/certs``, ``/server_info``."""

    parsed: dict[str, tuple[bytes, Any]] = field(default_factory=dict)
    certs: CertsReport | ParseError | None = None
    certs_key: object = None
    polls_since_certs: int = 0
    server_generation: object = None
    server_info: ServerInfo | None = None


class AdminPoller:
    """Owns the HTTP connections and per-target caches; :meth:`fetch_all` is one poll of every target."""

    def __init__(
        self,
        *,
        request_timeout: float,
        clock: Callable[[], datetime],
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        self._timeout = request_timeout
        self._keepalive = keepalive_seconds
        self._clock = clock
        self._connections: dict[str, AdminConnection] = {}
        self._retired: list[AdminConnection] = []  # handed out by forget(); closed again by aclose()
        self._caches: dict[str, _TargetCache] = {}
        #: shown admin URL → the URL actually requested (``--target`` URLs keep their ``user:password@``
        #: here only, so the credentials are never displayed or exported)
        self.request_urls: dict[str, str] = {}
        self._closed = False
        self.requests_sent = 0  # for tests and the benchmark: admin requests made so far

    def _connection(self, base_url: str) -> AdminConnection:
        connection = self._connections.get(base_url)
        if connection is None:
            url = self.request_urls.get(base_url, base_url)
            connection = AdminConnection(url, timeout=self._timeout, keepalive=self._keepalive)
            self._connections[base_url] = connection
        return connection

    async def fetch_all(self, targets: Sequence[TargetRef]) -> list[AdminFetch]:
        """One :class:`AdminFetch` per target, in the order given, all fetched concurrently."""
        return list(await asyncio.gather(*(self.fetch(target) for target in targets)))

    async def fetch(self, target: TargetRef) -> AdminFetch:
        started = time.perf_counter()
        fetched_at = self._clock()
        if not target.admin_url:
            reason = (target.forward.error if target.forward else None) or "no admin address"
            return AdminFetch(target, fetched_at, 0.0, error=reason)
        if self._closed:  # a poll still running when the session stopped: open no new connection
            return AdminFetch(target, fetched_at, 0.0, error="monitoring stopped")
        connection = self._connection(target.admin_url)
        cache = self._caches.get(target.key)
        if cache is None:
            cache = self._caches[target.key] = _TargetCache()
        results: dict[str, Any] = {}
        try:
            response = await self._get(connection, SECRETS_PATH, first=True)
            secrets = results["secrets"] = _parse(cache, SECRETS_PATH, envoy.parse_secrets_dump, response)
            response = await self._get(connection, CLUSTERS_PATH)
            results["clusters"] = _parse(cache, CLUSTERS_PATH, envoy.parse_clusters, response)
            response = await self._get(connection, STATS_PATH)
            stats = results["stats"] = _parse(cache, STATS_PATH, envoy.parse_stats, response)
            if isinstance(secrets, SecretsDump) and certs_key(secrets) is None and _subscribed(stats):
                results["secrets"] = await self._warming(connection, cache, secrets)
            results["certs"] = await self._certs(connection, cache, secrets)
            results["server"] = await self._server(connection, cache, target, stats, fetched_at)
        except TargetUnreachable as exc:
            return AdminFetch(target, fetched_at, time.perf_counter() - started, error=str(exc))
        except _RequestFailed as exc:
            return AdminFetch(target, fetched_at, time.perf_counter() - started, error=str(exc), **results)
        return AdminFetch(target, fetched_at, time.perf_counter() - started, **results)

    async def _get(
        self, connection: AdminConnection, path: str, *, first: bool = False
    ) -> tuple[int, bytes] | ParseError:
        """GET ``path`` (aiohttp itself re-sends it once when a reused keep-alive connection was dead).

        A body over its cap is an answer, just not a usable one: a ParseError for that path.
        """
        self.requests_sent += 1
        try:
            return await connection.get(path)
        except AdminHttpError as exc:
            if exc.kind == "too-large":  # /ready's failure is reported as /server_info's
                source = path.partition("?")[0]
                return ParseError(source, exc.reason if path != READY_PATH else f"{source}: {exc.reason}")
            if first:
                raise TargetUnreachable(_unreachable(exc)) from None
            raise _RequestFailed(f"admin request failed: {path.partition('?')[0]}: {exc.reason}") from None

    async def _warming(
        self, connection: AdminConnection, cache: _TargetCache, active: SecretsDump
    ) -> SecretsDump:
        """The active secrets and the warming ones (a failed or unreadable answer adds none)."""
        response = await self._get(connection, WARMING_PATH)
        parsed = _parse(cache, WARMING_PATH, _parse_warming, response)
        if not isinstance(parsed, SecretsDump) or not parsed.secrets:
            return active
        return SecretsDump(active.secrets + parsed.secrets)

    async def _certs(
        self, connection: AdminConnection, cache: _TargetCache, secrets: SecretsDump | ParseError
    ) -> CertsReport | ParseError | None:
        """``/certs`` when config_dump cannot stand alone or changed, else the last poll's report."""
        key = certs_key(secrets)
        cache.polls_since_certs += 1
        if (
            key is None
            or cache.certs is None
            or key != cache.certs_key
            or cache.polls_since_certs >= CERTS_EVERY
        ):
            response = await self._get(connection, CERTS_PATH)
            cache.certs = _parse(cache, CERTS_PATH, envoy.parse_certs, response)
            cache.certs_key = key
            cache.polls_since_certs = 0
        return cache.certs

    async def _server(
        self,
        connection: AdminConnection,
        cache: _TargetCache,
        target: TargetRef,
        stats: EnvoyStats | ParseError,
        fetched_at: datetime,
    ) -> ServerInfo | ParseError:
        """``/server_info`` once per target and container generation (with when it was read: the domain
        dates the Envoy's start from its uptime), the state kept current."""
        state = server_state(stats)
        if state is None:
            ready = await self._get(connection, READY_PATH)
            if isinstance(ready, ParseError):
                return ready
            state = envoy.parse_ready(*ready).state
        generation = target.pod_info.restarts if target.pod_info else None
        if cache.server_info is None or cache.server_generation != generation:
            info = await self._get(connection, SERVER_INFO_PATH)
            if isinstance(info, ParseError):
                return info
            status, body = info
            parsed = envoy.parse_server_info(body) if status == 200 else None
            if not isinstance(parsed, ServerInfo):
                if isinstance(parsed, ParseError):
                    return parsed
                return ServerInfo(version=None, full_version=None, state=state)
            cache.server_info = replace(parsed, read_at=fetched_at)
            cache.server_generation = generation
        return replace(cache.server_info, state=state)

    def forget(self, keep_urls: set[str], keep_keys: set[str]) -> list[AdminConnection]:
        """Drop caches of targets that are gone; return their connections for the caller to ``aclose()``.

        They are also remembered until closed, so :meth:`aclose` closes any the caller did not get to.
        """
        for key in [k for k in self._caches if k not in keep_keys]:
            del self._caches[key]
        gone = [self._connections.pop(url) for url in list(self._connections) if url not in keep_urls]
        self._retired = [c for c in self._retired if not c.closed] + gone
        return gone

    async def aclose(self) -> None:
        """Close every connection, including retired ones (closing twice is harmless)."""
        self._closed = True
        connections = [*self._connections.values(), *self._retired]
        self._connections, self._retired = {}, []
        await asyncio.gather(*(c.aclose() for c in connections), return_exceptions=True)


def _subscribed(stats: EnvoyStats | ParseError) -> bool:
    """Whether the Envoy subscribes to the mTLS secrets over SDS (a pod without mTLS has nothing warming)."""
    return isinstance(stats, EnvoyStats) and any(
        stats.sds_for(name) is not None for name in (SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET)
    )


def _parse_warming(body: bytes) -> SecretsDump | ParseError:
    return envoy.parse_secrets_dump(body, warming=True)


def certs_key(secrets: SecretsDump | ParseError) -> object:
    """What ``/certs`` must be re-read on when it changes: the SDS versions (and update times) of the
    server cert and validation context; None when config_dump cannot stand in for ``/certs`` at all."""
    if not isinstance(secrets, SecretsDump):
        return None
    server = secrets.get(SERVER_CERT_SECRET)
    validation = secrets.get(VALIDATION_CONTEXT_SECRET)
    if server is None or validation is None or not server.certs or not validation.certs:
        return None
    return (server.version_info, server.last_updated, validation.version_info, validation.last_updated)


def _parse(
    cache: _TargetCache, path: str, parser: Callable[[bytes], Any], response: tuple[int, bytes] | ParseError
) -> Any:
    """Parse a 200 response's body, or return last poll's result when the bytes are the same.

    Any other status is a ``ParseError`` naming it (``HTTP 503: …``): the body is not the resource.
    A body over its cap arrives as a ParseError already.
    """
    if isinstance(response, ParseError):
        return response
    status, body = response
    if status != 200:
        return ParseError(_SOURCES[path], http_error(status, body))
    cached = cache.parsed.get(path)
    if cached is not None and cached[0] == body:
        return cached[1]
    result = parser(body)
    cache.parsed[path] = (body, result)
    return result


class _RequestFailed(Exception):
    """A request after the first one failed below HTTP; ``str()`` is the target's one-line error."""


def _unreachable(exc: AdminHttpError) -> str:
    """The error of a target whose first request got no HTTP response."""
    if exc.kind == "timeout":
        return f"admin endpoint {exc.reason}"  # "admin endpoint timed out after 3s"
    if exc.kind == "closed":
        return "admin endpoint closed the connection"
    return f"admin endpoint unreachable: {exc.reason}"
