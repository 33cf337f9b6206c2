"""Key-press → screen-update latency of the dashboard under load; prints JSON (not a test).

Drives GloomonApp headless (``run_test``) while a feeder posts a 200-target FleetSnapshot every
``--interval`` seconds and ``--lines`` log lines per second (in 10 batches/s), through the same
messages the session workers post. Keys are queued one at a time as the terminal driver queues them
(``App.simulate_key``); each latency is the time from the key until the widgets hold its effect (the
detail pane shows the new cursor row, or the view opened) — the paint follows within one frame.
Target: p95 under 100 ms.

``--cas N`` runs the large-bundle case instead: every target and the secret trust a bundle of N CAs (real
certificates, the leaf signed by the newest only), each snapshot made by ``build_snapshot`` as a poll
makes it. It reports the first poll's build time (cold caches), a later poll's, the time until the
dashboard shows the first data, and the latency of ``enter``, ``t``, ``e``, ``escape`` and ``q`` twice: until
the widgets hold the key's effect (``by_key``) and until the first frame showing it has been rendered
(``frame_ms``: what a user waits for; the headless driver drops the frame where a terminal would get it),
and the process's CPU time over that same span (``frame_cpu_ms``: the work the key caused, plus any
snapshot handled meanwhile; it shows what the key costs when other processes share the cores).
After each key the bench idles 50 ms and reports any overrun as ``paint_ms`` (work left over after the
frame: a late layout, a footer rebuilt). The default ``--presses`` gives 10 presses of each key, where
the p95 is the slowest one; ``--presses 480`` gives 40-240 (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from textual.screen import Screen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gloomon.domain.model import Component, FleetSnapshot, LogBatch, LogEvent  # noqa: E402
from gloomon.lab import snapshots as fx  # noqa: E402
from gloomon.lab.snapshots.big_bundle import big_bundle, big_pair  # noqa: E402
from gloomon.ui.app import GloomonApp  # noqa: E402
from gloomon.ui.messages import LogsArrived, SnapshotArrived  # noqa: E402
from gloomon.ui.screens.dashboard import DashboardScreen  # noqa: E402
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, TimelineScreen  # noqa: E402
from gloomon.ui.widgets.detail_pane import DetailPane  # noqa: E402


def fleet(count: int, generation: int) -> FleetSnapshot:
    """``count`` targets; every other generation a tenth of them lag (so cells really change)."""
    components = list(Component)
    pods = [
        (components[i % len(components)], f"{components[i % len(components)].value}-6b7c8d9f{i % 7}-b{i:04d}")
        for i in range(count)
    ]
    written = fx.POLLED - timedelta(seconds=30)
    lagging = {
        pod: fx.admin_fetch(component, pod, fx.CA_ADDED, index=index, at=fx.POLLED, delivered=written)
        for index, (component, pod) in enumerate(pods)
        if generation % 2 == 1 and index % 10 == 0
    }
    snapshot = fx.poll(fx.LEAF_ROTATED, written=written, fetches=lagging, pods=pods)
    return replace(snapshot, generation=generation)


def log_batch(size: int, offset: int) -> list[LogEvent]:
    templates = fx.log_events(12)
    return [
        replace(templates[(offset + n) % len(templates)], ts=fx.NOW + timedelta(milliseconds=offset + n))
        for n in range(size)
    ]


async def feed(
    app: GloomonApp, targets: int, interval: float, lines: int, stop: asyncio.Event
) -> dict[str, int]:
    """Post snapshots and log batches at the requested rates until ``stop``."""
    counts = {"snapshots": 0, "log_lines": 0}
    snapshots = [fleet(targets, generation) for generation in range(2)]
    batch = max(lines // 10, 1)
    next_snapshot = time.perf_counter()
    while not stop.is_set():
        now = time.perf_counter()
        if now >= next_snapshot:
            app.post_message(SnapshotArrived(snapshots[counts["snapshots"] % 2]))
            counts["snapshots"] += 1
            next_snapshot = now + interval
        lines = tuple(log_batch(batch, counts["log_lines"]))
        app.post_message(LogsArrived(LogBatch(counts["log_lines"], lines)))  # ring line numbers
        counts["log_lines"] += batch
        await asyncio.sleep(0.1)
    return counts


async def wait_for(condition, deadline: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    end = time.perf_counter() + deadline
    while not condition():
        if time.perf_counter() > end:
            raise TimeoutError("the screen did not update")
        await asyncio.sleep(0.001)


class Frames:
    """Times the frames the app renders: ``App._display`` receives every rendered screen update (the
    headless driver drops it there, a terminal would be written to). :meth:`expect` arms a condition
    that is checked as each frame leaves; :meth:`drawn` waits for the first frame that satisfied it."""

    def __init__(self, app: GloomonApp) -> None:
        self._condition: Callable[[], bool] | None = None
        self._at: float | None = None
        self.cpu: float | None = None
        original = app._display

        def display(screen: Screen[Any], renderable: RenderableType | None) -> None:
            original(screen, renderable)
            if renderable is not None and self._condition is not None and self._condition():
                self._at, self.cpu = time.perf_counter(), time.process_time()
                self._condition = None

        app._display = display  # type: ignore[method-assign]

    def expect(self, condition: Callable[[], bool]) -> None:
        self._condition, self._at = condition, None

    async def drawn(self) -> float:
        await wait_for(lambda: self._at is not None, deadline=120)
        assert self._at is not None
        return self._at


async def run(targets: int, interval: float, lines: int, presses: int) -> dict[str, object]:
    app = GloomonApp(clock=fx.CLOCK)
    latencies: dict[str, list[float]] = {"down": [], "up": [], "t+escape": []}
    async with app.run_test(size=(160, 48)) as pilot:
        app.show_snapshot(fleet(targets, 0))
        await pilot.pause()
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed(app, targets, interval, lines, stop))
        await asyncio.sleep(1.0)  # let the load settle in
        detail = app.screen.query_one(DetailPane)
        for index in range(presses):
            key = "down" if (index // 10) % 2 == 0 else "up"
            before = detail.shown_key
            start = time.perf_counter()
            app.simulate_key(key)  # queued like the terminal driver's key events (Pilot adds idle waits)
            await wait_for(lambda before=before: detail.shown_key != before)
            latencies[key].append((time.perf_counter() - start) * 1000)
            if index % 10 == 9:
                start = time.perf_counter()
                app.simulate_key("t")
                await wait_for(lambda: isinstance(app.screen, TimelineScreen) and app.screen.ready)
                app.simulate_key("escape")
                await wait_for(lambda: isinstance(app.screen, DashboardScreen))
                latencies["t+escape"].append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.05)
        stop.set()
        counts = await feeder
    every = [value for values in latencies.values() for value in values]
    return {
        "benchmark": "ui_latency",
        "targets": targets,
        "snapshot_interval_s": interval,
        "log_lines_per_s": lines,
        "fed": counts,
        "latency_ms": summary(every),
        "by_key": {key: summary(values) for key, values in latencies.items() if values},
        "target_ms": 100,
        "note": "latency = key press until the screen shows its effect (detail pane row / view opened)",
    }


async def feed_bundles(
    app: GloomonApp, snapshots: list[FleetSnapshot], interval: float, stop: asyncio.Event
) -> int:
    """Post the large-bundle snapshots in turn every ``interval`` seconds until ``stop``."""
    posted = 0
    while not stop.is_set():
        app.post_message(SnapshotArrived(snapshots[posted % len(snapshots)]))
        posted += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    return posted


async def run_bundle(cas: int, interval: float, presses: int) -> dict[str, object]:
    """The dashboard with every target trusting ``cas`` CAs: first data, then key latencies."""
    big_pair(cas)  # making the PEM and its first parse are the bench's own cost; each pod's parse a poll's
    start = time.perf_counter()
    first = big_bundle(cas)
    first_build = time.perf_counter() - start
    start = time.perf_counter()
    second = big_bundle(cas, previous=first)
    later_build = time.perf_counter() - start
    app = GloomonApp(clock=fx.CLOCK)
    keys: dict[str, list[float]] = {key: [] for key in ("down", "up", "enter", "t", "e", "escape", "q")}
    paint: dict[str, list[float]] = {key: [] for key in keys}
    frames: dict[str, list[float]] = {key: [] for key in keys}
    cpu: dict[str, list[float]] = {key: [] for key in keys}
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        drawn = Frames(app)
        start = time.perf_counter()
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        # first data = until a frame shows the table laid out with its rows (not only the widgets holding
        # them: the first key would then pay for the first layout and paint, which no user waits through)
        drawn.expect(
            lambda: dashboard.table.row_count == len(first.targets) and dashboard.table.region.height > 0
        )
        app.post_message(SnapshotArrived(first))
        await wait_for(lambda: dashboard.query_one(DetailPane).shown_key is not None, deadline=120)
        shown = await drawn.drawn() - start
        stop = asyncio.Event()
        feeder = asyncio.create_task(feed_bundles(app, [second, first], interval, stop))

        async def press(key: str, done: Callable[[], bool]) -> None:
            drawn.expect(done)
            begin, begin_cpu = time.perf_counter(), time.process_time()
            app.simulate_key(key)
            await wait_for(done, deadline=120)
            keys[key].append((time.perf_counter() - begin) * 1000)
            frames[key].append((await drawn.drawn() - begin) * 1000)
            cpu[key].append(((drawn.cpu or begin_cpu) - begin_cpu) * 1000)
            begin = time.perf_counter()
            await asyncio.sleep(0.05)
            paint[key].append(max((time.perf_counter() - begin) * 1000 - 50, 0.0))

        def front(kind: type) -> Callable[[], bool]:
            return lambda: isinstance(app.screen, kind) and app.screen.ready

        for index in range(presses):
            detail = dashboard.query_one(DetailPane)
            before = detail.shown_key
            moved = lambda detail=detail, before=before: detail.shown_key != before  # noqa: E731
            await press("down" if index % 2 == 0 else "up", moved)
            await press("enter", front(DetailScreen))
            await press("escape", front(DashboardScreen))
            await press("t", front(TimelineScreen))
            await press("escape", front(DashboardScreen))
            await press("e", front(ExpiryScreen))
            await press("escape", front(DashboardScreen))
        stop.set()
        fed = await feeder
        begin = time.perf_counter()
        app.simulate_key("q")
        await wait_for(lambda: app.return_code is not None or not app.is_running, deadline=120)
        keys["q"].append((time.perf_counter() - begin) * 1000)
    return {
        "benchmark": "ui_latency",
        "cas": cas,
        "targets": len(first.targets),
        "snapshot_interval_s": interval,
        "snapshots_fed": fed,
        "first_poll_build_ms": round(first_build * 1000, 1),
        "later_poll_build_ms": round(later_build * 1000, 1),
        "first_data_ms": round((first_build + shown) * 1000, 1),
        "by_key": {key: summary(values) for key, values in keys.items() if values},
        "frame_ms": {key: summary(values) for key, values in frames.items() if values},
        "frame_cpu_ms": {key: summary(values) for key, values in cpu.items() if values},
        "paint_ms": {key: summary(values) for key, values in paint.items() if values},
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "target_ms": 100,
        "note": "first_data = first poll's build_snapshot + until the table and detail pane show it; "
        "by_key = key press until the widgets hold its effect; frame_ms = until the first frame showing it "
        "is rendered; frame_cpu_ms = CPU time of that span; "
        "paint_ms = the loop's overrun in the 50 ms after it",
    }


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 1),
        "max": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between snapshots")
    parser.add_argument("--lines", type=int, default=2000, help="log lines per second")
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--cas", type=int, default=0, help="the large-bundle case: CAs in every bundle")
    args = parser.parse_args()
    if args.cas:
        result = asyncio.run(run_bundle(args.cas, args.interval, max(args.presses // 6, 3)))
    else:
        result = asyncio.run(run(args.targets, args.interval, args.lines, args.presses))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
