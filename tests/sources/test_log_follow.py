"""Reading followed containers: a line longer than MAX_LINE is cut there and the rest of it dropped;
what ``check`` reads is chosen by the kubelet's receive time."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from gloomon.domain.model import Component, PodInfo
from gloomon.domain.parse.logs import MAX_LINE, parse_log_line
from gloomon.settings import Settings
from gloomon.sources.logs.buffer import LogBuffer
from gloomon.sources.logs.follow import ContainerFollower, Cursor
from gloomon.sources.session import MonitorSession

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


class _Chunks:
    """A log body delivered in the given pieces, then its end."""

    def __init__(self, *chunks: bytes) -> None:
        self._chunks = list(chunks)

    async def readany(self) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""


async def test_an_overlong_line_is_cut_once_and_its_rest_is_not_taken_for_lines() -> None:
    buffer = LogBuffer(100, hold=0.0)
    pod = PodInfo("gloo-1", "gloo-system", Component.GLOO, "Running", ready=True, restarts=0)
    follower = ContainerFollower(
        None, "gloo-system", pod, "sds", Cursor(), buffer, clock=lambda: T0, first_since=60
    )
    follower.settled.set()
    huge = b"x" * (MAX_LINE * 6)  # longer than any cut, delivered in pieces
    body = b"2026-11-25T20:00:01Z " + huge + b"\n2026-11-25T20:00:02Z next\n"
    pieces = [body[i : i + 7000] for i in range(0, len(body), 7000)]
    await follower._read(_Chunks(*pieces))
    batch = buffer.flush(force=True)
    assert batch is not None
    messages = [event.message for event in batch.events]
    assert len(messages) == 2 and messages[1] == "next"
    assert set(messages[0]) == {"x"} and len(messages[0]) <= MAX_LINE
    assert [event.received for event in batch.events] == [
        datetime(2026, 11, 25, 20, 0, second, tzinfo=UTC) for second in (1, 2)
    ]


async def test_check_reads_lines_by_their_receipt_not_their_back_dated_own_time() -> None:
    """``check --since`` keeps a line the kubelet received just now though its zap ``ts`` is a day old."""
    session = MonitorSession(Settings(log_since_seconds=60), clock=lambda: T0)
    fresh = parse_log_line(
        b'2026-11-25T19:59:50Z {"level":"error","ts":"2026-11-24T20:00:00Z","msg":"back-dated"}',
        component=Component.GLOO,
        pod="gloo-1",
        container="sds",
    )
    stale = parse_log_line(
        b"2026-11-25T19:50:00Z old", component=Component.GLOO, pod="gloo-1", container="sds"
    )
    for event in (stale, fresh):
        session._logs.buffer.add(event)
    session._logs.buffer.flush(force=True)
    assert [event.message for event in session._recent_log_events()] == ["back-dated"]
    assert fresh.ts == datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # its own time, shown as such
    await session.stop()


class _OneReadThenSilence:
    """A log body whose first read the test completes by hand; every later read waits forever."""

    def __init__(self) -> None:
        self.first: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.reads = 0

    async def readany(self) -> bytes:
        self.reads += 1
        if self.reads == 1:
            return await self.first
        await asyncio.Event().wait()
        return b""


def _follower() -> ContainerFollower:
    pod = PodInfo("gloo-1", "gloo-system", Component.GLOO, "Running", ready=True, restarts=0)
    buffer = LogBuffer(100, hold=0.0)
    return ContainerFollower(
        None, "gloo-system", pod, "sds", Cursor(), buffer, clock=lambda: T0, first_since=60
    )


async def test_a_stop_that_lands_as_a_line_arrives_still_stops_the_reader() -> None:
    """Python 3.11's wait_for returned the read's result instead of raising when the cancel and the
    data arrived together (gh-86296): the follower then read on forever and ``check`` never ended."""
    follower, content = _follower(), _OneReadThenSilence()
    reading = asyncio.create_task(follower._read(content))
    while content.reads == 0:
        await asyncio.sleep(0)
    content.first.set_result(b"2026-11-25T20:00:01Z a line\n")
    reading.cancel()  # in the same step as the data: the reader must still see its cancellation
    done, _ = await asyncio.wait({reading}, timeout=5)
    assert reading in done and reading.cancelled()


async def test_stop_ends_a_follower_that_swallowed_its_first_cancel() -> None:
    follower = _follower()

    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # what a library can do with a cancel
            await asyncio.Event().wait()
        await asyncio.Event().wait()

    follower.task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    stopping = asyncio.create_task(follower.stop())
    done, _ = await asyncio.wait({stopping}, timeout=10)
    assert stopping in done and follower.task.done()
