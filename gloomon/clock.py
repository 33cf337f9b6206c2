"""The clock every computation takes ``now`` from, so tests and snapshots can freeze time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(instant: datetime) -> Clock:
    """A clock that always says ``instant`` (snapshot tests, reports of a recorded poll)."""

    def now() -> datetime:
        return instant

    return now
