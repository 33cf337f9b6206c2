"""The logs' keys from where a user presses them: ``f`` and ``w`` work from the dashboard whichever pane
has focus (the footer says so), ``/`` is offered only where there are logs to filter, and the wrap choice
reaches the full-screen logs from any view."""

from __future__ import annotations

from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens.overlays import LogsScreen, TimelineScreen
from gloomon.ui.widgets.fleet_table import FleetTable
from gloomon.ui.widgets.log_pane import LogPane
from tests.ui.harness import SIZE, make_app, until


def footer_words(app: GloomonApp) -> set[str]:
    return {binding.description for (_, binding, enabled, _) in app.active_bindings.values() if enabled}


async def test_f_and_w_work_from_the_fleet_table_and_the_footer_lists_them() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events(fx.log_events(3))
        pane = app.screen.query_one(LogPane)
        await until(lambda: app.screen.query_one(FleetTable).has_focus, pilot)
        assert {"Follow", "Wrap"} <= footer_words(app)
        await pilot.press("w")
        await until(lambda: pane.wrap, pilot)
        await pilot.press("f")
        await until(lambda: not pane.following, pilot)
        await pilot.press("f")
        await until(lambda: pane.following, pilot)
        assert app.screen.query_one(FleetTable).has_focus  # the keys did not move the focus
        await pilot.press("slash", "w", "f")  # typed into the filter, not taken as keys
        await until(lambda: pane.filter_input.value == "wf", pilot)
        assert pane.wrap and pane.following


async def test_filter_is_offered_only_where_there_are_logs() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        assert "Filter" in footer_words(app)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen), pilot)
        await until(lambda: "Filter" not in footer_words(app), pilot)


async def test_wrap_reaches_the_full_screen_logs_from_another_view() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        pane = app.screen.query_one(LogPane)
        pane.wrap = True
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen), pilot)
        await pilot.press("l")
        await until(lambda: isinstance(app.screen, LogsScreen), pilot)
        assert app.screen.query_one(LogPane).wrap


async def test_wrap_chosen_in_the_full_screen_logs_carries_back_to_the_dashboard() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        pane = app.screen.query_one(LogPane)
        assert not pane.wrap
        await pilot.press("l")
        await until(lambda: isinstance(app.screen, LogsScreen), pilot)
        await pilot.press("w")
        await until(lambda: app.screen.query_one(LogPane).wrap, pilot)
        await pilot.press("escape")
        await until(lambda: not isinstance(app.screen, LogsScreen), pilot)
        await until(lambda: pane.wrap, pilot)
