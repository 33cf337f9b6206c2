"""A poll builds its snapshot in a worker thread: the event loop (the dashboard's keys and frames) keeps
running while a bundle of thousands of CAs is compared and judged. No lab."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gloomon.domain import fleet
from gloomon.domain.model import Component, FleetSnapshot
from gloomon.settings import DirectTarget, Settings
from gloomon.sources.session import MonitorSession


async def test_the_loop_runs_while_a_poll_builds_its_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fleet.build_snapshot
    building, released = threading.Event(), threading.Event()
    count = {"ticks": 0, "at_entry": 0, "during_build": 0}

    def held_build(**kwargs: object) -> FleetSnapshot:
        """The build, held until the loop has ticked three times (the wait's limit is a deadlock guard:
        a build on the loop itself never sees a tick)."""
        count["at_entry"] = count["ticks"]
        building.set()
        released.wait(10)
        count["during_build"] = count["ticks"] - count["at_entry"]
        return real(**kwargs)  # type: ignore[arg-type]

    async def ticker() -> None:
        while not released.is_set():
            count["ticks"] += 1
            if building.is_set() and count["ticks"] - count["at_entry"] >= 3:
                released.set()
            await asyncio.sleep(0)

    monkeypatch.setattr(fleet, "build_snapshot", held_build)
    target = DirectTarget("gloo-1", Component.GLOO, "http://127.0.0.1:9")
    session = MonitorSession(Settings(targets=(target,)))
    await session.start()
    try:
        snapshot, _ = await asyncio.gather(session.poll_once(), ticker())
    finally:
        await session.stop()
    assert count["during_build"] >= 3
    assert [item.ref.pod for item in snapshot.targets] == ["gloo-1"]
