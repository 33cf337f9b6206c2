"""Shared helpers for reading untrusted admin bodies: decoding, JSON, numbers and timestamps.

Nothing here raises on bad input: each helper returns None (or a ParseError) so parsers can say what
was wrong instead of crashing on a truncated body, a wrong type or a number too big to be real.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from gloomon.domain.model import ParseError

MAX_BODY = 64 * 1024 * 1024
_MAX_INT = 2**64  # Envoy counters are uint64; anything larger is not a real counter
_TS = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)?$", re.IGNORECASE
)


def strip_http_headers(body: bytes) -> bytes:
    """The body of a captured HTTP response (``HTTP/1.1 200 OK`` + headers + blank line), else ``body``."""
    if body[:5] == b"HTTP/":
        for sep in (b"\r\n\r\n", b"\n\n"):
            _head, found, rest = body.partition(sep)
            if found:
                return rest
        return b""
    return body


def decode_text(body: bytes | str) -> str:
    """Admin bodies as text: UTF-8 with invalid bytes replaced (never fails)."""
    if isinstance(body, str):
        return body
    return strip_http_headers(bytes(body)).decode("utf-8", "replace")


def load_json(body: bytes | str, source: str) -> Any | ParseError:
    """Parsed JSON or a ParseError saying why (truncated, not JSON, too deep, too big)."""
    if not isinstance(body, bytes | bytearray | memoryview | str):
        return ParseError(source, f"expected bytes, got {type(body).__name__}")
    if len(body) > MAX_BODY:
        return ParseError(source, f"body too large ({len(body)} bytes)")
    text = decode_text(body if isinstance(body, str) else bytes(body)).lstrip("\ufeff")
    if not text.strip():
        return ParseError(source, "empty body")
    try:
        return json.loads(text)
    except RecursionError:
        return ParseError(source, "JSON nested too deeply")
    except ValueError as exc:
        return ParseError(source, f"not valid JSON ({str(exc)[:100]})")


def as_int(value: object) -> int | None:
    """A counter from an int, a float or a decimal string; None when missing, negative or absurd."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 40:
            return None
        try:
            result = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            if not math.isfinite(number):
                return None
            result = int(number)
    else:
        return None
    if result < 0 or result >= _MAX_INT:
        return None
    return result


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 / ISO-8601 timestamp (``2031-11-04T08:33:54Z``, fractions up to ns) as aware UTC."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    match = _TS.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro)
        if zone is None or zone.upper() == "Z":
            return stamp.replace(tzinfo=UTC)
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
        return stamp.replace(tzinfo=timezone(timedelta(seconds=offset))).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def from_unix(seconds: object) -> datetime | None:
    """A Unix time in seconds (int, float or decimal string) as aware UTC, None if out of range."""
    number = as_int(seconds)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number, UTC)
    except (ValueError, OverflowError, OSError):
        return None
