"""The dashboard in ``--target`` mode, against the lab's real Envoys polled by URL (no Kubernetes): it
says what it cannot see (the secret) instead of claiming mTLS is off, and every line it shows points at
the URLs as given, not at pods or port-forwards that do not exist."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console
from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.settings import DirectTarget, Settings
from gloomon.sources.session import MonitorSession
from gloomon.ui.app import GloomonApp
from gloomon.ui.format import Palette
from gloomon.ui.widgets.detail_pane import detail_renderable
from gloomon.ui.widgets.fleet_table import FleetTable
from gloomon.ui.widgets.header_bar import HeaderBar

pytestmark = [pytest.mark.lab, pytest.mark.asyncio]

SIZE = (140, 40)


def _plain(renderable: object, width: int) -> str:
    if isinstance(renderable, Text | Content):
        return renderable.plain
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


async def test_the_dashboard_with_only_targets_tells_the_truth(healthy_lab: Lab) -> None:
    lab = healthy_lab
    pods = lab.pods()
    components = {pod: next(c for c in Component if pod.startswith(f"{c}-")) for pod in pods}
    targets = tuple(DirectTarget(pod, components[pod], lab.admin_url(pod)) for pod in pods)
    settings = Settings(targets=targets, interval=1.0, request_timeout=2.0)
    app = GloomonApp(session=MonitorSession(settings), settings=settings)
    async with app.run_test(size=SIZE):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while app.state.snapshot is None or not all(t.reachable for t in app.state.snapshot.targets):
            assert loop.time() < deadline, "every --target reachable"
            await asyncio.sleep(0.1)
        snapshot = app.state.snapshot
        header = _plain(app.screen.query_one(HeaderBar).render(), SIZE[0])
        banner = app.screen.query_one("#banner", Static)
        banner_text = _plain(banner.content, SIZE[0]) if banner.display else ""
        assert "secret not observed (--target)" in header, header
        assert "no context" not in header and "gloo-system" not in header, header
        assert "CronJob not observed (--target)" in header and "no certgen CronJob" not in header, header
        assert "mTLS is not enabled" not in banner_text + header and "glooMtls" not in banner_text
        table = app.screen.query_one(FleetTable)
        forwards = {table.get_cell(key, "forward").plain for key in table.rows}
        assert forwards == {"—"}, forwards
        palette = Palette.from_variables(app.theme_variables)
        target = snapshot.targets[0]
        assert target.ref.admin_url is not None
        pane = _plain(detail_renderable(target, snapshot, snapshot.taken_at, palette, HealthPolicy()), 120)
        assert f"curl -s '{target.ref.admin_url}/certs'" in pane, pane
        assert "forward" not in pane, pane
