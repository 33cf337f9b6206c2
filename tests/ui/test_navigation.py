"""Moving around the dashboard (Pilot): view keys and escape, footer, help panel and palette, the cursor and
the detail pane that follows it, a narrow terminal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import HelpPanel

from gloomon.domain.model import FleetSnapshot
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, FindingsScreen, LogsScreen, TimelineScreen
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.fleet_table import (
    FleetTable,
    sort_key,
)
from gloomon.ui.widgets.log_pane import LogPane
from tests.ui.harness import SIZE, make_app, until


def row_keys(snapshot: FleetSnapshot) -> list[str]:
    """Row order of the fleet table: component, then pod."""
    return [target.key for target in sorted(snapshot.targets, key=sort_key)]


def table(app: GloomonApp) -> FleetTable:
    return app.screen.query_one(FleetTable)


async def test_view_keys_open_and_escape_returns(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        for key, screen_type in (
            ("t", TimelineScreen),
            ("e", ExpiryScreen),
            ("i", FindingsScreen),
            ("l", LogsScreen),
        ):
            await pilot.press(key)
            await until(lambda screen_type=screen_type: isinstance(app.screen, screen_type), pilot)
            await pilot.press("escape")
            await until(lambda: isinstance(app.screen, DashboardScreen), pilot)
        await pilot.press("t", "e")  # one view replaces another: escape still leads home
        await until(lambda: isinstance(app.screen, ExpiryScreen), pilot)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DashboardScreen), pilot)
        await pilot.press("down", "enter")
        await until(lambda: isinstance(app.screen, DetailScreen), pilot)
        assert app.screen.key == row_keys(fx.lagging())[1]  # type: ignore[attr-defined]


async def test_footer_help_and_palette() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        descriptions = {binding.description for (_, binding, _, _) in app.active_bindings.values()}
        assert {
            "Quit",
            "Refresh",
            "Filter",
            "Timeline",
            "Expiry",
            "Logs",
            "Copy PEM",
            "Save",
            "Details",
            "Next pane",
        } <= descriptions
        app.screen.query_one(LogPane).log_view.focus()  # the logs pane's own keys, shown when it has focus
        await until(
            lambda: {"Follow", "Wrap"} <= {b.description for (_, b, _, _) in app.active_bindings.values()},
            pilot,
        )
        app.action_show_help_panel()
        await until(lambda: bool(app.screen.query(HelpPanel)), pilot)
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette), pilot)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DashboardScreen), pilot)


async def test_detail_pane_follows_the_cursor() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        keys = row_keys(fx.lagging())
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        detail = app.screen.query_one(DetailPane)
        assert detail.shown_key == keys[0]
        await pilot.press("down", "down", "down")
        await until(lambda: detail.shown_key == keys[3], pilot)
        await pilot.press("up")
        await until(lambda: detail.shown_key == keys[2], pilot)


async def test_cursor_survives_refreshes_and_removed_rows() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        await pilot.press("down", "down", "down", "down")
        selected = table(app).selected_key
        assert selected == row_keys(fx.steady())[4]
        app.show_snapshot(fx.untrusted())  # same rows, changed cells
        await pilot.pause()
        assert table(app).selected_key == selected
        shrunk = fx.steady()
        app.show_snapshot(
            replace(shrunk, targets=tuple(t for t in shrunk.targets if t.key in row_keys(shrunk)[2:]))
        )  # two rows above the cursor vanish
        await pilot.pause()
        assert table(app).selected_key == selected
        app.show_snapshot(fx.steady())  # they come back, order restored
        await pilot.pause()
        assert table(app).selected_key == selected
        assert [str(row.value) for row in table(app).rows] == row_keys(fx.steady())


async def test_narrow_terminal_hides_detail_and_columns() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        assert (
            not app.screen.query_one(DetailPane).display or app.screen.query_one(DetailPane).size.width == 0
        )
        assert [str(c.value) for c in table(app).columns] == [
            "component",
            "pod",
            "left",
            "phase",
            "sync",
            "xds",
        ]
