"""The log ring: the one place log lines are ordered and kept; readers mirror it from its batches.

Streams of different pods deliver at different times (a resumed stream catches up seconds late), so an
event waits :data:`REORDER_HOLD` seconds for older events of other streams, and a batch older than the
ring's tail is merged into the ring at its place rather than appended after newer lines. The order is
the kubelet's receive time (``LogEvent.received``), which within one stream is the arrival order; a
line's own timestamp never reorders it (a pod can back-date its lines). Each flush is one
:class:`LogBatch` saying from which line number on the ring changed, so a reader never re-sorts.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

from gloomon.domain.model import LogBatch, LogEvent

#: how long an event waits for older events of other streams before it is released
REORDER_HOLD = 1.0
_MIN_TS = datetime.min.replace(tzinfo=UTC)


class LogBuffer:
    """The bounded ring of events (in receive order), and the subscribers waiting for its batches.

    ``add`` only queues an event; ``flush`` releases the events that waited ``hold`` seconds (all of them
    with ``force``), ordered by receive time. Events without one keep their place in arrival order (they
    sort as the event received just before them).
    """

    def __init__(
        self, capacity: int, *, hold: float = REORDER_HOLD, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.events: deque[LogEvent] = deque(maxlen=max(capacity, 1))
        #: the line number of ``events[0]``: how many lines the ring dropped from its front so far
        self.first = 0
        self._hold = hold
        self._now = now
        self._pending: list[tuple[float, LogEvent]] = []  # (arrival, event), in arrival order
        self._subscribers: list[asyncio.Queue[LogBatch | None]] = []
        self._wake = asyncio.Event()
        self._closed = False

    def add(self, event: LogEvent) -> None:
        self._pending.append((self._now(), event))
        self._wake.set()

    def flush(self, *, force: bool = False) -> LogBatch | None:
        """Release held events into the ring in receive order; hand subscribers what changed."""
        if not self._pending:
            return None
        if force:
            released, self._pending = self._pending, []
        else:
            cutoff = self._now() - self._hold
            ready = next((i for i, (arrival, _) in enumerate(self._pending) if arrival > cutoff), None)
            if ready is None:
                released, self._pending = self._pending, []
            else:
                released, self._pending = self._pending[:ready], self._pending[ready:]
        if not released:
            return None
        start = self.events[-1].received if self.events else None
        batch = self._insert(_sorted_by_received([event for _, event in released], start))
        for queue in self._subscribers:
            queue.put_nowait(batch)
        return batch

    def _insert(self, batch: list[LogEvent]) -> LogBatch:
        """Append ``batch`` (sorted) to the ring, merging it in where it is older than the ring's tail."""
        first = next((e.received for e in batch if e.received is not None), None)
        tail = self._pop_after(first) if first is not None else []
        start = self.first + len(self.events)
        changed = batch
        if tail:
            base = self.events[-1].received if self.events else None
            merged = heapq.merge(_keyed(tail, base), _keyed(batch, base), key=lambda item: item[0])
            changed = [event for _, event in merged]
        kept = len(self.events)
        self.events.extend(changed)
        self.first += kept + len(changed) - len(self.events)
        # Lines the ring could not keep are not news to anyone: the batch starts where the ring does.
        dropped = max(self.first - start, 0)
        return LogBatch(max(start, self.first), tuple(changed[dropped:]))

    def _pop_after(self, first: datetime) -> list[LogEvent]:
        """Take off the ring's end every event that sorts after ``first`` (in ring order)."""
        events = self.events
        tail: list[LogEvent] = []
        while events:
            untimed = 0  # events without a receive time sort with the one before them
            while untimed < len(events) and events[-1 - untimed].received is None:
                untimed += 1
            anchor = events[-1 - untimed].received if untimed < len(events) else None
            if anchor is None or anchor <= first:
                break
            tail.extend(events.pop() for _ in range(untimed + 1))
        tail.reverse()
        return tail

    async def run_flusher(self, period: float) -> None:
        while True:
            if not self._pending:
                await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(period)
            self.flush()

    async def batches(self, *, backlog: bool) -> AsyncIterator[LogBatch]:
        """Every flushed batch from now on (first, with ``backlog``, what the ring holds); ends on close."""
        queue: asyncio.Queue[LogBatch | None] = asyncio.Queue()
        self._subscribers.append(queue)
        if backlog and self.events:
            queue.put_nowait(LogBatch(self.first, tuple(self.events)))
        if self._closed:
            queue.put_nowait(None)
        try:
            while (batch := await queue.get()) is not None:
                yield batch
        finally:
            self._subscribers.remove(queue)

    def close(self) -> None:
        self._closed = True
        for queue in self._subscribers:
            queue.put_nowait(None)


def _keyed(events: Iterable[LogEvent], start: datetime | None) -> list[tuple[datetime, LogEvent]]:
    """``(sort key, event)``: an event without a receive time takes the key of the one before it."""
    last = start or _MIN_TS
    keyed = []
    for event in events:
        if event.received is not None:
            last = event.received
        keyed.append((last, event))
    return keyed


def _sorted_by_received(events: list[LogEvent], start: datetime | None) -> list[LogEvent]:
    return [event for _, event in sorted(_keyed(events, start), key=lambda item: item[0])]
