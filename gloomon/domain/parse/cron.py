"""Kubernetes CronJob schedules: when the certgen CronJob runs next and how often it runs.

Five fields (minute hour day-of-month month day-of-week) with ``*``, ``*/n``, ranges ``a-b[/n]``, lists,
month and weekday names, and the descriptors ``@hourly``, ``@daily``/``@midnight``, ``@weekly``,
``@monthly``, ``@yearly``/``@annually`` and ``@every <duration>``. As in cron (and robfig/cron, which
Kubernetes uses), when both day fields are restricted a day matching either one runs. Times are UTC.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from gloomon.domain.model import ParseError
from gloomon.domain.parse.durations import parse_duration

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {
    name: i
    for i, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_WEEKDAYS = {name: i for i, name in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
#: Longest ``@every`` interval accepted: anything longer is not a schedule (and overflows date arithmetic).
MAX_EVERY_SECONDS = 10 * 366 * 86400.0
_SEARCH_DAYS = 366 * 8  # long enough to find Feb 29 on a given weekday; "31 2" never matches


@dataclass(frozen=True, slots=True)
class CronSchedule:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    day_star: bool
    weekday_star: bool
    every_seconds: float | None = None

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.day_star or self.weekday_star:
            return dom and dow
        return dom or dow


def parse_schedule(schedule: str) -> CronSchedule | ParseError:
    """The schedule's fields as sets, or a ParseError naming the bad field."""
    if not isinstance(schedule, str):
        return ParseError("cron", "schedule is not text")
    return _parse_cached(schedule.strip())


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> CronSchedule | ParseError:
    lowered = text.lower()
    if lowered.startswith("@every"):
        seconds = parse_duration(lowered[len("@every") :].strip())
        if isinstance(seconds, ParseError) or seconds <= 0:
            return ParseError("cron", f"bad @every interval in {text[:60]!r}")
        if seconds > MAX_EVERY_SECONDS:
            return ParseError("cron", f"@every interval longer than 10 years in {text[:60]!r}")
        return CronSchedule((), (), frozenset(), frozenset(), frozenset(), True, True, every_seconds=seconds)
    text = _DESCRIPTORS.get(lowered, text)
    fields = text.split()
    if len(fields) != 5:
        return ParseError("cron", f"expected 5 fields, got {len(fields)} in {text[:60]!r}")
    specs = [(0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 7, _WEEKDAYS)]
    sets: list[frozenset[int]] = []
    for name, field_text, (low, high, names) in zip(
        ("minute", "hour", "day-of-month", "month", "day-of-week"), fields, specs, strict=True
    ):
        values = _parse_field(field_text.lower(), low, high, names)
        if values is None:
            return ParseError("cron", f"bad {name} field {field_text[:20]!r} in {text[:60]!r}")
        sets.append(values)
    weekdays = frozenset(v % 7 for v in sets[4])
    return CronSchedule(
        minutes=tuple(sorted(sets[0])),
        hours=tuple(sorted(sets[1])),
        days=sets[2],
        months=sets[3],
        weekdays=weekdays,
        day_star=fields[2].startswith(("*", "?")),
        weekday_star=fields[4].startswith(("*", "?")),
    )


def _parse_field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, _, step_text = part.partition("/")
            if not step_text.isdigit() or int(step_text) == 0:
                return None
            step = int(step_text)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, _, b = part.partition("-")
            first, last = _value(a, names), _value(b, names)
            if first is None or last is None:
                return None
            start, end = first, last
        else:
            single = _value(part, names)
            if single is None:
                return None
            start, end = single, (high if step > 1 else single)
        if not (low <= start <= high and low <= end <= high) or start > end:
            return None
        values.update(range(start, end + 1, step))
    return frozenset(values) if values else None


def _value(text: str, names: dict[str, int]) -> int | None:
    if text.isdigit():
        return int(text)
    return names.get(text)


def next_run(schedule: str, after: datetime) -> datetime | None:
    """The first run strictly after ``after`` (UTC), or None for a bad or never-matching schedule."""
    parsed = parse_schedule(schedule)
    if isinstance(parsed, ParseError):
        return None
    return _next(parsed, after)


def _next(parsed: CronSchedule, after: datetime) -> datetime | None:
    try:
        return _next_unchecked(parsed, after)
    except OverflowError:  # a run past year 9999 is no run
        return None


def _next_unchecked(parsed: CronSchedule, after: datetime) -> datetime | None:
    after = after.replace(tzinfo=UTC) if after.tzinfo is None else after.astimezone(UTC)
    if parsed.every_seconds is not None:
        return after + timedelta(seconds=parsed.every_seconds)
    start = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    day = start.date()
    for _ in range(_SEARCH_DAYS):
        if parsed.day_matches(day):
            for hour in parsed.hours:
                for minute in parsed.minutes:
                    candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                    if candidate >= start:
                        return candidate
        day += timedelta(days=1)
    return None


_REFERENCE = datetime(2025, 1, 1, tzinfo=UTC)
_SAMPLE_RUNS = 60


def shortest_interval_seconds(schedule: str) -> float | None:
    """The shortest gap between successive runs over a sample of runs, None if it never runs.

    ``0,1 0 * * *`` runs once a day but twice within a minute: what decides whether runs overlap.
    """
    return _interval(schedule, min)


def longest_interval_seconds(schedule: str) -> float | None:
    """The longest gap between successive runs over a sample of runs, None if it never runs."""
    return _interval(schedule, max)


def _interval(schedule: str, pick: Callable[[Sequence[float]], float]) -> float | None:
    """One figure of the gaps between runs (``@every`` has one gap), None if it never runs."""
    parsed = parse_schedule(schedule)
    if isinstance(parsed, ParseError):
        return None
    if parsed.every_seconds is not None:
        return parsed.every_seconds
    gaps = _gaps(parsed)
    return pick(gaps) if gaps else None


@lru_cache(maxsize=64)
def _gaps(parsed: CronSchedule) -> tuple[float, ...]:
    runs: list[datetime] = []
    current = _REFERENCE
    for _ in range(_SAMPLE_RUNS):
        found = _next(parsed, current)
        if found is None:
            break
        runs.append(found)
        current = found
    return tuple((b - a).total_seconds() for a, b in itertools.pairwise(runs))
