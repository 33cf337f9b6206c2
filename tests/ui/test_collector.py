"""The dashboard's collector: the older generations are collected after a key has been drawn or in quiet
moments, never by allocations alone, and so at least every few seconds however the keys come."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gloomon.ui.collector import FULL_SECONDS, MIDDLE_SECONDS, QUIET_SECONDS, Collector


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def passes() -> Iterator[list[int]]:
    """The generations of the collections the process really ran, in order."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] > 0:
            seen.append(info["generation"])

    gc.callbacks.append(record)
    try:
        yield seen
    finally:
        gc.callbacks.remove(record)


@pytest.fixture
def collector() -> Iterator[tuple[Collector, Clock]]:
    clock = Clock()
    collector = Collector(clock)
    collector.start()
    try:
        yield collector, clock
    finally:
        collector.stop()


def test_allocations_alone_never_start_a_pass_over_the_older_generations(
    collector: tuple[Collector, Clock], passes: list[int]
) -> None:
    garbage = []
    for _ in range(200_000):  # forty young passes' worth of objects, some of them cycles
        cycle: list[object] = []
        cycle.append(cycle)
        garbage.append([cycle])
        if len(garbage) > 100:
            garbage.clear()
    assert passes == []


def test_the_middle_generation_is_collected_once_a_key_is_drawn_at_most_once_a_second(
    collector: tuple[Collector, Clock], passes: list[int]
) -> None:
    running, clock = collector
    assert running.after_key() is None  # just started
    clock.now += MIDDLE_SECONDS
    assert running.after_key() == 1
    clock.now += MIDDLE_SECONDS / 2
    assert running.after_key() is None
    assert passes == [1]


def test_quiet_moments_collect_the_middle_generation_and_in_time_the_whole_heap(
    collector: tuple[Collector, Clock], passes: list[int]
) -> None:
    running, clock = collector
    last_key = clock.now
    clock.now += QUIET_SECONDS / 2
    assert running.tick(last_key) is None  # a key is still being answered
    clock.now = last_key + max(QUIET_SECONDS, MIDDLE_SECONDS)
    assert running.tick(last_key) == 1
    assert running.tick(last_key) is None  # not due again yet
    clock.now = last_key + FULL_SECONDS
    assert running.tick(last_key) == 2
    assert passes == [1, 2]


def test_keys_without_a_pause_delay_the_passes_only_so_long(
    collector: tuple[Collector, Clock], passes: list[int]
) -> None:
    running, clock = collector
    start = clock.now
    collected = []
    while clock.now - start < 2 * FULL_SECONDS + 0.5:  # a key every 0.1 s, each drawn then ticked
        clock.now += 0.1
        collected += [running.after_key(), running.tick(last_key=clock.now)]
    assert collected.count(2) == 2
    assert collected.count(1) >= 2 * FULL_SECONDS / MIDDLE_SECONDS - 4
    assert passes == [generation for generation in collected if generation]


def test_stopping_gives_the_process_its_collector_back(passes: list[int]) -> None:
    before = gc.get_threshold()
    clock = Clock()
    collector = Collector(clock)
    collector.start()
    assert gc.get_freeze_count() > 0
    collector.stop()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    clock.now += FULL_SECONDS
    assert collector.tick(last_key=0.0) is None
    assert collector.after_key() is None
