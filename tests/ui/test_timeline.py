"""The rotation timeline builds only the rows on screen, however many pods the fleet has."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gloomon.domain.model import Component, FleetSnapshot
from gloomon.lab import snapshots as fx
from gloomon.ui.screens.overlays import TimelineScreen
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from tests.ui.harness import SIZE, make_app, until


def many_targets(count: int, generation: int) -> FleetSnapshot:
    """``count`` pods; in odd generations every tenth lags (so the history has something to draw)."""
    components = list(Component)
    pods = [
        (components[i % len(components)], f"{components[i % len(components)].value}-6b7c8d9f-b{i:04d}")
        for i in range(count)
    ]
    at = fx.NOW - timedelta(seconds=30 - 10 * generation)
    lagging = {
        pod: fx.admin_fetch(component, pod, fx.CA_ADDED, index=index, at=at)
        for index, (component, pod) in enumerate(pods)
        if generation % 2 == 1 and index % 10 == 0
    }
    snapshot = fx.poll(
        fx.LEAF_ROTATED, at=at, written=fx.NOW - timedelta(seconds=60), fetches=lagging, pods=pods
    )
    return replace(snapshot, generation=generation + 1)


async def test_timeline_builds_only_the_rows_on_screen() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for generation in range(3):
            app.show_snapshot(many_targets(200, generation))
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen) and app.screen.ready, pilot)
        timeline = app.screen.query_one(RotationTimeline)
        await until(lambda: timeline.lines is not None and bool(timeline._strips), pilot)
        assert timeline.lines is not None and len(timeline.lines) > 200
        assert len(timeline.lines._rows) <= timeline.size.height
        await pilot.press("end")
        await until(lambda: "Secret changes" in "\n".join(timeline.visible_text()), pilot)
