"""Remote text never reaches markup or the terminal: a hostile admin error in the toast and the banner,
control characters in table cells."""

from __future__ import annotations

from dataclasses import replace

from textual.widgets._toast import Toast

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, FleetSnapshot
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.widgets.fleet_table import (
    row_cells,
)
from tests.ui.harness import PALETTE, SIZE, until

HOSTILE = "[/x] [@click=app.quit]q \x1b[31mred"


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
        shown = [str(toast.render()) for toast in app.screen.query(Toast)]
        # the escape sequence removed whole, no [31m tail; the markup shown as written
        assert any("new:" in text and "[/x] [@click=app.quit]q red" in text for text in shown), shown
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
