"""Durations ("65s", "1h30m", "14d") and the certgen CronJob's schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gloomon.domain.model import ParseError
from gloomon.domain.parse.cron import (
    longest_interval_seconds,
    next_run,
    parse_schedule,
    shortest_interval_seconds,
)
from gloomon.domain.parse.durations import human_duration, human_time_left, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("65s", 65),
        ("2m", 120),
        ("36h", 129600),
        ("14d", 1209600),
        ("1h30m", 5400),
        ("500ms", 0.5),
        ("1.5h", 5400),
        ("90", 90),
        (" 2W ", 1209600),
        ("0s", 0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "x", "-5s", "5 s", "1h-30m", "s", "1e400", "9" * 400 + "d"])
def test_parse_duration_rejects(text: str) -> None:
    assert isinstance(parse_duration(text), ParseError)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (364 * 86400 + 5, "364d"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (2 * 86400, "2d"),
        (6 * 3600 + 12 * 60 + 3, "6h12m"),
        (3600, "1h"),
        (125, "2m5s"),
        (120, "2m"),
        (41.9, "41s"),
        (0, "0s"),
        (-90, "-1m30s"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_human_time_left() -> None:
    assert human_time_left(86400 * 364) == "364d"
    assert human_time_left(-3 * 86400) == "expired 3d ago"


AFTER = datetime(2026, 11, 25, 20, 52, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * * * *", datetime(2026, 11, 25, 20, 53, tzinfo=UTC)),
        ("*/15 * * * *", datetime(2026, 11, 25, 21, 0, tzinfo=UTC)),
        ("0 0 1 * *", datetime(2026, 12, 1, tzinfo=UTC)),
        ("@hourly", datetime(2026, 11, 25, 21, 0, tzinfo=UTC)),
        ("@daily", datetime(2026, 11, 26, tzinfo=UTC)),
        ("@weekly", datetime(2026, 11, 29, tzinfo=UTC)),  # Sunday
        ("@monthly", datetime(2026, 12, 1, tzinfo=UTC)),
        ("@yearly", datetime(2027, 1, 1, tzinfo=UTC)),
        ("30 2 * * 1-5", datetime(2026, 11, 26, 2, 30, tzinfo=UTC)),
        ("0 9,17 * * *", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
        ("0 0 1 jan,jul *", datetime(2027, 1, 1, tzinfo=UTC)),
        ("0 0 13 * fri", datetime(2026, 11, 27, tzinfo=UTC)),  # day OR weekday when both restricted
        ("0 0 29 2 *", datetime(2028, 2, 29, tzinfo=UTC)),
        ("0 12 * * 7", datetime(2026, 11, 29, 12, tzinfo=UTC)),  # 7 = Sunday
    ],
)
def test_next_run(schedule: str, expected: datetime) -> None:
    assert next_run(schedule, AFTER) == expected


@pytest.mark.parametrize("schedule", ["", "* * * *", "61 * * * *", "*/0 * * * *", "a b c d e", "5-1 * * * *"])
def test_bad_schedules(schedule: str) -> None:
    assert isinstance(parse_schedule(schedule), ParseError)
    assert next_run(schedule, AFTER) is None
    assert longest_interval_seconds(schedule) is None


def test_never_matching_schedule() -> None:
    assert next_run("0 0 31 2 *", AFTER) is None
    assert longest_interval_seconds("0 0 31 2 *") is None


@pytest.mark.parametrize(
    ("schedule", "longest"),
    [
        ("* * * * *", 60),
        ("*/5 * * * *", 300),
        ("0 9 * * 1-5", 3 * 86400),
        ("@monthly", 31 * 86400),
        ("0 0 1 1,7 *", 184 * 86400),
        ("@every 2h", 7200),
    ],
)
def test_longest_intervals(schedule: str, longest: float) -> None:
    assert longest_interval_seconds(schedule) == pytest.approx(longest, rel=0.05)


@pytest.mark.parametrize(
    ("schedule", "shortest"),
    [("* * * * *", 60), ("0,1 0 * * *", 60), ("0 9 * * 1-5", 86400), ("0 0 1 1,7 *", 181 * 86400)],
)
def test_shortest_interval(schedule: str, shortest: float) -> None:
    assert shortest_interval_seconds(schedule) == pytest.approx(shortest, rel=0.05)


def test_every_interval_capped() -> None:
    """Longer than 10 years is no schedule (it overflowed date arithmetic); runs past year 9999 are none."""
    assert isinstance(parse_schedule("@every 99999999999d"), ParseError)
    assert next_run("@every 99999999999d", AFTER) is None
    assert next_run("@every 3650d", AFTER) is not None
    assert next_run("@every 3650d", AFTER.replace(year=9995)) is None
    assert next_run("* * * * *", AFTER.replace(year=9999, month=12, day=31, hour=23, minute=59)) is None
