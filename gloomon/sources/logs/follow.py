"""Follow the mTLS-relevant containers' logs, resumably, into one bounded, time-ordered buffer.

Followed: ``sds`` and the Envoy's container of every component pod (``envoy-sidecar``; a classic proxy's
container named after it, ``gloo-gateway`` of a kube-gateway: ``PodInfo.envoy_container``), an Enterprise
``extauth`` sidecar inside a gateway-proxy pod, and every container of certgen Job pods while they exist.
Each stream asks the kubelet for ``timestamps=true``; the kubelet timestamp of the last line seen (read
by the domain's parser, once: ``LogEvent.received``) and which lines carried it are kept per container, so
after a dropped stream or a container restart the follower asks again with ``sinceSeconds`` reaching a
little before that instant and drops what it already has: nothing lost, nothing repeated.

Events are held briefly and released in receive order, late ones merged into the ring at their place
(:mod:`gloomon.sources.logs.buffer`), so the buffer reads in order across pods and batches. A line longer
than :data:`MAX_LINE` bytes is cut there and the rest of it dropped, not taken for new lines. A 401/403
on ``pods/log`` is reported (:meth:`LogSet.errors`) and retried only every :data:`AUTH_BACKOFF` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gloomon.domain.model import DEFAULT_ENVOY_CONTAINERS, LogEvent, PodInfo
from gloomon.domain.parse.logs import MAX_LINE, parse_log_line
from gloomon.domain.text import one_line
from gloomon.sources.errors import status_message
from gloomon.sources.kube.credentials import renew_after_unauthorized, token_of
from gloomon.sources.logs.buffer import REORDER_HOLD, LogBuffer
from gloomon.tasks import cancel_and_wait

__all__ = ["REORDER_HOLD", "ContainerFollower", "Cursor", "LogBuffer", "LogSet", "containers_to_follow"]

#: extra seconds asked for on resume, for clock skew between us and the node; duplicates are dropped
RESUME_MARGIN = 5
BACKOFF_START = 0.2
BACKOFF_CAP = 5.0
#: retry delay after the API refused the log (401/403): permissions rarely change within seconds
AUTH_BACKOFF = 60.0
#: a stream silent this long after opening has delivered its backlog (see ``LogSet.wait_settled``)
IDLE_SETTLED = 0.3
STREAM_TIMEOUT = 3600.0
_FOLLOWED = frozenset({"sds", "envoy-sidecar"})


def containers_to_follow(pod: PodInfo) -> tuple[str, ...]:
    """Which containers of ``pod`` carry mTLS news (certgen pods: all of them)."""
    if pod.component is None:
        return pod.containers
    if not pod.containers:
        return (pod.envoy_container or DEFAULT_ENVOY_CONTAINERS[pod.component], "sds")
    wanted = set(_FOLLOWED)
    wanted.add(pod.envoy_container or DEFAULT_ENVOY_CONTAINERS[pod.component])
    if pod.extauth_sidecar:
        wanted.add("extauth")
    return tuple(name for name in pod.containers if name in wanted)


@dataclass
class Cursor:
    """Where a container's log was read up to: the last kubelet timestamp and the lines carrying it."""

    last: datetime | None = None
    at_last: Counter[int] = field(default_factory=Counter)
    replaying: Counter[int] = field(default_factory=Counter)

    def resume(self) -> None:
        """A new stream begins: lines at ``last`` already seen will come again once each."""
        self.replaying = Counter(self.at_last)

    def admit(self, received: datetime | None, line: bytes) -> bool:
        """True for a line not seen before (lines without a timestamp are always new)."""
        if received is None:
            return True
        if self.last is not None and received < self.last:
            return False
        digest = hash(line)
        if self.last is not None and received == self.last:
            if self.replaying[digest] > 0:
                self.replaying[digest] -= 1
                return False
            self.at_last[digest] += 1
            return True
        self.last = received
        self.at_last = Counter({digest: 1})
        self.replaying = Counter()
        return True

    def since_seconds(self, now: datetime, first: float) -> int:
        if self.last is None:
            return max(1, int(first))
        age = (now - self.last).total_seconds()
        return max(1, math.ceil(age) + RESUME_MARGIN)


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
        context: str | None = None,
    ) -> None:
        self._core = core
        self.context = context
        self.namespace = namespace
        self.pod = pod
        self.container = container
        self.cursor = cursor
        self._buffer = buffer
        self._clock = clock
        self._first_since = first_since
        self.settled = asyncio.Event()
        self.error: str | None = None
        #: HTTP status behind ``error`` (0: the API was not reached)
        self.error_status: int | None = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        delay = BACKOFF_START
        renewed = False
        try:
            while True:
                sent = token_of(self._core)
                status = await self._stream_once()
                if status == 404:
                    return  # the pod is gone; a new pod gets its own follower
                if status == 200:
                    delay = BACKOFF_START
                if status == 401 and not renewed and await renew_after_unauthorized(self._core, sent):
                    renewed = True  # rotating credentials renewed (``credentials``): ask again, once
                    continue
                renewed = False
                if status in (401, 403):  # no permission: asking again soon would only hammer the API
                    await asyncio.sleep(AUTH_BACKOFF)
                    continue
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
        except Exception as exc:  # unreachable API (retried with backoff), or an ApiException
            status = getattr(exc, "status", None)
            if isinstance(status, int) and status >= 400:
                body = getattr(exc, "body", None)
                return self._refused(status, body.encode() if isinstance(body, str) else body)
            self.error, self.error_status = f"log stream: {type(exc).__name__}", 0
            return 0
        try:
            if response.status != 200:
                body = b""
                with contextlib.suppress(Exception):
                    body = await response.content.read(4096)
                return self._refused(int(response.status), body)
            self.error, self.error_status = None, None
            self.cursor.resume()
            await self._read(response.content)
            return 200
        except Exception:  # dropped mid-stream: resume from the cursor
            return 200
        finally:
            response.release()

    def _refused(self, status: int, body: bytes | None) -> int:
        """Record a non-200 answer as one line ("logs: forbidden (403): …") and return its status."""
        message = status_message(status, body if isinstance(body, bytes) else None)
        if status == 401:
            self.error = one_line(f"logs: unauthorized (401): {message}")
        elif status == 403:
            self.error = one_line(f"logs: forbidden (403): {message}")
        else:
            self.error = one_line(f"logs: {self.pod.name}/{self.container}: {message} ({status})")
        self.error_status = status
        if status != 404:
            self.settled.set()  # e.g. container not started yet: nothing to wait for
        return status

    async def _read(self, content: Any) -> None:
        partial = b""
        cutting = False  # dropping the rest of a line longer than MAX_LINE, up to its newline
        while True:
            if self.settled.is_set():
                chunk = await content.readany()
            else:
                try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that lands
                    # as the read completes (gh-86296), and a follower that missed its stop reads forever
                    async with asyncio.timeout(IDLE_SETTLED):
                        chunk = await content.readany()
                except TimeoutError:
                    self.settled.set()
                    continue
            if not chunk:
                return
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            if cutting:
                if not lines:
                    partial = b""
                    continue
                lines.pop(0)
                cutting = False
            if len(partial) > MAX_LINE:
                lines.append(partial[:MAX_LINE])
                partial, cutting = b"", True
            self._emit(lines)

    def _emit(self, lines: Iterable[bytes]) -> None:
        for raw in lines:
            line = raw.rstrip(b"\r")
            if not line:
                continue
            event = parse_log_line(
                line,
                component=self.pod.component,
                pod=self.pod.name,
                container=self.container,
                context=self.context,
            )
            if self.cursor.admit(event.received, line):
                self._buffer.add(event)

    async def stop(self) -> None:
        """Cancel the follower and wait for it; cancelled again should a library have swallowed it."""
        await cancel_and_wait(self.task)

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
        self._stopping: set[asyncio.Task[None]] = set()  # followers being stopped (strong references)
        self._closed = False

    def reconcile(self, context: str, core: Any, namespace: str, pods: Iterable[PodInfo]) -> None:
        """Follow every wanted container of ``pods``; stop following pods of ``context`` no longer listed.

        A no-op once closed: a discovery finishing after ``close()`` must not start followers.
        """
        if self._closed:
            return
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
                    pod.namespace or namespace,
                    pod,
                    container,
                    cursor,
                    self.buffer,
                    clock=self._clock,
                    first_since=self._first_since,
                    context=context,
                )
                self._followers[key] = follower
                follower.start()
        for key in [k for k in self._followers if k[0] == context and k not in wanted]:
            follower = self._followers.pop(key)
            self._cursors.pop(key, None)
            task = asyncio.get_running_loop().create_task(follower.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    def errors(self) -> list[tuple[str, str]]:
        """``(context, line)`` per distinct refusal of a log request (401/403, 5xx) by a current follower."""
        lines = (
            (key[0], follower.error)
            for key, follower in self._followers.items()
            if follower.error
            and follower.error_status is not None
            and (follower.error_status in (401, 403) or follower.error_status >= 500)
        )
        return list(dict.fromkeys(lines))

    async def wait_settled(self, timeout: float) -> None:
        """Wait (bounded) until every stream delivered its backlog, then flush it into the buffer."""
        waits = [f.settled.wait() for f in self._followers.values()]
        if waits:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*waits)
        self.buffer.flush(force=True)

    def recent(self, since: datetime | None = None) -> list[LogEvent]:
        """The buffered events, or those the kubelet received at or after ``since`` (what ``check
        --since`` reads; a line's own time may be back-dated, its receipt is not)."""
        return [
            event
            for event in self.buffer.events
            if since is None or (when := event.received or event.ts) is None or when >= since
        ]

    async def close(self) -> None:
        self._closed = True
        followers, self._followers = list(self._followers.values()), {}
        await asyncio.gather(*(f.stop() for f in followers), *self._stopping, return_exceptions=True)
        self._stopping.clear()
        await cancel_and_wait(self._flusher)
        self._flusher = None
        self.buffer.flush(force=True)
        self.buffer.close()
