"""Per-container log buffers with kubelet semantics: bounded, timestamped, followable.

Every container of every simulated pod writes here (Envoy's stderr, the sds stand-in's zap JSON, certgen's
lines). The API façade serves them as ``GET .../log`` with ``tailLines``/``sinceTime``/``follow``/
``timestamps``, like the kubelet does from the container runtime's log files.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gloomon.lab.cluster.util import now_utc, zap_ts

DEFAULT_MAX_LINES = 5000


@dataclass(frozen=True, slots=True)
class LogLine:
    index: int
    ts: datetime
    text: str


class ContainerLog:
    """An append-only, bounded log of one container run; readers follow it by absolute line index."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES) -> None:
        self._lines: deque[LogLine] = deque(maxlen=max_lines)
        self._total = 0
        self._changed = asyncio.Event()
        self.closed = False
        self._seq = 0

    def append(self, text: str, ts: datetime | None = None) -> None:
        for part in text.rstrip("\n").split("\n"):
            self._lines.append(LogLine(self._total, ts or now_utc(), part))
            self._total += 1
        self._wake()

    def zap(self, level: str, logger: str, caller: str, msg: str, **fields: Any) -> None:
        """One zap production-JSON line, with the lab's ``seq`` field so readers can spot loss/duplication."""
        ts = now_utc()
        self._seq += 1
        record: dict[str, Any] = {"level": level, "ts": zap_ts(ts), "logger": logger, "caller": caller}
        record["msg"] = msg
        record.update(fields)
        record["seq"] = self._seq
        self.append(json.dumps(record, separators=(",", ":")), ts)

    def close(self) -> None:
        """The container stopped: followers drain what is left and end."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def snapshot(
        self, *, tail: int | None = None, since: datetime | None = None
    ) -> tuple[list[LogLine], int]:
        """Lines selected like the kubelet does, and the index to follow from."""
        lines = list(self._lines)
        if since is not None:
            lines = [line for line in lines if line.ts >= since]
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return lines, self._total

    async def follow(self, start: int) -> AsyncGenerator[LogLine, None]:
        """Lines from absolute index ``start`` on, waiting for new ones until the log is closed."""
        position = start
        while True:
            waiter = self._changed
            while position < self._total:
                first = self._lines[0].index
                position = max(position, first)
                yield self._lines[position - first]
                position += 1
            if self.closed:
                return
            await waiter.wait()
