"""The log pane: a compact source column, the message gets the room and wraps, filters by text and
component, follow and pause, hostile lines shown literally, late lines merged in time order."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from textual.pilot import Pilot

from gloomon.domain.model import Component, LogEvent, LogKind
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots import contexts
from gloomon.sources.logs.buffer import LogBuffer
from gloomon.ui.app import GloomonApp
from gloomon.ui.messages import LogsArrived
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import LogsScreen
from gloomon.ui.widgets.log_pane import LogFilter, LogPane
from gloomon.ui.widgets.log_view import PREFIX_WIDTH, event_line
from tests.ui.harness import PALETTE, SIZE, make_app, until

LONG = "upstream connect error or disconnect/reset before headers. " * 3 + "END-OF-LINE"


def long_event() -> LogEvent:
    return LogEvent(
        fx.NOW,
        "warning",
        Component.GATEWAY_PROXY,
        fx.PODS[1][1],
        "gateway-proxy",
        LONG,
        LogKind.UPSTREAM_CONNECT_ERROR,
    )


def test_source_column_is_compact() -> None:
    line = event_line(long_event(), PALETTE).plain
    assert line.startswith("21:00:00 gw-proxy/x2k4p   env ▲ upstream connect")
    assert line.index("upstream") == PREFIX_WIDTH
    certgen = event_line(fx.certgen_events()[0], PALETTE).plain
    assert certgen[9:].startswith("certgen/x7k2p") and "certgen  " not in certgen[25:]
    assert LogFilter.parse("@gw").matches(long_event())


async def _showing_a_long_line(app: GloomonApp, pilot: Pilot[object]) -> LogPane:
    """The dashboard of one steady context with one long log line in its pane."""
    app.show_snapshot(fx.steady())
    app.add_log_events([long_event()])
    pane = app.screen.query_one(LogPane)
    await until(lambda: pane.shown == 1, pilot)
    return pane


async def test_message_gets_the_room_and_w_wraps_long_lines() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await _showing_a_long_line(app, pilot)
        cut = [row for row in pane.log_view.visible_text() if row]
        assert len(cut) == 1 and len(cut[0]) - PREFIX_WIDTH >= 30  # ~25 before the compact columns
        assert "END-OF-LINE" not in cut[0]
        pane.log_view.focus()  # ``w`` belongs to the logs pane
        await pilot.press("w")
        await until(lambda: pane.wrap, pilot)
        rows = [row for row in pane.log_view.visible_text() if row]
        assert len(rows) > 1 and rows[-1].endswith("END-OF-LINE")
        assert all(row[:PREFIX_WIDTH].strip() == "" for row in rows[1:])  # indented under the message
        assert "".join(row[PREFIX_WIDTH:] for row in rows) == LONG
        assert "wrap" in str(pane.query_one("#log-status").render())
        await pilot.press("l")  # the full-screen logs keep the choice
        await until(lambda: isinstance(app.screen, LogsScreen), pilot)
        assert app.screen.query_one(LogPane).wrap
        await pilot.press("w")
        await until(lambda: not app.screen.query_one(LogPane).wrap, pilot)


async def test_wrapped_view_follows_and_trims() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        pane = app.screen.query_one(LogPane)
        pane.log_view.focus()
        await pilot.press("w")
        await until(lambda: pane.wrap, pilot)
        view = pane.log_view
        view.max_lines = 50
        for _ in range(12):
            app.add_log_events([long_event()] * 50)
        await until(lambda: view.scroll_y == view.max_scroll_y and view.max_scroll_y > 0, pilot)
        assert len(view.events) <= 50 + 512
        assert view.row_total == sum(view._rows) and view.row_total > len(view.events)
        assert view.visible_text()[-1].endswith("END-OF-LINE")


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


async def test_with_two_contexts_each_line_names_its_context_and_a_filter_picks_one_clusters_pod() -> None:
    """The pods' suffixes repeat across clusters: the context column tells ``east gw-proxy/m9v3z`` from
    west's, in the pane and full-screen, and filtering by a row's context and pod keeps only its lines."""
    fleet = contexts.two_clusters()
    events = contexts.logs_of(fleet)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fleet)
        app.add_log_events(events)
        pane = app.screen.query_one(LogPane)
        await until(lambda: pane.shown == len(events), pilot)
        rows = [row.split() for row in pane.log_view.visible_text() if row]
        assert rows and {row[1] for row in rows} == {"east", "west"}
        assert ["east", "gw-proxy/m9v3z"] in [row[1:3] for row in rows]
        assert ["west", "gw-proxy/m9v3z"] in [row[1:3] for row in rows]
        await pilot.press("slash")
        await until(lambda: pane.filter_input.has_focus, pilot)
        await pilot.press(*"west m9v3z")
        expected = [e for e in events if e.context == "west" and e.pod.endswith("m9v3z")]
        await until(lambda: pane.shown == len(expected) > 0, pilot)
        rows = [row.split() for row in pane.log_view.visible_text() if row]
        assert {tuple(row[1:3]) for row in rows} == {("west", "gw-proxy/m9v3z")}
        await pilot.press("escape", "l")
        await until(lambda: isinstance(app.screen, LogsScreen), pilot)
        full = app.screen.query_one(LogPane)
        await until(lambda: full.shown == len(events), pilot)
        assert {row.split()[1] for row in full.log_view.visible_text() if row} == {"east", "west"}


async def test_one_context_has_no_context_column() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        pane = await _showing_a_long_line(app, pilot)
        assert pane.log_view.visible_text()[0].index("upstream") == PREFIX_WIDTH


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
