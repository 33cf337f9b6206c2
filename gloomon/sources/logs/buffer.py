"""The log ring buffer: events held briefly, released in timestamp order, merged into a bounded ring.

Streams of different pods deliver at different times (a resumed stream catches up seconds late), so an
event waits :data:`REORDER_HOLD` seconds for older events of other streams, and a batch older than the
ring's tail is merged into the ring at its place rather than appended after newer lines.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

from gloomon.domain.model import LogEvent

#: how long an event waits for older events of other streams before it is released
REORDER_HOLD = 1.0
_MIN_TS = datetime.min.replace(tzinfo=UTC)


class LogBuffer:
    """The bounded ring of events (in timestamp order), and the subscribers waiting for merged batches.

    ``add`` only queues an event; ``flush`` releases the events that waited ``hold`` seconds (all of them
    with ``force``), sorted by timestamp. Events without a timestamp keep their place in arrival order
    (they sort as the event received just before them).
    """

    def __init__(
        self, capacity: int, *, hold: float = REORDER_HOLD, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.events: deque[LogEvent] = deque(maxlen=max(capacity, 1))
        self._hold = hold
        self._now = now
        self._pending: list[tuple[float, LogEvent]] = []  # (arrival, event), in arrival order
        self._subscribers: list[asyncio.Queue[list[LogEvent] | None]] = []
        self._wake = asyncio.Event()
        self._closed = False

    def add(self, event: LogEvent) -> None:
        self._pending.append((self._now(), event))
        self._wake.set()

    def flush(self, *, force: bool = False) -> list[LogEvent]:
        """Release held events into the ring, ordered by timestamp, and hand them to subscribers."""
        if not self._pending:
            return []
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
            return []
        start = self.events[-1].ts if self.events else None
        batch = _sorted_by_ts([event for _, event in released], start)
        self._insert(batch)
        for queue in self._subscribers:
            queue.put_nowait(batch)
        return batch

    def _insert(self, batch: list[LogEvent]) -> None:
        """Append ``batch`` (sorted) to the ring, merging it in where it is older than the ring's tail."""
        first = next((e.ts for e in batch if e.ts is not None), None)
        tail: list[LogEvent] = []
        if first is not None:
            while self.events and (self.events[-1].ts is None or self.events[-1].ts > first):
                tail.append(self.events.pop())
            tail.reverse()
        if not tail:
            self.events.extend(batch)
            return
        base = self.events[-1].ts if self.events else None
        merged = heapq.merge(_keyed(tail, base), _keyed(batch, base), key=lambda item: item[0])
        self.events.extend(event for _, event in merged)

    async def run_flusher(self, period: float) -> None:
        while True:
            if not self._pending:
                await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(period)
            self.flush()

    async def batches(self, *, backlog: bool) -> AsyncIterator[list[LogEvent]]:
        """Every flushed batch from now on (first, with ``backlog``, what the ring holds); ends on close."""
        queue: asyncio.Queue[list[LogEvent] | None] = asyncio.Queue()
        self._subscribers.append(queue)
        if backlog and self.events:
            queue.put_nowait(list(self.events))
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
    """``(sort key, event)``: an event without a timestamp takes the key of the one before it."""
    last = start or _MIN_TS
    keyed = []
    for event in events:
        if event.ts is not None:
            last = event.ts
        keyed.append((last, event))
    return keyed


def _sorted_by_ts(events: list[LogEvent], start: datetime | None) -> list[LogEvent]:
    return [event for _, event in sorted(_keyed(events, start), key=lambda item: item[0])]
