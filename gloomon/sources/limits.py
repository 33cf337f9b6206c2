"""Read an aiohttp response body with a size cap, so a hostile or broken server cannot exhaust memory.

The body is read in chunks and given up as soon as it exceeds the cap (or when ``Content-Length``
already announces more): at most ``cap`` bytes plus one chunk are ever held. The caller closes the
connection, since the rest of the body is still on the wire. The caps themselves belong to the callers
(:mod:`gloomon.sources.admin.http` per admin endpoint, :mod:`gloomon.sources.kube.client` for the API),
which say where their numbers come from.
"""

from __future__ import annotations

from typing import Protocol

#: bytes asked of the stream per read
CHUNK = 256 * 1024
MB = 1024 * 1024


class BodyTooLarge(Exception):
    """A body larger than its cap; ``str()`` is ``body larger than 16 MB``."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"body larger than {megabytes(cap)}")
        self.cap = cap


class _Stream(Protocol):
    async def read(self, n: int = -1) -> bytes: ...


class _Response(Protocol):
    @property
    def content_length(self) -> int | None: ...

    @property
    def content(self) -> _Stream: ...


class _Closable(_Response, Protocol):
    def close(self) -> None: ...


def megabytes(size: int) -> str:
    """``16 MB`` for 16 MiB, ``0.5 MB`` for 512 KiB (caps are round numbers of MiB)."""
    return f"{size / MB:g} MB"


async def read_capped(response: _Response, cap: int) -> bytes:
    """The whole body of ``response``, or :class:`BodyTooLarge` once more than ``cap`` bytes arrived."""
    length = response.content_length
    if length is not None and length > cap:
        raise BodyTooLarge(cap)
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.read(CHUNK):
        size += len(chunk)
        if size > cap:
            raise BodyTooLarge(cap)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_at_most(response: _Closable, cap: int) -> bytes:
    """The first ``cap`` bytes of a body (a log cut at ``limitBytes``); the connection is closed when
    more was coming."""
    chunks: list[bytes] = []
    size = 0
    while size < cap and (chunk := await response.content.read(min(CHUNK, cap - size))):
        chunks.append(chunk)
        size += len(chunk)
    if size >= cap:
        response.close()
    return b"".join(chunks)
