"""The dashboard end to end: the real MonitorSession against the lab's real Envoys and Kubernetes API,
the app headless in the same event loop. What a user would see: the header's phase moving through a
rotation, every pod in the table with its port-forward up, a restarted pod's new row, no traceback."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio
from rich.console import Console
from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession
from gloomon.ui.app import GloomonApp
from gloomon.ui.widgets.fleet_table import FleetTable
from gloomon.ui.widgets.header_bar import HeaderBar

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]

SIZE = (120, 40)
#: a fast rotation: each phase holds 3 s (the dashboard polls every second). The lab's CronJob is weekly:
#: the test starts the run once the dashboard has shown the steady state (a timed first run could begin
#: before a slow machine's dashboard saw it).
ROTATION_SECONDS = 3.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", rotation_duration=ROTATION_SECONDS) as running:
        yield running


def dashboard(lab: Lab) -> GloomonApp:
    settings = Settings(
        kubeconfig=str(lab.kubeconfig_path),
        contexts=(lab.context,),
        namespace=lab.namespace,
        interval=1.0,
    )
    return GloomonApp(session=MonitorSession(settings), settings=settings)


def header_text(app: GloomonApp) -> str:
    """The header bar's two lines as the user reads them."""
    header = app.screen.query_one(HeaderBar)
    console = Console(width=header.size.width or SIZE[0], file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(header.render())
    return captured.get()


def forward_states(app: GloomonApp) -> dict[str, str]:
    """Pod → the table's "fwd" cell, for every row of the fleet table."""
    table = app.screen.query_one(FleetTable)
    return {
        key.value.rsplit("/", 1)[-1]: table.get_cell(key, "forward").plain
        for key in table.rows
        if key.value is not None
    }


def assert_calm(app: GloomonApp) -> None:
    """No crash (an exception ends the app with code 1), no traceback on screen, toasts included."""
    assert app.return_code in (None, 0)
    assert "Traceback" not in app.export_screenshot()


async def until(
    condition: Callable[[], bool],
    app: GloomonApp,
    timeout: float,
    what: str,
    watch: Callable[[], None] = lambda: None,
) -> None:
    """Wait for ``condition`` with a deadline, calling ``watch`` on every look (never a bare sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        watch()
        if condition():
            return
        assert_calm(app)
        assert loop.time() < deadline, f"{what}: not seen before the deadline; header:\n{header_text(app)}"
        await asyncio.sleep(0.1)


async def test_header_follows_a_rotation_and_every_pod_is_forwarded(lab: Lab) -> None:
    app = dashboard(lab)
    async with app.run_test(size=SIZE):
        pods = set(lab.pods())
        assert len(pods) == 5
        await until(
            lambda: set(forward_states(app)) == pods and set(forward_states(app).values()) == {"up"},
            app,
            30,
            "5 pods with their port-forward up",
        )
        snapshot = app.state.snapshot
        assert snapshot is not None and snapshot.secret is not None and snapshot.secret.state.leaf is not None
        first_leaf = snapshot.secret.state.leaf.serial
        seen: list[str] = []

        def watch() -> None:
            text = header_text(app)
            words = {"secret steady": "steady", "phase 1/3": "ca-added", "phase 2/3": "leaf-rotated"}
            phase = next((phase for marker, phase in words.items() if marker in text), "other")
            if not seen or seen[-1] != phase:
                seen.append(phase)

        def rotated_and_steady_again() -> bool:
            current = app.state.snapshot
            leaf = current.secret.state.leaf if current and current.secret else None
            rotating = "ca-added" in seen or "leaf-rotated" in seen
            return rotating and seen[-1] == "steady" and leaf is not None and leaf.serial != first_leaf

        await until(lambda: "secret steady" in header_text(app), app, 30, "the steady state", watch)
        await lab.rotate_now()
        await until(rotated_and_steady_again, app, 60, "steady → ca-added/leaf-rotated → steady", watch)
        assert seen[0] == "steady", f"the rotation began before the dashboard showed the steady state: {seen}"
        assert "other" not in seen, seen

        def all_in_sync() -> bool:
            current = app.state.snapshot
            return current is not None and all(target.in_sync_with_secret for target in current.targets)

        await until(
            lambda: set(forward_states(app).values()) == {"up"} and all_in_sync(),
            app,
            20,
            "every pod in sync with the new secret",
        )
        assert_calm(app)
        await app.action_quit()


async def test_restarted_pod_gets_a_new_row(lab: Lab) -> None:
    app = dashboard(lab)
    async with app.run_test(size=SIZE):
        await until(lambda: len(forward_states(app)) == 5, app, 30, "5 rows")
        old = lab.pods(Component.EXTAUTH)[0]
        new = await lab.restart_pod(old)
        assert new != old
        await until(lambda: forward_states(app).get(new) == "up", app, 30, f"a row for {new}, forwarded")
        await until(lambda: old not in forward_states(app), app, 40, f"{old}'s row gone")
        assert len(forward_states(app)) == 5
        assert app.state.failure is None
        assert_calm(app)
        await app.action_quit()


def banner_text(app: GloomonApp) -> str:
    """The banner line under the header as the user reads it ("" while it is hidden)."""
    banner = app.screen.query_one("#banner", Static)
    if not banner.display:
        return ""
    content = banner.content
    return content.plain if isinstance(content, Text | Content) else str(content)


def findings_codes(app: GloomonApp) -> set[str]:
    snapshot = app.state.snapshot
    return {finding.code for finding in snapshot.findings} if snapshot is not None else set()


def all_forwarded_and_reachable(app: GloomonApp, pods: set[str]) -> bool:
    snapshot = app.state.snapshot
    return (
        app.state.failure is None
        and snapshot is not None
        and not snapshot.errors
        and forward_states(app) == dict.fromkeys(pods, "up")
        and len(snapshot.targets) == len(pods)
        and all(target.reachable for target in snapshot.targets)
    )


def api_trouble_shown(app: GloomonApp) -> bool:
    """The outage is on screen: a session failure or a snapshot error, and the banner says so."""
    snapshot = app.state.snapshot
    trouble = app.state.failure is not None or (snapshot is not None and bool(snapshot.errors))
    return trouble and banner_text(app) != ""


async def test_survives_the_labs_faults_and_says_what_is_wrong(make_lab: Callable[..., Lab]) -> None:
    """Issue 5: a 403 on the secret, cut port-forwards and an API outage, one after the other. Each
    time the screen says what is wrong, the dashboard recovers by itself and never shows a traceback."""
    async with make_lab("healthy") as healthy:
        app = dashboard(healthy)
        async with app.run_test(size=SIZE):
            pods = set(healthy.pods())
            await until(lambda: all_forwarded_and_reachable(app, pods), app, 30, "every pod forwarded")
            assert "secret-forbidden" not in findings_codes(app)

            # (1) 403 on secrets: a finding, the header says the secret is not readable, then it clears.
            healthy.forbid_secrets(True)
            await until(
                lambda: (
                    "secret-forbidden" in findings_codes(app)
                    and "not readable (403)" in header_text(app)
                    and "warning" in header_text(app)
                ),
                app,
                15,
                "the secret-forbidden finding on screen",
            )
            healthy.forbid_secrets(False)
            await until(
                lambda: (
                    "secret-forbidden" not in findings_codes(app) and "not readable" not in header_text(app)
                ),
                app,
                15,
                "the secret-forbidden finding cleared",
            )
            assert_calm(app)
            assert app.is_running

            # (2) every port-forward cut: they come back by themselves.
            assert await healthy.cut_port_forwards() > 0
            await until(lambda: all_forwarded_and_reachable(app, pods), app, 20, "port-forwards back up")
            assert_calm(app)
            assert app.is_running

            # (3) the API refuses connections for 5 s: the banner says so, then clears on its own.
            await healthy.api_outage(5.0)
            await until(lambda: api_trouble_shown(app), app, 15, "the API outage in the banner")
            shown = banner_text(app)
            assert "API" in shown or "api" in shown.lower(), shown
            await until(
                lambda: all_forwarded_and_reachable(app, pods) and banner_text(app) == "",
                app,
                30,
                "recovered from the API outage",
            )
            assert_calm(app)
            assert app.is_running
            await app.action_quit()
