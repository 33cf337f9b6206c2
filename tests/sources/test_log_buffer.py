"""The session's log ring: lines held briefly and merged in the kubelet's receive order, late ones
slotted in, numbered past its capacity."""

from __future__ import annotations

from datetime import timedelta

from gloomon.domain.model import Component, LogBatch, LogEvent, LogKind
from gloomon.sources.logs.buffer import LogBuffer
from tests.sources.stubs import T0


def _event(seconds: float | None, message: str, *, own: float | None = None) -> LogEvent:
    """A line the kubelet received ``seconds`` after T0 (its own time ``own`` seconds after T0)."""
    received = None if seconds is None else T0 + timedelta(seconds=seconds)
    ts = received if own is None else T0 + timedelta(seconds=own)
    return LogEvent(
        ts, "info", Component.GLOO, "p", "sds", message, LogKind.PLAIN, raw=message, received=received
    )


def _messages(batch: LogBatch | None) -> list[str]:
    return [] if batch is None else [event.message for event in batch.events]


def test_log_buffer_holds_events_and_merges_late_ones_in_order() -> None:
    now = [0.0]
    buffer = LogBuffer(100, hold=1.0, now=lambda: now[0])
    buffer.add(_event(10, "b"))
    buffer.add(_event(None, "b+"))  # no timestamp: stays right after its predecessor
    buffer.add(_event(5, "a"))
    assert buffer.flush() is None  # held
    now[0] = 1.5
    first = buffer.flush()
    assert first is not None and first.start == 0 and _messages(first) == ["a", "b", "b+"]
    buffer.add(_event(20, "d"))
    now[0] = 2.4
    buffer.add(_event(7, "late"))  # a resumed stream catching up
    now[0] = 2.6
    assert _messages(buffer.flush()) == ["d"]
    now[0] = 3.5
    late = buffer.flush()
    assert late is not None and late.start == 1  # the ring changed from its second line on
    assert _messages(late) == ["late", "b", "b+", "d"]
    assert [e.message for e in buffer.events] == ["a", "late", "b", "b+", "d"]
    buffer.add(_event(1, "forced"))
    forced = buffer.flush(force=True)
    assert forced is not None and forced.start == 0 and _messages(forced)[:2] == ["forced", "a"]


def test_log_buffer_orders_by_receipt_not_by_a_back_dated_own_time() -> None:
    """A pod's zap ``ts`` an hour in the past neither reorders its lines nor makes them late."""
    buffer = LogBuffer(100, hold=0.0)
    buffer.add(_event(10, "before"))
    buffer.flush(force=True)
    buffer.add(_event(11, "back-dated", own=-3600))
    buffer.add(_event(12, "after"))
    batch = buffer.flush(force=True)
    assert batch is not None and batch.start == 1 and _messages(batch) == ["back-dated", "after"]
    assert [e.message for e in buffer.events] == ["before", "back-dated", "after"]


def test_log_buffer_numbers_lines_past_its_capacity() -> None:
    buffer = LogBuffer(3, hold=0.0)
    for second in range(5):
        buffer.add(_event(second, str(second)))
    batch = buffer.flush(force=True)
    assert batch is not None and (batch.start, _messages(batch)) == (2, ["2", "3", "4"])
    assert buffer.first == 2
    buffer.add(_event(2.5, "late"))
    late = buffer.flush(force=True)
    assert late is not None and (late.start, _messages(late)) == (3, ["late", "3", "4"])
    assert buffer.first == 3 and [e.message for e in buffer.events] == ["late", "3", "4"]
