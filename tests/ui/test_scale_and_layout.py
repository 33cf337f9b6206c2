"""The dashboard at any bundle size and terminal size: a bundle of thousands of CAs draws a few and counts
the rest; wide terminals give their room to the pod names; at 80×24 the timeline, the expiry view and the
findings fit their width (no colliding axis labels, no cut legend, no wrapped dates, hanging indents);
the header's secret line fits; every phase has its own glyph. Read from the screen the user sees."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from gloomon.domain.model import FleetSnapshot, Phase, TrustBundle
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots.big_bundle import big_bundle
from gloomon.lab.snapshots.certs import CA_NEW, CA_OLD, LEAF_OLD, ca
from gloomon.ui.app import GloomonApp
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, FindingsScreen, TimelineScreen
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.expiry_chart import ExpiryChart
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from gloomon.ui.widgets.timeline_glyphs import GLYPHS

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)" textLength="[\d.]+"[^>]*>(.*?)</text>')
#: the cell size of Textual's SVG screenshots
_CELL_X, _CELL_Y, _FIRST_Y = 12.2, 24.4, 20


def screen_lines(app: GloomonApp) -> list[str]:
    """The screen as the user reads it, one string per row (from the app's own screenshot)."""
    width, height = app.size
    grid = [[" "] * width for _ in range(height)]
    for x, y, body in _TEXT.findall(app.export_screenshot()):
        column, row = round(float(x) / _CELL_X), round((float(y) - _FIRST_Y) / _CELL_Y)
        for offset, char in enumerate(html.unescape(body).replace("\xa0", " ")):
            if 0 <= row < height and column + offset < width:
                grid[row][column + offset] = char
    return ["".join(row).rstrip() for row in grid]


def plain(renderable: object, width: int) -> str:
    console = Console(width=width, file=None, color_system=None, legacy_windows=False)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


async def shown(pilot: Pilot[None], *snapshots: FleetSnapshot, keys: tuple[str, ...] = ()) -> None:
    app = pilot.app
    assert isinstance(app, GloomonApp)
    for snapshot in snapshots:
        app.show_snapshot(snapshot)
    await pilot.pause()
    for key in keys:
        await pilot.press(key)
        await pilot.pause()


def stalled() -> FleetSnapshot:
    """A rotation that died: the secret and every pod hold three CAs."""
    third = ca("gloo-ca-2026-11b", "c0ffee0123456789", fx.NOW - timedelta(hours=1))
    return fx.poll((TrustBundle((CA_OLD, CA_NEW, third)), LEAF_OLD))


# ------------------------------------------------------------------------------------------ scale


async def test_a_bundle_of_thousands_of_cas_draws_six_and_counts_the_rest() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(160, 48)) as pilot:
        await shown(pilot, big_bundle(2000))
        assert "2000× …◆" in "\n".join(screen_lines(app))  # the table names the signer of a long bundle
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DetailScreen)
        body = app.screen.query_one(DetailPane).query_one("#detail-body", Static)
        text = plain(body.content, 120)
    assert "Bundle · validation_context · 2,000 CAs (6 shown)" in text
    assert "… and 1,994 more CAs (#4–#1,997)" in text
    heads = re.findall(r"^CA #([\d]+) ", text, re.M)
    assert heads == ["1", "2", "3", "1998", "1999", "2000"]
    assert re.search(r"^CA #2000 .*◆ signed the leaf", text, re.M)


async def test_the_expiry_view_of_thousands_of_cas_draws_the_soonest_and_counts_the_rest() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(160, 48)) as pilot:
        await shown(pilot, big_bundle(2000), keys=("e",))
        assert isinstance(app.screen, ExpiryScreen)
        text = plain(app.screen.query_one(ExpiryChart).content, 156)
    # the secret's leaf, 2,000 distinct CAs and six pods' leaves; the 60 soonest are drawn
    assert "… and 1,947 more certificates, expiring later" in text
    assert len([line for line in text.splitlines() if "CA ca-" in line]) < 60


# ----------------------------------------------------------------------------------------- layout


async def test_a_wide_terminal_gives_its_room_to_whole_pod_names() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(160, 30)) as pilot:
        await shown(pilot, fx.steady())
        screen = "\n".join(screen_lines(app))
    assert "gateway-proxy 7d9f8b6c5-x2k4p " in screen
    assert "…" not in screen.split("\n")[3]


async def test_the_timeline_fits_80_columns() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        app.add_log_events(fx.certgen_events())
        await shown(pilot, *fx.rotation_series(), keys=("t",))
        assert isinstance(app.screen, TimelineScreen)
        timeline = app.screen.query_one(RotationTimeline)
        lines = timeline.lines
        assert lines is not None
        every = [lines.line(y) for y in range(len(lines))]
        room = timeline.scrollable_content_region.width
    axis = every[1].plain
    marks = re.findall(r"│\d\d:\d\d(?::\d\d)?", axis)
    assert len(marks) >= 2, axis  # start and end, whole
    assert all(row.cell_len <= room for row in every), [row.plain for row in every if row.cell_len > room]
    legend = " ".join(
        row.plain for row in every if row.plain.strip().startswith(("legend", *GLYPHS.values()))
    )
    for phase, glyph in GLYPHS.items():
        assert f"{glyph} {phase.value}" in legend


def test_every_phase_has_its_own_glyph() -> None:
    """Steady and broken differ by more than colour: the timeline reads the same under ``NO_COLOR``."""
    assert len(set(GLYPHS.values())) == len(Phase)
    assert GLYPHS[Phase.BROKEN] != GLYPHS[Phase.STEADY]


async def test_expiry_rows_fit_80_columns() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(pilot, fx.steady(), keys=("e",))
        rows = [line for line in screen_lines(app) if re.match(r"\s+(leaf|CA) ", line)]
    assert len(rows) == 8
    assert all(re.search(r"█+─*\s+\S+\s+2027-01-10 09:30$", row) for row in rows), rows


async def test_findings_wrap_under_their_message() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(pilot, fx.untrusted(), keys=("i",))
        assert isinstance(app.screen, FindingsScreen)
        lines = screen_lines(app)
    first = next(index for index, line in enumerate(lines) if "✖ critical" in line)
    body = lines[first].index(fx.BAD_POD)
    follow = lines[first + 1]
    assert follow[:body].strip() == "" and follow[body] != " ", (lines[first], follow)


async def test_the_secret_line_of_a_stalled_rotation_fits_160_columns() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(160, 24)) as pilot:
        await shown(pilot, stalled())
        line = screen_lines(app)[1]
    assert "stalled · 3 CAs" in line
    assert "next run" in line and line.endswith("polled 2s ago")
    assert "…" not in line
