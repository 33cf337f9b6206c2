"""Key-press → screen-update latency of the dashboard under load; prints JSON (not a test).

Drives GloomonApp headless (``run_test``) while a feeder posts a 200-target FleetSnapshot every
``--interval`` seconds and ``--lines`` log lines per second (in 10 batches/s), through the same
messages the session workers post. Keys are queued one at a time as the terminal driver queues them
(``App.simulate_key``); each latency is the time from the key until the widgets hold its effect (the
detail pane shows the new cursor row, or the view opened) — the paint follows within one frame.
Target: p95 under 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gloomon.domain.model import Component, FleetSnapshot, LogBatch, LogEvent  # noqa: E402
from gloomon.ui.app import GloomonApp  # noqa: E402
from gloomon.ui.messages import LogsArrived, SnapshotArrived  # noqa: E402
from gloomon.ui.screens.dashboard import DashboardScreen  # noqa: E402
from gloomon.ui.screens.overlays import TimelineScreen  # noqa: E402
from gloomon.ui.widgets.detail_pane import DetailPane  # noqa: E402
from tests.ui import fixtures as fx  # noqa: E402


def fleet(count: int, generation: int) -> FleetSnapshot:
    """``count`` targets; every other generation a tenth of them lag (so cells really change)."""
    components = list(Component)
    targets = []
    for index in range(count):
        component = components[index % len(components)]
        pod = f"{component.value}-6b7c8d9f{index % 7}-b{index:04d}"
        lagging = generation % 2 == 1 and index % 10 == 0
        pair = fx.CA_ADDED if lagging else fx.LEAF_ROTATED
        targets.append(
            fx.target(
                component, pod, pair, fx.LEAF_ROTATED, index=index, lag_seconds=30.0 if lagging else None
            )
        )
    base = fx.snapshot(fx.LEAF_ROTATED, content_since=fx.NOW - timedelta(seconds=30))
    return replace(base, targets=tuple(targets), generation=generation)


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
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.targets, args.interval, args.lines, args.presses)), indent=2))


if __name__ == "__main__":
    main()
