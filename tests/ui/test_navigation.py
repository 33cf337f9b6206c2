"""Behaviour of the dashboard, driven with Pilot: keys, cursor, detail pane, logs, files, the session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import HelpPanel

from gloomon.domain.model import FleetSnapshot, LogBatch, LogEvent
from gloomon.lab import snapshots as fx
from gloomon.sources.logs.buffer import LogBuffer
from gloomon.ui.app import GloomonApp
from gloomon.ui.messages import LogsArrived
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, FindingsScreen, LogsScreen, TimelineScreen
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.fleet_table import FleetTable, sort_key
from gloomon.ui.widgets.log_pane import LogPane
from tests.ui.harness import SIZE, Toasts, make_app, until


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


async def test_filter_by_text_and_component() -> None:
    app = make_app()
    events = fx.log_events(24)
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events(events)
        pane = app.screen.query_one(LogPane)
        await until(lambda: pane.shown == len(events), pilot)
        await pilot.press("slash")
        await until(lambda: pane.filter_input.has_focus, pilot)
        await pilot.press(*"@extauth")
        expected = [e for e in events if e.component is not None and e.component.value == "extauth"]
        await until(lambda: pane.shown == len(expected), pilot)
        await pilot.press(*" tls")
        await until(lambda: pane.shown == len([e for e in expected if "TLS" in e.message]), pilot)
        await pilot.press("escape")
        await until(lambda: not pane.filter_input.has_focus, pilot)
        assert isinstance(app.screen, DashboardScreen)  # escape closed the filter, not the screen
        app.add_log_events(fx.log_events(6))  # new lines pass through the same filter
        await until(lambda: pane.shown == len([e for e in expected if "TLS" in e.message]) + 1, pilot)


async def test_follow_pause_counts_new_lines_and_resumes() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events(fx.log_events(120))
        pane = app.screen.query_one(LogPane)
        await until(
            lambda: (
                pane.log_view.allow_vertical_scroll  # laid out: the user can scroll it
                and pane.log_view.scroll_y == pane.log_view.max_scroll_y > 0
            ),
            pilot,
        )
        pane.log_view.focus()
        pane.log_view.scroll_home(animate=False, immediate=True)
        await until(lambda: not pane.following, pilot)
        app.add_log_events(fx.log_events(5))
        await until(lambda: pane.pending == 6, pilot)
        assert "+6 new" in str(pane.query_one("#log-status").render())
        await pilot.press("f")
        await until(lambda: pane.following and pane.pending == 0, pilot)
        await until(lambda: pane.log_view.scroll_y == pane.log_view.max_scroll_y, pilot)
        await pilot.press("f")
        assert not pane.following


async def test_hostile_log_text_is_rendered_literally() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events(fx.log_events(1))
        pane = app.screen.query_one(LogPane)
        await until(lambda: pane.shown == 2, pilot)
        rendered = "\n".join(pane.log_view.visible_text())
        assert "[bold red]x[/]" in rendered
        assert "\x1b" not in rendered and "\x07" not in rendered
        assert "[bold red]x[/] red bell" in rendered  # made inert once, when the line was parsed
        screen_text = app.export_screenshot()
        assert "\x1b" not in screen_text


async def test_save_writes_the_check_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app, toasts = make_app(), Toasts()
    async with app.run_test(size=SIZE, message_hook=toasts) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.press("s")
        path = tmp_path / "gloomon-snapshot-20261125T210000Z.json"
        await until(path.exists, pilot)
        document = json.loads(path.read_text())
        assert document["schema"] == 1
        assert "PRIVATE" not in path.read_text()
        await until(lambda: any(str(path) in message for message in toasts.messages), pilot)


async def test_copy_puts_only_the_public_pem_on_the_clipboard() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.press("c")
        await until(lambda: "BEGIN CERTIFICATE" in app.clipboard, pilot)
        assert "PRIVATE KEY" not in app.clipboard


async def test_toasts_only_on_changes() -> None:
    app, toasts = make_app(), Toasts()
    lagging = fx.lagging()
    (finding,) = lagging.findings
    async with app.run_test(size=SIZE, message_hook=toasts) as pilot:
        app.show_snapshot(fx.steady())
        app.show_snapshot(fx.steady())
        await pilot.pause()
        assert toasts.messages == []
        app.show_snapshot(lagging)
        await until(lambda: len(toasts.messages) >= 2, pilot)
        assert any("phase steady → leaf-rotated" in m for m in toasts.messages)
        assert any(m.startswith(f"new: {finding.message[:40]}") for m in toasts.messages), toasts.messages


class FakeSession:
    """The session's shape (start, snapshots, log_batches, refresh_now, stop) with canned data."""

    def __init__(
        self, snapshots: list[FleetSnapshot], batches: list[list[LogEvent]], fail: str | None = None
    ):
        self._snapshots, self._batches, self._fail = snapshots, batches, fail
        self.refreshed = 0
        self.stopped = False

    async def start(self) -> None:
        if self._fail:
            raise RuntimeError(self._fail)

    async def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        for snapshot in self._snapshots:
            yield snapshot
        await asyncio.Event().wait()

    async def log_batches(self) -> AsyncIterator[LogBatch]:
        start = 0
        for batch in self._batches:
            yield LogBatch(start, tuple(batch))
            start += len(batch)
        raise ConnectionError("log stream dropped\nTraceback (most recent call last): …")

    def refresh_now(self) -> None:
        self.refreshed += 1

    async def stop(self) -> None:
        self.stopped = True


async def test_session_streams_feed_the_app_and_errors_stay_calm() -> None:
    session = FakeSession([fx.steady(), fx.lagging()], [fx.log_events(3)])
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.state.snapshot is not None and app.state.snapshot.findings != (), pilot)
        await until(lambda: len(app.state.logs) == 4, pilot)
        await until(lambda: app.state.failure is not None, pilot)
        assert app.state.failure == "Lost the logs: log stream dropped"
        banner = app.screen.query_one("#banner")
        assert banner.display and "log stream dropped" in str(banner.render())
        await pilot.press("r")
        await until(lambda: session.refreshed == 1, pilot)
        await pilot.press("q")
    assert session.stopped


async def test_session_that_cannot_start_exits_3_with_the_reason(tmp_path) -> None:
    from gloomon.settings import Settings
    from gloomon.sources.session import MonitorSession

    session = MonitorSession(Settings(kubeconfig=str(tmp_path / "absent")))
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.return_code is not None, pilot)
    assert app.return_code == 3
    assert app.state.failure is not None
    assert "kubeconfig: file not found" in app.state.failure


async def test_late_log_lines_are_merged_in_time_order() -> None:
    """A resumed stream's catch-up lines (received before what is shown) land where the session's ring
    merged them, not at the bottom: the ring's batch says from which line on it changed."""
    ring = LogBuffer(100, hold=0.0)
    shown = [replace(e, received=e.ts) for e in fx.log_events(6, start=fx.NOW - timedelta(seconds=30))]
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        for part in (shown[3:], shown[:3]):  # the older part arrives after a dropped stream resumed
            for event in part:
                ring.add(event)
            batch = ring.flush(force=True)
            assert batch is not None
            app.post_message(LogsArrived(batch))
        await until(lambda: len(app.state.logs) == len(shown), pilot)
        assert [event.ts for event in app.state.logs] == [event.ts for event in shown]
        pane = app.screen.query_one(LogPane)
        visible = "\n".join(pane.log_view.visible_text())
        positions = [visible.find(event.ts.strftime("%H:%M:%S")) for event in shown if event.ts]
        assert positions == sorted(positions) and -1 not in positions
