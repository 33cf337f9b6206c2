"""Follow the mTLS-relevant containers' logs, resumably, into one bounded, time-ordered buffer.

Followed: ``sds`` and ``envoy-sidecar`` of every component pod (gateway-proxy: its own Envoy container and
``sds``), and every container of certgen Job pods while they exist. Each stream asks the kubelet for
``timestamps=true``; the timestamp of the last line seen (and which lines carried it) is kept per container,
so after a dropped stream or a container restart the follower asks again with ``sinceSeconds`` reaching a
little before that instant and drops what it already has: nothing lost, nothing repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gloomon.domain.logs import parse_log_line
from gloomon.domain.models import Component, LogEvent, PodInfo

#: extra seconds asked for on resume, for clock skew between us and the node; duplicates are dropped
RESUME_MARGIN = 5
BACKOFF_START = 0.2
BACKOFF_CAP = 5.0
#: a stream silent this long after opening has delivered its backlog (see ``LogSet.wait_settled``)
IDLE_SETTLED = 0.3
MAX_LINE = 64 * 1024
STREAM_TIMEOUT = 3600.0
_FOLLOWED = frozenset({"sds", "envoy-sidecar"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def containers_to_follow(pod: PodInfo) -> tuple[str, ...]:
    """Which containers of ``pod`` carry mTLS news (certgen pods: all of them)."""
    if pod.component is None:
        return pod.containers
    if not pod.containers:
        main = ("gateway-proxy",) if pod.component is Component.GATEWAY_PROXY else ("envoy-sidecar",)
        return (*main, "sds")
    wanted = set(_FOLLOWED)
    if pod.component is Component.GATEWAY_PROXY:
        wanted.add(pod.containers[0])
    return tuple(name for name in pod.containers if name in wanted)


def kubelet_ts_ns(line: bytes) -> int | None:
    """Nanoseconds since the epoch of a ``timestamps=true`` prefix (``2026-11-25T20:52:32.123456789Z``)."""
    head = line[:40].split(b" ", 1)[0]
    if len(head) < 20 or head[10:11] != b"T":
        return None
    text = head.decode("ascii", "replace")
    base, _, fraction = text.rstrip("Zz").partition(".")
    offset = "+00:00"
    for sign in ("+", "-"):
        if sign in fraction:
            fraction, _, rest = fraction.partition(sign)
            offset = sign + rest
    try:
        instant = datetime.fromisoformat(base + offset)
    except ValueError:
        return None
    digits = "".join(ch for ch in fraction if ch.isdigit())[:9].ljust(9, "0")
    return (int((instant - _EPOCH).total_seconds()) * 1_000_000_000) + int(digits or 0)


@dataclass
class Cursor:
    """Where a container's log was read up to: the last timestamp and the lines carrying it."""

    last_ns: int | None = None
    at_last: Counter[int] = field(default_factory=Counter)
    replaying: Counter[int] = field(default_factory=Counter)

    def resume(self) -> None:
        """A new stream begins: lines at ``last_ns`` already seen will come again once each."""
        self.replaying = Counter(self.at_last)

    def admit(self, ts_ns: int | None, line: bytes) -> bool:
        """True for a line not seen before (lines without a timestamp are always new)."""
        if ts_ns is None:
            return True
        if self.last_ns is not None and ts_ns < self.last_ns:
            return False
        digest = hash(line)
        if self.last_ns is not None and ts_ns == self.last_ns:
            if self.replaying[digest] > 0:
                self.replaying[digest] -= 1
                return False
            self.at_last[digest] += 1
            return True
        self.last_ns = ts_ns
        self.at_last = Counter({digest: 1})
        self.replaying = Counter()
        return True

    def since_seconds(self, now: datetime, first: float) -> int:
        if self.last_ns is None:
            return max(1, int(first))
        age = (now - _EPOCH).total_seconds() - self.last_ns / 1e9
        return max(1, math.ceil(age) + RESUME_MARGIN)


class LogBuffer:
    """The bounded ring of events, and the subscribers waiting for merged batches."""

    def __init__(self, capacity: int) -> None:
        self.events: deque[LogEvent] = deque(maxlen=max(capacity, 1))
        self._pending: list[LogEvent] = []
        self._subscribers: list[asyncio.Queue[list[LogEvent] | None]] = []
        self._wake = asyncio.Event()
        self._closed = False

    def add(self, event: LogEvent) -> None:
        self._pending.append(event)
        self._wake.set()

    def flush(self) -> list[LogEvent]:
        """Move pending events into the ring, ordered by timestamp, and hand them to subscribers."""
        if not self._pending:
            return []
        batch, self._pending = self._pending, []
        batch.sort(key=lambda e: e.ts or _EPOCH)
        self.events.extend(batch)
        for queue in self._subscribers:
            queue.put_nowait(batch)
        return batch

    async def run_flusher(self, period: float) -> None:
        while True:
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


