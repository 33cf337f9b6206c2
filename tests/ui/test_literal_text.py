"""Review findings pinned: remote text never reaches markup or the terminal (toasts, banner, table), the
session is stopped once and only after its readers have finished, and every column fits 120 cells."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from textual.widgets._toast import Toast

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, FleetSnapshot, LogEvent
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.format import Palette
from gloomon.ui.widgets.fleet_table import COLUMNS, FleetTable, layout_for_width, layout_width, row_cells
from tests.ui.harness import SIZE, until

HOSTILE = "[/x] [@click=app.quit]q \x1b[31mred"
PALETTE = Palette.from_variables({"success": "#00ff00", "warning": "#ffaa00", "error": "#ff0000"})


def hostile_snapshot() -> FleetSnapshot:
    """A pod whose admin API fails with hostile text, and a source error with it too."""
    down = fx.admin_fetch(Component.EXTAUTH, fx.BAD_POD, index=4, at=fx.POLLED, error=HOSTILE)
    return fx.poll(fx.STEADY, fetches={fx.BAD_POD: down}, errors=(f"api: {HOSTILE}",))


async def test_hostile_finding_toast_and_banner_stay_literal() -> None:
    """A finding message with markup and an escape: the app stays up, the toast shows it as written."""
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app.show_snapshot(fx.steady())
        app.show_snapshot(hostile_snapshot())
        await until(lambda: bool(app.screen.query(Toast)), pilot)
        await pilot.pause()
        toast = next(t for t in app.screen.query(Toast) if "new:" in str(t.render()))
        shown = str(toast.render())
        assert "[/x] [@click=app.quit]q red" in shown  # the escape sequence removed whole, no [31m tail
        assert app.is_running  # an exception would have ended it
        banner = str(app.screen.query_one("#banner").render())
        assert "[/x] [@click=app.quit]q red" in banner
        assert "\x1b" not in app.export_screenshot()


def test_table_cells_keep_remote_text_inert() -> None:
    """sds version, pod name, serial: control characters are shown as ``\\xNN``, never sent as-is."""
    target = fx.steady().targets[0]
    hostile = replace(
        target,
        sds_version="\x1b[2Jabcdefgh",
        envoy_version="\x1b]0;t\x07",
        ref=replace(target.ref, pod="gloo-\x1b[31m-x"),
    )
    cells = row_cells(hostile, fx.NOW, PALETTE, HealthPolicy())
    assert all("\x1b" not in cell.plain and "\x07" not in cell.plain for cell in cells.values())
    assert cells["sds"].plain == "abcdefgh"  # the escape sequence removed whole, then the first 8 characters


class PollingSession:
    """A session whose snapshot stream is always mid-poll; it records whether stop() overlapped a poll."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.polling = False
        self.stopped_during_poll = False
        self.stop_calls = 0

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError("no cluster")

    async def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        yield fx.steady()
        while True:
            self.polling = True
            try:
                await asyncio.Event().wait()  # a poll that never returns by itself
            finally:
                self.polling = False
            yield fx.steady()

    async def log_batches(self) -> AsyncIterator[list[LogEvent]]:
        await asyncio.Event().wait()
        yield []

    def refresh_now(self) -> None:
        pass

    async def stop(self) -> None:
        self.stop_calls += 1
        self.stopped_during_poll = self.stopped_during_poll or self.polling


async def test_quit_cancels_the_readers_before_stopping_the_session_once() -> None:
    session = PollingSession()
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: session.polling, pilot)
        await pilot.press("q")
        await until(lambda: session.stop_calls > 0, pilot)
    assert session.stop_calls == 1  # not again on unmount
    assert not session.stopped_during_poll


async def test_every_exit_path_stops_the_session_once() -> None:
    session = PollingSession()
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: session.polling, pilot)
        app.exit()  # what ctrl+c-free exits and the harness do: no action_quit
    assert session.stop_calls == 1 and not session.stopped_during_poll
    failing = PollingSession(fail=True)
    app = GloomonApp(session=failing, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.return_code is not None, pilot)
    assert app.return_code == 3 and failing.stop_calls == 1


def test_layouts_fit_their_widths() -> None:
    """All columns at 120 (one cell spare for the scrollbar), no versions/fwd at 100, essentials at 80."""
    assert layout_for_width(120) == "wide" and layout_width("wide") <= 119
    assert layout_for_width(100) == "medium" and layout_width("medium") <= 99
    assert layout_for_width(99) == "compact" and layout_width("compact") <= 79


async def test_every_column_shows_at_120_without_scrolling() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        assert [str(c.value) for c in table.columns] == [column.key for column in COLUMNS]
        assert table.virtual_size.width <= table.size.width
        row = fx.lagging().targets[0].key
        assert table.get_cell(row, "envoy").plain == "1.40.0"
        assert len(table.get_cell(row, "sds").plain) == 8
