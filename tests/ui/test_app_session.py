"""The app and its session: streams feed the app and a lost stream stays calm, a session that cannot start
exits 3 with the reason, quit cancels the readers before stopping the session, once, on every exit path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gloomon.domain.model import FleetSnapshot, LogBatch, LogEvent
from gloomon.lab import snapshots as fx
from gloomon.settings import Settings
from gloomon.ui.app import GloomonApp
from tests.ui.harness import SIZE, until


class FakeSession:
    """The session's shape (start, snapshots, log_batches, refresh_now, stop) with canned data."""

    def __init__(
        self, snapshots: list[FleetSnapshot], batches: list[list[LogEvent]], fail: str | None = None
    ):
        self._snapshots, self._batches, self._fail = snapshots, batches, fail
        self.refreshed = 0
        self.stopped = False

    async def start(self) -> None:
        if self._fail:
            raise RuntimeError(self._fail)

    async def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        for snapshot in self._snapshots:
            yield snapshot
        await asyncio.Event().wait()

    async def log_batches(self) -> AsyncIterator[LogBatch]:
        start = 0
        for batch in self._batches:
            yield LogBatch(start, tuple(batch))
            start += len(batch)
        raise ConnectionError("log stream dropped\nTraceback (most recent call last): …")

    def refresh_now(self) -> None:
        self.refreshed += 1

    async def stop(self) -> None:
        self.stopped = True


async def test_session_streams_feed_the_app_and_errors_stay_calm() -> None:
    session = FakeSession([fx.steady(), fx.lagging()], [fx.log_events(3)])
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.state.snapshot is not None and app.state.snapshot.findings != (), pilot)
        await until(lambda: len(app.state.logs) == 4, pilot)
        await until(lambda: app.state.failure is not None, pilot)
        assert app.state.failure == "Lost the logs: log stream dropped"
        banner = app.screen.query_one("#banner")
        assert banner.display and "log stream dropped" in str(banner.render())
        await pilot.press("r")
        await until(lambda: session.refreshed == 1, pilot)
        await pilot.press("q")
    assert session.stopped


async def test_session_that_cannot_start_exits_3_with_the_reason(tmp_path) -> None:
    from gloomon.sources.session import MonitorSession

    session = MonitorSession(Settings(kubeconfig=str(tmp_path / "absent")))
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.return_code is not None, pilot)
    assert app.return_code == 3
    assert app.state.failure is not None
    assert "kubeconfig: file not found" in app.state.failure


class PollingSession:
    """A session whose snapshot stream is always mid-poll; it records whether stop() overlapped a poll."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.polling = False
        self.stopped_during_poll = False
        self.stop_calls = 0

    async def start(self) -> None:
        if self.fail:
            raise RuntimeError("no cluster")

    async def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        yield fx.steady()
        while True:
            self.polling = True
            try:
                await asyncio.Event().wait()  # a poll that never returns by itself
            finally:
                self.polling = False
            yield fx.steady()

    async def log_batches(self) -> AsyncIterator[list[LogEvent]]:
        await asyncio.Event().wait()
        yield []

    def refresh_now(self) -> None:
        pass

    async def stop(self) -> None:
        self.stop_calls += 1
        self.stopped_during_poll = self.stopped_during_poll or self.polling


async def test_quit_cancels_the_readers_before_stopping_the_session_once() -> None:
    session = PollingSession()
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: session.polling, pilot)
        await pilot.press("q")
        await until(lambda: session.stop_calls > 0, pilot)
    assert session.stop_calls == 1  # not again on unmount
    assert not session.stopped_during_poll


async def test_every_exit_path_stops_the_session_once() -> None:
    session = PollingSession()
    app = GloomonApp(session=session, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: session.polling, pilot)
        app.exit()  # what ctrl+c-free exits and the harness do: no action_quit
    assert session.stop_calls == 1 and not session.stopped_during_poll
    failing = PollingSession(fail=True)
    app = GloomonApp(session=failing, clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.return_code is not None, pilot)
    assert app.return_code == 3 and failing.stop_calls == 1
