"""The logs pane as a reader of the session's log ring: arrival order, the line's own time, a paused
reader's view that no batch moves, End that resumes following, and a theme change that recolours."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from textual.strip import Strip

from gloomon.domain.model import Component, LogEvent, LogKind
from gloomon.domain.parse.logs import parse_log_line
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens.overlays import LogsScreen
from gloomon.ui.widgets.log_pane import LogPane
from tests.ui.harness import SIZE, make_app, until

#: a gateway-proxy pod whose zap ``ts`` is an hour behind the kubelet's receive time
BACK_DATED = fx.NOW - timedelta(hours=1)


def back_dated(count: int, *, tag: str = "late") -> list[LogEvent]:
    """Lines received after the fixtures' lines whose own time is an hour earlier."""
    return [
        LogEvent(
            BACK_DATED + timedelta(seconds=index),
            "info",
            Component.GATEWAY_PROXY,
            fx.PODS[1][1],
            "sds",
            f"{tag} {index}",
            LogKind.PLAIN,
            received=fx.NOW + timedelta(seconds=index),
        )
        for index in range(count)
    ]


async def open_full_screen_logs(app: GloomonApp, pilot, events: list[LogEvent]) -> LogPane:  # type: ignore[no-untyped-def]
    """The full-screen logs showing ``events``, laid out and following at the bottom."""
    app.show_snapshot(fx.steady())
    app.add_log_events(events)
    await pilot.press("l")
    await until(lambda: isinstance(app.screen, LogsScreen), pilot)
    pane = app.screen.query_one(LogPane)
    view = pane.log_view
    await until(lambda: view.max_scroll_y > 0 and view.scroll_y == view.max_scroll_y, pilot)
    return pane


async def test_back_dated_lines_stay_in_arrival_order_and_show_their_own_time() -> None:
    """A pod's own ``ts`` an hour back does not hoist its lines out of sight above older ones."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_full_screen_logs(app, pilot, fx.log_events(60))
        app.add_log_events(back_dated(3))
        await until(lambda: pane.shown == 64, pilot)
        await until(lambda: "late 2" in pane.log_view.visible_text()[-1], pilot)
        rows = pane.log_view.visible_text()
        late = [row for row in rows if " late " in row]
        assert len(late) == 3 and rows[-3:] == late  # newest at the bottom, where they arrived
        assert late[0].startswith(BACK_DATED.strftime("%H:%M:%S"))  # the line's own time is shown


async def test_a_batch_never_moves_the_view_of_a_paused_reader() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_full_screen_logs(app, pilot, fx.log_events(120))
        view = pane.log_view
        await pilot.press("pageup")
        await until(lambda: not pane.following, pilot)
        await pilot.wait_for_scheduled_animations()
        top, reading = view.scroll_y, view.visible_text()
        arrived = 0
        for tag in ("late", "later", "latest"):
            for batch in (back_dated(4, tag=tag), fx.log_events(2, start=fx.NOW)):
                app.add_log_events(batch)
                arrived += len(batch)
            await pilot.pause()
        await until(lambda: pane.pending == arrived, pilot)
        assert not pane.following
        assert view.scroll_y == top and view.visible_text() == reading
        assert f"+{arrived} new" in str(pane.query_one("#log-status").render())


async def test_end_resumes_following_after_page_up_with_a_long_line() -> None:
    """End goes to the newest line and follows again, even while lines arrive and a 20,000-character
    line is in the buffer."""
    events = fx.log_events(120)
    events[100] = replace(events[100], message="x" * 20_000)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_full_screen_logs(app, pilot, events)
        view = pane.log_view
        for wrap in (False, True):
            if pane.wrap != wrap:
                await pilot.press("w")
                await until(lambda wrap=wrap: pane.wrap == wrap, pilot)
            await pilot.press("pageup", "pageup")
            await until(lambda: not pane.following, pilot)
            await pilot.press("end")
            app.add_log_events(back_dated(2, tag=f"wrap={wrap}"))
            await pilot.wait_for_scheduled_animations()
            await until(lambda: pane.following, pilot)
            await until(lambda: view.scroll_y == view.max_scroll_y, pilot)
            await until(lambda wrap=wrap: f"wrap={wrap} 1" in view.visible_text()[-1], pilot)


async def test_theme_change_recolours_the_log_lines() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_full_screen_logs(app, pilot, fx.log_events(60))
        view = pane.log_view

        def colours(strips: list[Strip]) -> list[str]:
            """The text colours (not the background, which follows the theme by itself)."""
            return [str(s.style.color) for strip in strips for s in strip if s.style and s.text.strip()]

        def lines() -> list[str]:
            return colours([view.render_line(y) for y in range(view.size.height)])

        def status() -> list[str]:
            return colours([pane.query_one("#log-status").render_line(0)])

        before_lines, before_status = lines(), status()
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await until(lambda: lines() != before_lines, pilot)
        await until(lambda: status() != before_status, pilot)


async def test_hostile_lines_are_made_inert_once_when_parsed() -> None:
    """The parser strips escapes at ingestion; the view renders what it was given, literally."""
    hostile = parse_log_line(
        f"2026-11-25T20:59:00Z {fx.HOSTILE}",
        component=Component.GATEWAY_PROXY,
        pod=f"{fx.PODS[1][1]}\x1b[2J",
        container="sds",
    )
    assert "\x1b" not in hostile.message and "\x07" not in hostile.message and "\x1b" not in hostile.pod
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events([hostile])
        pane = app.screen.query_one(LogPane)
        await until(lambda: pane.shown == 1, pilot)
        rendered = "\n".join(pane.log_view.visible_text())
        assert "[bold red]x[/] red bell" in rendered
        assert "\x1b" not in app.export_screenshot()


async def test_end_in_the_logs_is_the_panes_follow_not_an_animated_scroll() -> None:
    """End goes to LogPane's follow at once: an animated scroll that a batch cancels mid-step would break
    Textual's animator (KeyError on 'scroll_y')."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_full_screen_logs(app, pilot, fx.log_events(120))
        view = pane.log_view
        followed: list[bool] = []
        follow = pane.action_follow
        pane.action_follow = lambda: (followed.append(True), follow())[-1]
        await pilot.press("pageup", "pageup")
        await until(lambda: not pane.following, pilot)
        await pilot.press("end")
        assert followed == [True], "End reached the pane's follow action"
        assert pane.following
        assert view.scroll_y == view.max_scroll_y
