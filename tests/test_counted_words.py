"""Renderers count in agreement with the number: ``1 target``, ``1 line`` (never ``1 targets``)."""

from __future__ import annotations

import io

from rich.console import Console

from gloomon.lab import snapshots as fx
from gloomon.report import render_table
from gloomon.ui.app import GloomonApp
from gloomon.ui.widgets.log_pane import LogPane
from gloomon.ui.widgets.status_line import StatusLine
from tests.domain.certs import make_ca, make_leaf
from tests.domain.fleet_helpers import fetch, secret, snap


def test_the_check_report_counts_one_target() -> None:
    ca = make_ca()
    leaf = make_leaf(ca)
    snapshot = snap([fetch("gloo-1", leaf.info, [ca.info])], [secret(leaf.info, [ca.info])])
    console = Console(width=160, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(render_table(snapshot))
    text = captured.get()
    assert "; 1 target)" in text
    assert "1 targets" not in text


async def test_the_logs_pane_counts_one_line() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=(120, 40)) as pilot:
        app.show_snapshot(fx.steady())
        app.add_log_events(fx.certgen_events()[:1])
        await pilot.pause()
        status = app.screen.query_one(LogPane).query_one(StatusLine).render().plain
    assert "· 1 line " in status, status
