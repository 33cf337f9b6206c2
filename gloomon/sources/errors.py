"""One exception for "the check cannot run", and one-line descriptions of IO failures.

Everything the sources say about a failure ends up in front of a user (a toast, ``snapshot.errors``, the
``check`` report), so it is one line, names what was being reached, and never carries a traceback, a
response body beyond the API's own short ``Status.message``, or anything read from a secret.
"""

from __future__ import annotations

import asyncio
import errno
import json
import ssl

from gloomon.domain.text import one_line


class SourceError(Exception):
    """The data path cannot run at all: no cluster, bad kubeconfig, missing namespace, no permission.

    ``str(error)`` is the whole user-facing message.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def describe_exception(exc: BaseException) -> str:
    """A short reason for a connection-level failure ("connection refused", "timed out", …)."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS verification failed: {one_line(exc.verify_message or str(exc))}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {one_line(exc.reason or str(exc))}"
    os_error = _find_os_error(exc)
    if os_error is not None:
        if os_error.errno == errno.ECONNREFUSED:
            return "connection refused"
        if os_error.errno == errno.ECONNRESET:
            return "connection reset"
        if os_error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return "host unreachable"
        if isinstance(os_error, ssl.SSLError):
            return f"TLS error: {one_line(os_error.reason or str(os_error))}"
        text = os_error.strerror or str(os_error)
        return one_line(text.lower() if text else type(os_error).__name__)
    text = str(exc)
    name = type(exc).__name__
    return one_line(f"{name}: {text}" if text else name)


def _find_os_error(exc: BaseException) -> OSError | None:
    """The OSError behind an aiohttp / httpx wrapper, if any (they chain or wrap it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and (current.errno is not None or isinstance(current, ssl.SSLError)):
            return current
        inner = getattr(current, "os_error", None)
        if isinstance(inner, OSError):
            return inner
        current = current.__cause__ or current.__context__
    return None


def status_message(status: int, body: bytes | None) -> str:
    """Kubernetes ``Status.message`` of an error response, clipped; a generic phrase otherwise."""
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return one_line(data["message"])
    return {
        400: "bad request",
        401: "unauthorized",
        403: "forbidden",
        404: "not found",
        500: "internal server error",
        503: "service unavailable",
    }.get(status, f"HTTP {status}")


class ApiError(Exception):
    """A failed API call: ``status`` is the HTTP status, 0 when the API was not reached at all."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message
