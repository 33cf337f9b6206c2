"""GloomonApp: composes the screens, runs one worker per session stream, routes messages to state.

Thin on purpose: rendering lives in widgets, presentation judgements in ``state``, actions that touch
files or the clipboard in ``actions``. Without a session the app is fed by :meth:`show_snapshot` and
:meth:`add_log_events` (tests, screenshots, benchmarks).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import events, on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerState

from gloomon.clock import Clock, system_clock
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, LogBatch, LogEvent
from gloomon.ui import actions, strip_cycles
from gloomon.ui.collector import Collector
from gloomon.ui.format import literal, sanitize
from gloomon.ui.messages import LogsArrived, SessionFailed, SnapshotArrived
from gloomon.ui.screens.base import GloomonScreen
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import (
    DetailScreen,
    ExpiryScreen,
    FindingsScreen,
    LogsScreen,
    OverlayScreen,
    TimelineScreen,
)
from gloomon.ui.session import Session
from gloomon.ui.state import ViewState, notices
from gloomon.ui.widgets.log_pane import LogPane

if TYPE_CHECKING:
    from gloomon.settings import Settings

_TOAST_SEVERITY: dict[str, SeverityLevel] = {"info": "information", "warning": "warning", "critical": "error"}
_RETRY_SECONDS = 5.0
#: the workers that read the session, cancelled (and awaited) before the session stops
_SESSION_GROUPS = ("session", "snapshots", "logs")
_STOP_WAIT_SECONDS = 5.0
#: how often the collector is asked whether its older generations are due (gloomon.ui.collector)
_COLLECT_SECONDS = 0.25
#: a poll that arrives this soon after a key waits until the key has been drawn: its redraw (tens of ms
#: with big bundles) would otherwise land between the key and its frame. Only the latest waiting
#: snapshot is applied; polls come every few seconds, so a snapshot is late by at most this much.
KEY_FIRST_SECONDS = 0.25
_Item = TypeVar("_Item")


class GloomonApp(App[None]):
    """The live dashboard of Gloo's internal mTLS."""

    CSS_PATH = "app.tcss"
    TITLE = "gloomon"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", tooltip="Leave gloomon", id="gloomon.quit"),
        Binding("r", "refresh_now", "Refresh", tooltip="Poll every target now", id="gloomon.refresh"),
        Binding(
            "slash", "filter_logs", "Filter", key_display="/", tooltip="Filter the logs", id="gloomon.filter"
        ),
        Binding("t", "view('timeline')", "Timeline", tooltip="Rotation timeline", id="gloomon.timeline"),
        Binding(
            "e", "view('expiry')", "Expiry", tooltip="Time left of every certificate", id="gloomon.expiry"
        ),
        Binding(
            "i", "view('findings')", "Findings", tooltip="All findings, critical first", id="gloomon.findings"
        ),
        Binding("l", "view('logs')", "Logs", tooltip="Logs full-screen", id="gloomon.logs"),
        Binding(
            "c",
            "copy_pem",
            "Copy PEM",
            tooltip="Copy the selected leaf certificate (never a key)",
            id="gloomon.copy",
        ),
        Binding(
            "s",
            "save_snapshot",
            "Save",
            tooltip="Save the snapshot as JSON (check -o json schema)",
            id="gloomon.save",
        ),
    ]

    def __init__(
        self, session: Session | None = None, clock: Clock = system_clock, settings: Settings | None = None
    ) -> None:
        super().__init__()
        self.session = session
        self.clock = clock
        self.settings = settings
        capacity = settings.log_buffer if settings is not None else 5000
        policy = settings.policy if settings is not None and settings.policy is not None else HealthPolicy()
        self.state = ViewState(log_capacity=capacity, policy=policy)
        self._log_lines = min(capacity, 5000)
        self._stopping: asyncio.Future[None] | None = None
        self._last_key = -KEY_FIRST_SECONDS  # monotonic time of the last key press
        self._waiting: FleetSnapshot | None = None  # the latest snapshot held back for a key
        self._waiting_timer: Timer | None = None
        self._collector = Collector()

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen(self.state, self._log_lines)

    def on_mount(self) -> None:
        strip_cycles.install()
        self._collector.start()
        self.set_interval(_COLLECT_SECONDS, self._collect)
        if self.session is not None:
            # After the first refresh, so the dashboard is fully mounted before the session can fail.
            self.call_after_refresh(self._run_session, self.session)

    # ---------------------------------------------------------------- feeding (tests and the session)

    def show_snapshot(self, snapshot: FleetSnapshot) -> None:
        """Render a snapshot as if the session had delivered it (synchronous, for tests)."""
        self._apply_snapshot(snapshot)

    def add_log_events(self, events: Iterable[LogEvent]) -> None:
        """Append log events in the given order, as if the session's ring had (it never reorders)."""
        self._apply_logs(self.state.logs.appended(events))

    # ---------------------------------------------------------------- workers: one per stream

    @work(group="session", exit_on_error=False)
    async def _run_session(self, session: Session) -> None:
        try:
            await session.start()
        except Exception as error:  # the session's own errors carry a clear message
            # Nothing to show yet and nothing that retrying would fix by itself (no cluster, a bad
            # kubeconfig, a missing namespace): leave with the reason and exit code 3, as `check` does.
            self.state.failure = f"Cannot start: {actions.describe(error)}"
            self.exit(return_code=3, message=literal(f"gloomon: {self.state.failure}"))
            return
        self._follow_snapshots(session)
        self._follow_logs(session)

    @work(group="snapshots", exit_on_error=False)
    async def _follow_snapshots(self, session: Session) -> None:
        await self._follow("snapshots", session.snapshots, SnapshotArrived)

    @work(group="logs", exit_on_error=False)
    async def _follow_logs(self, session: Session) -> None:
        await self._follow("logs", session.log_batches, LogsArrived)

    async def _follow(
        self,
        stream: str,
        open_stream: Callable[[], AsyncIterator[_Item]],
        message: Callable[[_Item], Message],
    ) -> None:
        """Post each item of a session stream; when it fails, say so calmly and reopen it later."""
        while True:
            try:
                async for item in open_stream():
                    self.post_message(message(item))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.post_message(SessionFailed(stream, actions.describe(error)))
                await asyncio.sleep(_RETRY_SECONDS)

    # ---------------------------------------------------------------- handlers own the state

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._last_key = time.monotonic()
            self.call_after_refresh(self._collector.after_key)
        await super().on_event(event)

    def _collect(self) -> None:
        self._collector.tick(self._last_key)

    @on(SnapshotArrived)
    def _snapshot_arrived(self, message: SnapshotArrived) -> None:
        self._waiting = message.snapshot
        if self._waiting_timer is None:  # else the timer applies this one, the latest, when it fires
            self._apply_waiting()

    def _apply_waiting(self) -> None:
        """Apply the latest snapshot held back, unless a key was pressed in the last
        :data:`KEY_FIRST_SECONDS` (then once that key has had its time)."""
        self._waiting_timer = None
        wait = self._last_key + KEY_FIRST_SECONDS - time.monotonic()
        if wait > 0:
            self._waiting_timer = self.set_timer(wait, self._apply_waiting)
            return
        snapshot, self._waiting = self._waiting, None
        if snapshot is not None:
            self._apply_snapshot(snapshot)

    @on(LogsArrived)
    def _logs_arrived(self, message: LogsArrived) -> None:
        self._apply_logs(message.batch)

    @on(SessionFailed)
    def _session_failed(self, message: SessionFailed) -> None:
        what = "Cannot start" if message.stream == "start" else f"Lost the {message.stream}"
        text = f"{what}: {message.error}"
        if text != self.state.failure:
            self.toast(text, title="gloomon", severity="error", timeout=8)
        self.state.failure = text
        self._redraw()

    def _apply_snapshot(self, snapshot: FleetSnapshot) -> None:
        if self._waiting_timer is not None:  # a later snapshot (a test's, a refresh) supersedes it
            self._waiting_timer.stop()
            self._waiting_timer, self._waiting = None, None
        previous = self.state.snapshot
        if self.state.failure is not None and previous is not None:
            self.toast("connection recovered", title="gloomon", timeout=4)
        self.state.failure = None
        self.state.snapshot = snapshot
        self.state.history.add_snapshot(snapshot)
        for text, severity in notices(previous, snapshot):
            self.toast(text, severity=_TOAST_SEVERITY[severity.value], timeout=6)
        self._redraw()

    def _apply_logs(self, batch: LogBatch) -> None:
        """Mirror what the session's ring took in, and show it where the ring put it."""
        self.state.history.add_log_events(self.state.logs.apply(batch))
        for screen in self.screen_stack:
            for pane in screen.query(LogPane):
                pane.take(batch)

    def _redraw(self) -> None:
        now = self.clock()
        for screen in self.screen_stack:
            if isinstance(screen, GloomonScreen):
                screen.show_state(now)

    # ---------------------------------------------------------------- actions

    def action_view(self, name: str) -> None:
        """Open a full-screen view, replacing another open one (escape always leads to the dashboard)."""
        if name == "logs":  # the full-screen logs keep the wrap choice of the pane below them
            pane = next((p for screen in reversed(self.screen_stack) for p in screen.query(LogPane)), None)
            self._open(LogsScreen(self.state, self._log_lines, wrap=pane is not None and pane.wrap))
            return
        views: dict[str, type[OverlayScreen]] = {
            "timeline": TimelineScreen,
            "expiry": ExpiryScreen,
            "findings": FindingsScreen,
        }
        self._open(self._kept(name, lambda: views[name](self.state)))

    def show_details(self, key: str) -> None:
        """Open the details of the target ``key`` (``enter`` on a row of the fleet table)."""
        screen = self._kept("details", lambda: DetailScreen(self.state, key))
        assert isinstance(screen, DetailScreen)
        screen.key = key
        self._open(screen)

    def _kept(self, name: str, make: Callable[[], OverlayScreen]) -> OverlayScreen:
        """The view ``name``, made and installed the first time (see :mod:`gloomon.ui.screens.overlays`)."""
        name = f"gloomon-{name}"
        if not self.is_screen_installed(name):
            self.install_screen(make(), name)
        screen = self.get_screen(name)
        assert isinstance(screen, OverlayScreen)
        return screen

    def _open(self, screen: OverlayScreen) -> None:
        screen.reopen()
        if isinstance(self.screen, OverlayScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _log_pane(self) -> LogPane | None:
        panes = self.screen.query(LogPane)
        return panes.first() if panes else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``/`` only where there are logs to filter (the footer does not offer it elsewhere)."""
        if action == "filter_logs":  # asked while the app is leaving too, with no screen left
            return bool(self.screen_stack) and self._log_pane() is not None
        return True

    def action_filter_logs(self) -> None:
        pane = self._log_pane()
        if pane is not None:
            pane.open_filter()

    def action_refresh_now(self) -> None:
        if self.session is None:
            self.toast("no live session to refresh", timeout=3)
            return
        actions.refresh(self.session)
        self.toast("refreshing…", timeout=2)

    def action_copy_pem(self) -> None:
        target = self.state.target(actions.selected_key(self.screen_stack))
        pem, message = actions.leaf_pem(target)
        if pem is not None:
            self.copy_to_clipboard(pem)
        self.toast(message, severity="information" if pem else "warning", timeout=4)

    def action_save_snapshot(self) -> None:
        directory = Path(self.settings.save_dir) if self.settings and self.settings.save_dir else None
        message, ok = actions.save_snapshot(self.state.snapshot, self.clock(), directory)
        self.toast(message, severity="information" if ok else "error", timeout=6)

    async def action_quit(self) -> None:
        await self.stop_session()
        self.exit()

    # ---------------------------------------------------------------- leaving

    async def stop_session(self) -> None:
        """Stop the session exactly once, whichever way the app ends (``q``, ``ctrl+q``, an exit on
        failure, the test harness): first cancel the workers reading its streams and wait until they have
        finished, so ``session.stop()`` never runs under a poll or a log read that is still in flight."""
        if self.session is None:
            return
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop_session(self.session))
        await asyncio.shield(self._stopping)

    async def _stop_session(self, session: Session) -> None:
        workers = [worker for group in _SESSION_GROUPS for worker in self.workers.cancel_group(self, group)]
        pending = [worker.wait() for worker in workers if worker.state is not WorkerState.PENDING]
        # A worker that ignores its cancellation must not keep gloomon from leaving.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_STOP_WAIT_SECONDS):
                await asyncio.gather(*pending, return_exceptions=True)
        await actions.stop(session)

    async def on_unmount(self) -> None:
        self._collector.stop()
        await self.stop_session()

    # ---------------------------------------------------------------- toasts

    def toast(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float = 5
    ) -> None:
        """A notification whose text is data: finding messages and errors carry remote text, so it is
        never parsed as content markup (``[/x]`` would raise, ``[@click=…]`` would run an action) and
        control characters are made visible."""
        self.notify(
            sanitize(message), title=sanitize(title), severity=severity, timeout=timeout, markup=False
        )
