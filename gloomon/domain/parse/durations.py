"""Durations as people and Gloo write them ("65s", "36h", "14d", "1h30m") and as the dashboard shows them.

``parse_duration`` reads flag and Helm values (``rotationDuration``, thresholds); ``human_duration`` and
``human_time_left`` render time spans in the two most significant units, so a glance tells "364d" from
"6h12m" from "41s".
"""

from __future__ import annotations

import math
import re

from gloomon.domain.model import ParseError

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0


def parse_duration(text: str) -> float | ParseError:
    """Seconds in ``text``: Go-style units plus days and weeks ("65s", "2m", "1h30m", "14d"); a bare
    number is seconds. Negative, empty or malformed text is a ParseError."""
    if not isinstance(text, str):
        return ParseError("duration", f"expected text, got {type(text).__name__}")
    value = text.strip().lower()
    if not value:
        return ParseError("duration", "empty duration")
    if _NUMBER.fullmatch(value):
        return _finite(float(value), text)
    pos = 0
    total = 0.0
    for match in _PART.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(value) or pos == 0:
        return ParseError("duration", f"not a duration: {text[:40]!r} (use e.g. 65s, 2m, 36h, 14d, 1h30m)")
    return _finite(total, text)


def _finite(seconds: float, text: str) -> float | ParseError:
    if not math.isfinite(seconds):
        return ParseError("duration", f"duration out of range: {text[:40]!r}")
    return seconds


def human_duration(seconds: float) -> str:
    """A span in at most two units: "364d", "3d4h", "6h12m", "2m5s", "41s". Negative spans get a "-"."""
    if not math.isfinite(seconds):
        return "∞" if seconds > 0 else "-∞"
    if seconds < 0:
        return "-" + human_duration(-seconds)
    total = int(seconds)
    days, rest = divmod(total, int(DAY))
    hours, rest = divmod(rest, int(HOUR))
    minutes, secs = divmod(rest, int(MINUTE))
    if days >= 10:
        return f"{days}d"
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def human_time_left(seconds: float) -> str:
    """Time left until an expiry: "364d", or "expired 3d ago" once it has passed."""
    if seconds < 0:
        return f"expired {human_duration(-seconds)} ago"
    return human_duration(seconds)
