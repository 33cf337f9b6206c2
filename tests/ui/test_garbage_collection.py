"""While the dashboard runs, the GC collects young objects less often (a redraw makes tens of thousands
of them, and each collection could set off a pass over everything alive); leaving restores the process's
own thresholds."""

from __future__ import annotations

import gc

from gloomon.lab import snapshots as fx
from gloomon.ui.app import GC_YOUNG_THRESHOLD
from tests.ui.harness import SIZE, make_app


async def test_the_dashboard_collects_young_objects_less_often_and_leaves_the_gc_as_it_found_it() -> None:
    before = gc.get_threshold()
    assert before[0] < GC_YOUNG_THRESHOLD
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    assert gc.get_threshold() == before
