"""A poll redraws only what is seen and what changed (issue 11: keys answer within 100 ms).

A screen covered by a view is not redrawn per snapshot but once, with the latest state, when it comes
back; the details and the expiry chart keep what they show when a poll leaves their texts unchanged; the
fleet table renders again only the cells whose value changed, not every visible cell.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from rich.segment import Segment
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from gloomon.domain.model import FleetSnapshot
from gloomon.lab import snapshots as fx
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.expiry_chart import ExpiryChart
from gloomon.ui.widgets.fleet_table import FleetTable
from tests.ui.harness import SIZE, make_app
from tests.ui.test_kept_views import detail_text, home, in_front


def next_poll(previous: FleetSnapshot) -> FleetSnapshot:
    """The steady fleet polled again 10 s later: new objects, the same certificates and states."""
    return fx.poll(fx.STEADY, at=previous.taken_at + timedelta(seconds=10), previous=previous)


async def test_a_covered_dashboard_is_drawn_once_with_the_latest_state_when_it_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[FleetSnapshot | None] = []
    draw = DashboardScreen.draw

    def recording(screen: DashboardScreen, now: datetime) -> None:
        drawn.append(screen.state.snapshot)
        draw(screen, now)

    monkeypatch.setattr(DashboardScreen, "draw", recording)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.press("enter")
        view = await in_front(app, DetailScreen, pilot)
        covered = len(drawn)
        latest = fx.expired()
        for snapshot in (fx.lagging(), latest):
            app.show_snapshot(snapshot)
            await pilot.pause()
        assert drawn[covered:] == []  # nothing drawn while nobody sees it…
        assert detail_text(view) != ""  # …while the view in front follows each snapshot
        await home(app, pilot)
        assert drawn[covered:] == [latest]  # once, from the state as it is now
        dashboard = app.screen
        assert detail_text(dashboard) == detail_text(view)  # the same target, the same data


async def test_details_and_expiry_keep_what_they_show_when_a_poll_changes_none_of_it() -> None:
    first = fx.steady()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(first)
        await pilot.pause()
        body = app.screen.query_one(DetailPane).query_one("#detail-body", Static)
        shown = body.content
        again = next_poll(first)
        app.show_snapshot(again)
        await pilot.pause()
        assert body.content is shown  # not updated: no layout, no paint
        app.show_snapshot(fx.expired())
        await pilot.pause()
        assert body.content is not shown
        assert "expired" in detail_text(app.screen)
        app.show_snapshot(again)
        await pilot.press("e")
        chart = (await in_front(app, ExpiryScreen, pilot)).query_one(ExpiryChart)
        shown = chart.content
        app.show_snapshot(next_poll(again))
        await pilot.pause()
        assert chart.content is shown
        app.show_snapshot(fx.expired())
        await pilot.pause()
        assert chart.content is not shown


async def test_a_poll_renders_again_only_the_table_cells_it_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[tuple[int, int]] = []
    render = DataTable._render_cell

    def recording(
        table: DataTable[object], row: int, column: int, *args: object, **kwargs: object
    ) -> list[list[Segment]]:
        rendered.append((row, column))
        return render(table, row, column, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DataTable, "_render_cell", recording)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        before = {
            (row, column): table.get_cell_at(Coordinate(row, column))
            for row in range(table.row_count)
            for column in range(len(table.columns))
        }
        rendered.clear()
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        changed = {at for at, cell in before.items() if table.get_cell_at(Coordinate(*at)) is not cell}
        body = {at for at in rendered if at[0] >= 0}
        assert changed and len(changed) < len(before)  # the lagging pod's row changed, the others not
        assert body == changed