class ContainerFollower:
    """Follows one container until it is stopped or its pod is gone (404)."""

    def __init__(
        self,
        core: Any,
        namespace: str,
        pod: PodInfo,
        container: str,
        cursor: Cursor,
        buffer: LogBuffer,
        *,
        clock: Callable[[], datetime],
        first_since: float,
    ) -> None:
        self._core = core
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.cursor = cursor
        self._buffer = buffer
        self._clock = clock
        self._first_since = first_since
        self.settled = asyncio.Event()
        self.error: str | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        delay = BACKOFF_START
        try:
            while True:
                status = await self._stream_once()
                if status == 404:
                    return  # the pod is gone; a new pod gets its own follower
                if status == 200:
                    delay = BACKOFF_START
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
        finally:
            self.settled.set()

    async def _stream_once(self) -> int:
        """One log request; returns its HTTP status (0 when the API was not reached)."""
        since = self.cursor.since_seconds(self._clock(), self._first_since)
        try:
            response = await self._core.read_namespaced_pod_log_without_preload_content(
                self.pod.name,
                self.namespace,
                container=self.container,
                follow=True,
                timestamps=True,
                since_seconds=since,
                _request_timeout=STREAM_TIMEOUT,
            )
        except Exception as exc:  # unreachable API: retried with backoff
            self.error = f"log stream: {type(exc).__name__}"
            return 0
        try:
            if response.status != 200:
                self.error = f"log stream: HTTP {response.status}"
                if response.status != 404:
                    self.settled.set()  # e.g. container not started yet: nothing to wait for
                return int(response.status)
            self.error = None
            self.cursor.resume()
            await self._read(response.content)
            return 200
        except Exception:  # dropped mid-stream: resume from the cursor
            return 200
        finally:
            response.release()

    async def _read(self, content: Any) -> None:
        partial = b""
        while True:
            if self.settled.is_set():
                chunk = await content.readany()
            else:
                try:
                    chunk = await asyncio.wait_for(content.readany(), IDLE_SETTLED)
                except TimeoutError:
                    self.settled.set()
                    continue
            if not chunk:
                return
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            if len(partial) > MAX_LINE:
                lines.append(partial[:MAX_LINE])
                partial = b""
            self._emit(lines)

    def _emit(self, lines: Iterable[bytes]) -> None:
        for raw in lines:
            line = raw.rstrip(b"\r")
            if not line or not self.cursor.admit(kubelet_ts_ns(line), line):
                continue
            event = parse_log_line(
                line, component=self.pod.component, pod=self.pod.name, container=self.container
            )
            self._buffer.add(event)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await self.task

    @property
    def done(self) -> bool:
        return self.task is not None and self.task.done()


class LogSet:
    """All followers of a session, reconciled with each pod listing; keeps cursors across restarts."""

    def __init__(self, capacity: int, *, clock: Callable[[], datetime], first_since: float) -> None:
        self.buffer = LogBuffer(capacity)
        self._clock = clock
        self._first_since = first_since
        self._followers: dict[tuple[str, str, str], ContainerFollower] = {}
        self._cursors: dict[tuple[str, str, str], Cursor] = {}
        self._flusher: asyncio.Task[None] | None = None

    def reconcile(self, context: str, core: Any, namespace: str, pods: Iterable[PodInfo]) -> None:
        """Follow every wanted container of ``pods``; stop following pods of ``context`` no longer listed."""
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self.buffer.run_flusher(0.2))
        wanted: set[tuple[str, str, str]] = set()
        for pod in pods:
            if pod.phase == "Pending":
                continue
            for container in containers_to_follow(pod):
                key = (context, pod.name, container)
                wanted.add(key)
                follower = self._followers.get(key)
                if follower is not None and (not follower.done or follower.pod.restarts == pod.restarts):
                    continue
                cursor = self._cursors.setdefault(key, Cursor())
                follower = ContainerFollower(
                    core,
                    namespace,
                    pod,
                    container,
                    cursor,
                    self.buffer,
                    clock=self._clock,
                    first_since=self._first_since,
                )
                self._followers[key] = follower
                follower.start()
        for key in [k for k in self._followers if k[0] == context and k not in wanted]:
            follower = self._followers.pop(key)
            self._cursors.pop(key, None)
            asyncio.get_running_loop().create_task(follower.stop())

    async def wait_settled(self, timeout: float) -> None:
        """Wait (bounded) until every stream delivered its backlog, then flush it into the buffer."""
        waits = [f.settled.wait() for f in self._followers.values()]
        if waits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*waits)
        self.buffer.flush()

    def recent(self) -> list[LogEvent]:
        return list(self.buffer.events)

    async def close(self) -> None:
        followers, self._followers = list(self._followers.values()), {}
        await asyncio.gather(*(f.stop() for f in followers), return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(BaseException):
                await self._flusher
            self._flusher = None
        self.buffer.flush()
        self.buffer.close()
