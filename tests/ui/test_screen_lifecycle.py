"""A screen being torn down is never drawn: neither the 1 Hz tick nor a new snapshot reaches its widgets.

The race this pins (``NoMatches: No nodes match 'HeaderBar' on DetailScreen()``, about one run in ten
under load) needed a tick to land while Textual was removing the screen's widgets. Here a probe widget on
the screen waits, inside that teardown, until the header bar is gone, and then ticks and redraws: the
same moment, every run.
"""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot
from textual.widget import Widget

from gloomon.domain.model import FleetSnapshot
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens.base import GloomonScreen
from gloomon.ui.screens.overlays import DetailScreen
from gloomon.ui.widgets.header_bar import HeaderBar

SIZE = (120, 40)


class TeardownProbe(Widget):
    """While its screen is torn down: wait until the header bar has gone, then tick and redraw."""

    def __init__(self, screen: GloomonScreen, snapshot: FleetSnapshot) -> None:
        super().__init__()
        self.owner = screen
        self.header = screen.query_one(HeaderBar)
        self.snapshot = snapshot
        self.errors: list[BaseException] = []
        self.reached = False

    async def on_unmount(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while self.header.is_attached and loop.time() < deadline:
            await asyncio.sleep(0.005)
        if self.header.is_attached:
            return  # `reached` stays false: the test fails on it, not on a hang
        try:
            self.owner.tick(fx.CLOCK())
            self.owner.app.show_snapshot(self.snapshot)
        except Exception as error:
            self.errors.append(error)
        self.reached = True


async def wait_for_screen(app: GloomonApp, kind: type[GloomonScreen], pilot: Pilot[None]) -> GloomonScreen:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not (isinstance(app.screen, kind) and app.screen.ready):
        assert loop.time() < deadline, f"{kind.__name__} never became ready"
        await pilot.pause(0.02)
    return app.screen


async def test_the_screen_in_front_is_neither_ticked_nor_redrawn_while_the_app_closes() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    snapshot = fx.lagging()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(snapshot)
        await pilot.press("down", "enter")
        screen = await wait_for_screen(app, DetailScreen, pilot)
        probe = TeardownProbe(screen, snapshot)
        await screen.mount(probe)
    assert probe.reached, "the header bar never went away"
    assert probe.errors == []
    assert not screen.ready
