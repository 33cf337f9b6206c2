"""Log wrapping and the compact source column, the header's next run, fleet findings in the detail pane,
expiry colours from the settings' policy, and a timeline that builds only what is on screen."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

from rich.console import Console
from rich.text import Text

from gloomon.domain.health.judge import HealthPolicy, Threshold
from gloomon.domain.model import Component, CronJobState, FleetSnapshot, LogEvent, LogKind, Severity
from gloomon.lab import snapshots as fx
from gloomon.settings import Settings
from gloomon.ui.app import GloomonApp
from gloomon.ui.format import Palette, time_left
from gloomon.ui.screens.overlays import LogsScreen, TimelineScreen
from gloomon.ui.widgets.detail_pane import concerns, detail_renderable
from gloomon.ui.widgets.fleet_table import FleetTable
from gloomon.ui.widgets.header_bar import cron_words
from gloomon.ui.widgets.log_pane import LogFilter, LogPane
from gloomon.ui.widgets.log_view import PREFIX_WIDTH, event_line
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from tests.ui.harness import SIZE, make_app, until

PALETTE = Palette.from_variables({"success": "#00ff00", "warning": "#ffaa00", "error": "#ff0000"})
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


async def test_message_gets_the_room_and_w_wraps_long_lines() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events([long_event()])
        pane = app.screen.query_one(LogPane)
        await until(lambda: pane.shown == 1, pilot)
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


def test_next_run_in_clock_time_with_the_date_when_not_today() -> None:
    assert cron_words(fx.steady(), fx.NOW) == "next run Thu 26 Nov 00:00 UTC (in 3h)"
    hourly = replace(fx.steady(), cronjob=replace(fx.CRONJOB, schedule="0 23 * * *"))
    assert cron_words(hourly, fx.NOW) == "next run 23:00 UTC (in 2h)"
    assert cron_words(hourly, fx.NOW, short=True) == "next run in 2h"
    assert cron_words(replace(fx.steady(), cronjob=None), fx.NOW) == "no certgen CronJob"
    suspended = CronJobState("gloo-mtls-certgen-cronjob", "0 */6 * * *", True)
    assert cron_words(replace(fx.steady(), cronjob=suspended), fx.NOW) == "certgen suspended"


def test_detail_pane_lists_the_secret_findings_that_concern_the_pod() -> None:
    snapshot = fx.expired()
    (secret_finding,) = snapshot.findings
    assert secret_finding.pod is None
    assert all(concerns(secret_finding, target) for target in snapshot.targets)
    other = fx.leaf_rotated().targets[0]  # holds another leaf than the expired one
    assert not concerns(secret_finding, other)
    console = Console(width=50, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(detail_renderable(snapshot.targets[1], snapshot, fx.NOW, PALETTE, HealthPolicy()))
    text = captured.get()
    assert "Findings · 1" in text and "secret / fleet" in text
    assert "leaf expired 3d ago" in text and "--from=cronjob/gloo-mtls-certgen-cronjob" in text.replace(
        "\n", ""
    )


def test_expiry_colours_follow_the_policy() -> None:
    left_45d = fx.LEAF_OLD  # 45 days left at NOW, a year's lifetime: calm by default
    assert time_left(left_45d, fx.NOW, PALETTE, HealthPolicy()).style == PALETTE.ok
    strict = HealthPolicy(warn=(Threshold(seconds=60 * 86400),))
    assert time_left(left_45d, fx.NOW, PALETTE, strict).style == PALETTE.warn
    assert PALETTE.severity(Severity.WARNING) == PALETTE.warn


async def test_app_takes_the_policy_from_the_settings() -> None:
    strict = HealthPolicy(warn=(Threshold(seconds=60 * 86400),))
    app = GloomonApp(clock=fx.CLOCK, settings=Settings(policy=strict))
    assert app.state.policy is strict
    assert GloomonApp(clock=fx.CLOCK, settings=Settings()).state.policy == HealthPolicy()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        cell = table.get_cell(fx.steady().targets[0].key, "left")
        assert isinstance(cell, Text) and cell.plain == "45d"
        assert cell.style == Palette.from_variables(app.theme_variables).warn


def many_targets(count: int, generation: int) -> FleetSnapshot:
    """``count`` pods; in odd generations every tenth lags (so the history has something to draw)."""
    components = list(Component)
    pods = [
        (components[i % len(components)], f"{components[i % len(components)].value}-6b7c8d9f-b{i:04d}")
        for i in range(count)
    ]
    at = fx.NOW - timedelta(seconds=30 - 10 * generation)
    lagging = {
        pod: fx.admin_fetch(component, pod, fx.CA_ADDED, index=index, at=at)
        for index, (component, pod) in enumerate(pods)
        if generation % 2 == 1 and index % 10 == 0
    }
    snapshot = fx.poll(
        fx.LEAF_ROTATED, at=at, written=fx.NOW - timedelta(seconds=60), fetches=lagging, pods=pods
    )
    return replace(snapshot, generation=generation + 1)


async def test_timeline_builds_only_the_rows_on_screen() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        for generation in range(3):
            app.show_snapshot(many_targets(200, generation))
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen) and app.screen.ready, pilot)
        timeline = app.screen.query_one(RotationTimeline)
        await until(lambda: timeline.lines is not None and bool(timeline._strips), pilot)
        assert timeline.lines is not None and len(timeline.lines) > 200
        assert len(timeline.lines._rows) <= timeline.size.height
        await pilot.press("end")
        await until(lambda: "Secret changes" in "\n".join(timeline.visible_text()), pilot)
