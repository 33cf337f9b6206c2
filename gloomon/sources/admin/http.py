"""One keep-alive HTTP connection per Envoy admin URL (aiohttp), and one-line words for its failures.

aiohttp rather than httpx because of CPU: a request costs gloomon ~0.075 ms with an aiohttp
``ClientSession`` against 0.4-0.5 ms with ``httpx.AsyncClient`` (issue 4 measured httpx at ~80 % of a
200-target poll cycle), and a poll makes 3-5 requests per target.

Each admin URL gets its own session on a connector limited to ONE connection, kept alive between polls:
a target's requests are sequential anyway, and behind a port-forward every new connection opens a
websocket through the Kubernetes API. No proxy or ``.netrc`` from the environment (``trust_env=False``),
no cookies, no redirects followed, no decompression (``Accept-Encoding: identity``). Each request has its
own total timeout. A GET on a reused connection that the far end had closed is retried once by aiohttp
itself (idempotent request on a dead keep-alive connection), so one cut port-forward costs no error.

Every body is read in chunks under a cap per endpoint (:data:`BODY_CAPS`), so an endless or huge body
costs at most its cap: past it the connection is closed and the request fails with kind ``too-large``
("body larger than 16 MB"), which the poller reports as ``admin-bad-response``. The caps, from bodies of
the lab's real Envoys, scaled to 1,000 upstream clusters of 3 endpoints each, all with mTLS (bodies
generated from the lab's gateway-proxy answers):

- ``/config_dump`` secrets: 3.5 KB with one CA, +1.2-1.3 KB per CA; 1.1 MB for the largest bundle a
  Kubernetes Secret (1 MiB) can hold, 12.5 MB for a 10,000-CA stress bundle. Cap 16 MB.
- ``/clusters?format=json``: 2.5 KB for the lab's 2 clusters, 2.9 MB at 1,000 clusters. Cap 16 MB.
- ``/stats?filter=…``: 2.1 KB, 0.7 MB at 1,000 clusters (8 lines each); unfiltered 6.9 MB. Cap 16 MB.
- ``/certs``: 1.7 KB for one CA and the leaf, ~0.9 KB per certificate: 9 MB at 10,000 CAs. Cap 16 MB.
- ``/server_info``: 125 KB (command line and node, not per cluster). Cap 2 MB.
- ``/ready``: a few bytes. Cap 1 MB, as for any other path.

Failures become :class:`AdminHttpError`, whose text is one short line with no remote bytes in it
except a sanitised, clipped start of an HTTP error body (see :func:`http_error`).
"""

from __future__ import annotations

import aiohttp
from yarl import URL

from gloomon.domain.text import one_line
from gloomon.sources.errors import describe_exception
from gloomon.sources.limits import MB, BodyTooLarge, read_capped

#: how long an idle admin connection is kept (longer than any sensible poll interval: reconnecting
#: behind a port-forward opens a new websocket)
KEEPALIVE_SECONDS = 60.0
#: characters of an HTTP error body kept in the error text
_BODY_CHARS = 60
#: the largest body accepted per admin path (the query string aside); see the module docstring
BODY_CAPS = {
    "/config_dump": 16 * MB,
    "/clusters": 16 * MB,
    "/stats": 16 * MB,
    "/certs": 16 * MB,
    "/server_info": 2 * MB,
    "/ready": 1 * MB,
}
#: the cap of any other path
DEFAULT_BODY_CAP = 1 * MB


class AdminHttpError(Exception):
    """A request that got no complete HTTP response. ``str()`` is one line, e.g. "timed out after 3s".

    ``kind`` is ``"timeout"``, ``"closed"`` (the far end closed the connection), ``"connect"`` (could not
    connect), ``"too-large"`` (the body passed its cap: an HTTP answer, but not a usable one) or
    ``"other"`` (invalid HTTP, body cut short, ...).
    """

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class AdminConnection:
    """One admin URL's ``ClientSession``; :meth:`get` returns ``(status, body)`` or raises AdminHttpError.

    Create it inside the running event loop; :meth:`aclose` releases the connection (safe to call twice).
    """

    __slots__ = ("_session", "_timeout_text", "_urls", "base_url")

    def __init__(self, base_url: str, *, timeout: float, keepalive: float = KEEPALIVE_SECONDS) -> None:
        self.base_url = base_url
        self._timeout_text = f"{timeout:g}s"
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=keepalive)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=timeout),
            trust_env=False,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers={"Accept-Encoding": "identity"},
        )
        self._urls: dict[str, URL] = {}

    @property
    def closed(self) -> bool:
        return self._session.closed

    def url(self, path: str) -> URL:
        """``base_url + path`` as a parsed URL, built once per path (parsing costs more than reusing)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = URL(self.base_url + path)
        return url

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path``: the status and the whole body, whatever the status (redirects are not followed).

        A body over the path's cap closes the connection (the rest is still on the wire) and raises
        ``too-large``.
        """
        if self._session.closed:  # the session was stopped while a poll was still running
            raise AdminHttpError("closed", "connection closed (monitoring stopped)")
        cap = BODY_CAPS.get(path.partition("?")[0], DEFAULT_BODY_CAP)
        try:
            async with self._session.get(self.url(path), allow_redirects=False) as response:
                try:
                    return response.status, await read_capped(response, cap)
                except BodyTooLarge as exc:
                    response.close()
                    raise AdminHttpError("too-large", str(exc)) from None
        except TimeoutError as exc:  # aiohttp's ServerTimeoutError / ConnectionTimeoutError are ones too
            raise AdminHttpError("timeout", f"timed out after {self._timeout_text}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise AdminHttpError("connect", describe_exception(exc)) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise AdminHttpError("closed", "connection closed") from exc
        except aiohttp.ClientResponseError as exc:  # unparseable status line or headers
            raise AdminHttpError("other", "invalid HTTP response") from exc
        except aiohttp.ClientPayloadError as exc:
            raise AdminHttpError("other", "response body cut short") from exc
        except aiohttp.ClientError as exc:
            raise AdminHttpError("other", describe_exception(exc)) from exc
        except RuntimeError as exc:  # aiohttp: "Session is closed" (closed during the request)
            if not self._session.closed:
                raise
            raise AdminHttpError("closed", "connection closed (monitoring stopped)") from exc

    async def aclose(self) -> None:
        await self._session.close()


def http_error(status: int, body: bytes) -> str:
    """``HTTP 503: LIVE…``: a non-200 admin response as one line, the start of the body made inert and
    clipped (:func:`gloomon.domain.text.one_line`; only as many bytes as that line can show are decoded)."""
    detail = one_line(body[: _BODY_CHARS * 8].decode("utf-8", "replace"), _BODY_CHARS)
    return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
