"""Reading followed containers: a line longer than MAX_LINE is cut there and the rest of it dropped;
what ``check`` reads is chosen by the kubelet's receive time."""

from __future__ import annotations

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
