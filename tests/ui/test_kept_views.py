"""The views are composed once and kept while closed; reopened, each shows what a new one would show.

A key that opens a view used to compose a new screen (about a frame of work per key, issue 11). Now the
App keeps the details, timeline, expiry and findings views installed: these tests pin that a kept view
is the same screen, that it shows the target and the data of the moment it is reopened (as a view made
fresh for that state does), that a screen's 1 Hz clock only moves the screen in front, and that a footer
is rebuilt only when its keys change.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens import base
from gloomon.ui.screens.base import GloomonScreen
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, OverlayScreen, TimelineScreen
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.expiry_chart import ExpiryChart
from gloomon.ui.widgets.key_footer import KeyFooter
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from tests.ui.harness import SIZE, make_app, until
from tests.ui.test_navigation import row_keys


def plain(renderable: object, width: int = 116) -> str:
    console = Console(width=width, file=None, color_system=None, legacy_windows=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def detail_text(screen: GloomonScreen) -> str:
    return plain(screen.query_one(DetailPane).query_one("#detail-body", Static).content)


def view_text(screen: GloomonScreen) -> str:
    """What a view's body shows, as text."""
    if isinstance(screen, DetailScreen):
        return detail_text(screen)
    if isinstance(screen, TimelineScreen):
        return "\n".join(screen.query_one(RotationTimeline).visible_text())
    return plain(screen.query_one(ExpiryChart).content)


async def in_front(app: GloomonApp, kind: type[GloomonScreen], pilot: Pilot[None]) -> GloomonScreen:
    await until(lambda: isinstance(app.screen, kind) and app.screen.ready, pilot)
    await pilot.pause()
    return app.screen


async def home(app: GloomonApp, pilot: Pilot[None]) -> None:
    await pilot.press("escape")
    await in_front(app, DashboardScreen, pilot)


VIEWS: list[tuple[tuple[str, ...], type[OverlayScreen]]] = [
    (("down", "down", "down", "enter"), DetailScreen),  # the lagging pod
    (("t",), TimelineScreen),
    (("e",), ExpiryScreen),
]


async def open_each(app: GloomonApp, pilot: Pilot[None], *, again: bool = False) -> list[str]:
    """Open each view in turn (``again``: with its last key only, the cursor still on its row) and
    return what each showed."""
    shown = []
    for keys, kind in VIEWS:
        await pilot.press(*(keys[-1:] if again else keys))
        shown.append(view_text(await in_front(app, kind, pilot)))
        await home(app, pilot)
    return shown


async def test_details_reopened_for_another_target_show_that_target() -> None:
    snapshot = fx.lagging()
    first_key, second_key = row_keys(snapshot)[:2]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(snapshot)
        await pilot.pause()
        await pilot.press("enter")
        first = await in_front(app, DetailScreen, pilot)
        assert first.query_one(DetailPane).shown_key == first_key
        await home(app, pilot)
        await pilot.press("down")
        await until(lambda: app.screen.query_one(DetailPane).shown_key == second_key, pilot)
        beside_the_table = detail_text(app.screen)  # the dashboard's own pane, drawn anew for the row
        await pilot.press("enter")
        second = await in_front(app, DetailScreen, pilot)
        assert second is first  # kept, not composed anew
        assert second.query_one(DetailPane).shown_key == second_key
        assert detail_text(second) == beside_the_table


async def test_views_reopened_show_the_data_that_arrived_while_they_were_closed() -> None:
    before, after = fx.lagging(), fx.expired()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(before)
        await pilot.pause()
        old = await open_each(app, pilot)
        kept = [app.get_screen(f"gloomon-{name}") for name in ("details", "timeline", "expiry")]
        app.show_snapshot(after)
        await pilot.pause()
        reopened = await open_each(app, pilot, again=True)
        assert kept == [app.get_screen(f"gloomon-{name}") for name in ("details", "timeline", "expiry")]
    fresh_app = make_app()  # what views opened for the first time on the same history show
    async with fresh_app.run_test(size=SIZE) as pilot:
        fresh_app.show_snapshot(before)
        fresh_app.show_snapshot(after)
        await pilot.pause()
        fresh = await open_each(fresh_app, pilot)
    for then, now, new in zip(old, reopened, fresh, strict=True):
        assert now != then
        assert now == new


@pytest.fixture
def fast_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Screens tick every 50 ms; each tick that reaches a screen is recorded with whether it was the
    screen in front."""
    ticks: list[tuple[str, bool]] = []
    tick = GloomonScreen.tick

    def recording(screen: GloomonScreen, now: object) -> None:
        ticks.append((type(screen).__name__, screen.is_active))
        tick(screen, now)  # type: ignore[arg-type]

    monkeypatch.setattr(base, "TICK_SECONDS", 0.05)
    monkeypatch.setattr(GloomonScreen, "tick", recording)
    yield ticks


async def test_only_the_screen_in_front_ticks(fast_clock: list[tuple[str, bool]]) -> None:
    app = make_app()

    async def ticked(name: str, pilot: Pilot[None]) -> None:
        start = len(fast_clock)
        await until(lambda: sum(1 for who, _ in fast_clock[start:] if who == name) >= 2, pilot)

    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.lagging())
        await ticked("DashboardScreen", pilot)
        for key, kind in (("enter", DetailScreen), ("t", TimelineScreen)):
            await pilot.press(key)
            await in_front(app, kind, pilot)
            await ticked(kind.__name__, pilot)
            await home(app, pilot)
            await ticked("DashboardScreen", pilot)
    hidden = [who for who, front in fast_clock if not front]
    assert hidden == []


async def test_a_footer_is_rebuilt_only_when_its_keys_change() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        footer = app.screen.query_one(KeyFooter)
        await until(lambda: bool(footer.query(FooterKey)), pilot)
        shown = list(footer.query(FooterKey))
        assert "slash" in [key.key for key in shown]  # `/` where there are logs to filter…
        for key, kind in (("t", TimelineScreen), ("enter", DetailScreen)):
            await pilot.press(key)
            view = await in_front(app, kind, pilot)
            await until(lambda view=view: bool(view.query(FooterKey)), pilot)
            assert "slash" not in [key.key for key in view.query(FooterKey)]  # …and only there
            await home(app, pilot)
            await pilot.pause()
            assert list(footer.query(FooterKey)) == shown  # the same widgets: not recomposed
