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

from gloomon.domain.models import Component
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession
from gloomon.ui.app import GloomonApp
from gloomon.ui.widgets.fleet_table import FleetTable
from gloomon.ui.widgets.header_bar import HeaderBar

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]

SIZE = (120, 40)
#: a fast rotation: each phase holds 3 s (the dashboard polls every second); the first run comes 10 s after
#: the lab started, once the dashboard has shown the steady state (the next runs: every 2 minutes)
ROTATION_SECONDS = 3.0
FIRST_RUN_AFTER = 10.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab() -> AsyncIterator[Lab]:
    async with Lab(
        scenario="rotating", rotation_duration=ROTATION_SECONDS, first_run_after=FIRST_RUN_AFTER
    ) as running:
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
    """No crash, no traceback anywhere on screen or in a toast."""
    assert app._exception is None
    assert "Traceback" not in app.export_screenshot()
    assert not any("Traceback" in notification.message for notification in app._notifications)


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
