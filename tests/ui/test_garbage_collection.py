"""While the dashboard runs, its collector owns the GC (tests/ui/test_collector.py), never walks again what
was alive when the dashboard started, and finds no line of a frame to collect (Textual's full-width
strips held themselves); leaving restores the process's own collector."""

from __future__ import annotations

import gc

from textual.strip import Strip

from gloomon.lab import snapshots as fx
from gloomon.ui.collector import YOUNG_THRESHOLD
from tests.ui.harness import SIZE, make_app


async def test_the_dashboard_owns_the_gc_while_it_runs_and_leaves_it_as_it_found_it() -> None:
    before = gc.get_threshold()
    assert before[0] < YOUNG_THRESHOLD
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        young, middle, oldest = gc.get_threshold()
        assert young == YOUNG_THRESHOLD and middle > 1_000_000 and oldest > 1_000_000
    assert gc.get_threshold() == before


async def test_what_was_alive_at_start_is_not_walked_again_while_the_dashboard_runs() -> None:
    assert gc.get_freeze_count() == 0
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        assert gc.get_freeze_count() > 10_000  # the modules, classes and functions loaded by then
    assert gc.get_freeze_count() == 0


async def test_the_lines_of_a_frame_are_freed_without_the_cycle_collector() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        gc.collect()
        gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage, to be looked at
        try:
            for key in ("down", "down", "up", "t", "escape", "e", "escape"):
                await pilot.press(key)
                await pilot.pause()
            gc.collect()
            strips = sum(1 for item in gc.garbage if isinstance(item, Strip))
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert strips == 0
