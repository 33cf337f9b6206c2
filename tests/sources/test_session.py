"""Quit races, clean error text, log refusals and ordering, stale bridges, listener failures: no lab."""

from __future__ import annotations

import asyncio
import base64
import errno
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from gloomon.domain.model import Component, ForwardStatus, LogBatch, LogEvent, LogKind, PodInfo
from gloomon.domain.text import one_line
from gloomon.settings import DirectTarget, Settings
from gloomon.sources.admin.http import AdminConnection, AdminHttpError
from gloomon.sources.admin.poller import AdminPoller
from gloomon.sources.direct import direct_targets
from gloomon.sources.kube import forwards as forwards_module
from gloomon.sources.kube.forwards import ForwardSet
from gloomon.sources.kube.portforward import PodForward
from gloomon.sources.logs import follow as logs
from gloomon.sources.logs.buffer import LogBuffer
from gloomon.sources.session import MonitorSession, _Cluster

T0 = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
FORBIDDEN = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'pods "gloo-1" is forbidden: User "viewer" cannot get resource "pods/log" in "gloo-system"',
    "reason": "Forbidden",
    "code": 403,
}


def test_one_line_strips_escape_sequences_and_control_characters() -> None:
    dirty = "a\x1b[31mred\x1b[0m\tb\x7fc\x85d\u202eevil\u200be \x1b]0;title\x07f\x00g\r\nh"
    cleaned = one_line(dirty)
    assert cleaned == "ared bc devile fg h"  # unsafe characters dropped, line breaks and tabs a blank
    assert all(ch.isprintable() for ch in cleaned)
    assert one_line("x" * 500, 10) == "x" * 9 + "…"


# ---------------------------------------------------------------- stubs


class _Connection:
    context = "ctx"

    def core(self, websocket: bool = False) -> object:
        return object()


class _Reader:
    context = "ctx"
    namespace = "gloo-system"
    connection = _Connection()


def _pod(name: str, component: Component | None = Component.GLOO) -> PodInfo:
    return PodInfo(
        name, "gloo-system", component, "Running", ready=True, restarts=0, containers=("gloo", "sds")
    )


def _forward_set() -> ForwardSet:
    return ForwardSet(
        _Reader(),  # type: ignore[arg-type]
        lambda component: 19000,
        clock=lambda: T0,
        request_timeout=1.0,
        spare_seconds=15.0,
    )


class _Content:
    def __init__(self, body: bytes = b"") -> None:
        self._body = body

    async def read(self, n: int = -1) -> bytes:
        return self._body

    async def readany(self) -> bytes:
        await asyncio.Event().wait()  # a followed stream that stays open
        return b""


class _Response:
    def __init__(self, status: int, body: bytes = b"") -> None:
        self.status = status
        self.content = _Content(body)

    def release(self) -> None:
        pass


class _Core:
    """``read_namespaced_pod_log_without_preload_content``: answers ``status`` (or raises ``error``)."""

    def __init__(self, status: int = 200, body: bytes = b"", error: Exception | None = None) -> None:
        self.status, self.body, self.error = status, body, error
        self.calls = 0

    async def read_namespaced_pod_log_without_preload_content(self, *args: Any, **kwargs: Any) -> _Response:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return _Response(self.status, self.body)


# ---------------------------------------------------------------- quit race, fire-and-forget


async def test_reconciles_after_close_open_nothing() -> None:
    forwards = _forward_set()
    await forwards.close()
    await forwards.reconcile({Component.GLOO: [_pod("gloo-1")]})
    assert forwards.forwards == {}

    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    await log_set.close()
    log_set.reconcile("ctx", _Core(), "gloo-system", [_pod("gloo-1")])
    assert log_set._followers == {} and log_set._flusher is None


async def test_admin_get_on_a_closed_session_is_a_clean_error() -> None:
    connection = AdminConnection("http://127.0.0.1:9", timeout=1.0)
    await connection.aclose()
    with pytest.raises(AdminHttpError) as caught:
        await connection.get("/ready")
    assert caught.value.kind == "closed"

    poller = AdminPoller(request_timeout=1.0, clock=lambda: T0)
    await poller.aclose()
    (ref,) = direct_targets([DirectTarget("gloo-1", Component.GLOO, "http://127.0.0.1:9")], "ns")
    fetch = await poller.fetch(ref)
    assert fetch.error == "monitoring stopped" and poller._connections == {}


async def test_poll_after_stop_opens_nothing() -> None:
    session = MonitorSession(
        Settings(targets=(DirectTarget("gloo-1", Component.GLOO, "http://127.0.0.1:9"),))
    )
    await session.start()
    await session.stop()
    snapshot = await session.poll_once()
    assert snapshot.errors == ("monitoring stopped",)
    assert session._admin._connections == {}


async def test_followers_of_vanished_pods_are_stopped_and_awaited_on_close(
    eventually: Callable[..., Any],
) -> None:
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    core = _Core()
    log_set.reconcile("ctx", core, "gloo-system", [_pod("gloo-1")])
    followers = list(log_set._followers.values())
    await eventually(lambda: core.calls, lambda calls: calls == len(followers), timeout=5, what="streams")
    log_set.reconcile("ctx", core, "gloo-system", [])
    assert log_set._stopping  # kept (strong references) until done
    await log_set.close()
    assert not log_set._stopping and all(f.done for f in followers)


# ---------------------------------------------------------------- log refusals


async def _refused_follower(
    core: _Core, monkeypatch: pytest.MonkeyPatch, eventually: Callable[..., Any]
) -> logs.LogSet:
    monkeypatch.setattr(logs, "BACKOFF_START", 0.0)
    monkeypatch.setattr(logs, "AUTH_BACKOFF", 3600.0)
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    log_set.reconcile("ctx", core, "gloo-system", [_pod("gloo-1"), _pod("gloo-2")])
    await eventually(log_set.errors, bool, timeout=5, what="a log error")
    return log_set


@pytest.mark.parametrize("raised", [False, True], ids=["response", "ApiException"])
async def test_forbidden_logs_are_reported_once_and_not_retried_soon(
    raised: bool, monkeypatch: pytest.MonkeyPatch, eventually: Callable[..., Any]
) -> None:
    body = json.dumps(FORBIDDEN).encode()
    if raised:
        from kubernetes.aio.client.exceptions import ApiException

        core = _Core(error=ApiException(status=403, reason="Forbidden", body=body.decode()))
    else:
        core = _Core(403, body)
    log_set = await _refused_follower(core, monkeypatch, eventually)
    try:
        (error,) = log_set.errors()  # both pods refused: one distinct line
        assert error == ("ctx", one_line(f"logs: forbidden (403): {FORBIDDEN['message']}"))
        for _ in range(100):  # a retry without the long backoff would call again at once
            await asyncio.sleep(0)
        assert core.calls == len(log_set._followers) == 2
    finally:
        await log_set.close()


async def test_other_log_failures_keep_retrying_and_stay_quiet(
    monkeypatch: pytest.MonkeyPatch, eventually: Callable[..., Any]
) -> None:
    monkeypatch.setattr(logs, "BACKOFF_START", 0.0)
    core = _Core(400, b'{"kind":"Status","message":"container \\"sds\\" is waiting to start"}')
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    log_set.reconcile("ctx", core, "gloo-system", [_pod("gloo-1")])
    try:
        await eventually(lambda: core.calls, lambda calls: calls > 6, timeout=5, what="retries")
        assert log_set.errors() == []
    finally:
        await log_set.close()


# ---------------------------------------------------------------- log ordering


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


# ---------------------------------------------------------------- stale bridge, listener failure


async def test_a_bridge_to_the_old_pod_cannot_touch_the_retargeted_forward() -> None:
    gone: list[PodForward] = []
    forward = PodForward(_Connection(), "ns", "old", 19000, clock=lambda: T0, on_pod_gone=gone.append)  # type: ignore[arg-type]
    forward.retarget("new")
    forward._handshake_failed("old", 404)
    forward._set(ForwardStatus.RECONNECTING, "pod old: gone", pod="old")
    assert forward.state.status is ForwardStatus.CONNECTING and forward.state.error is None
    assert gone == []
    forward._handshake_failed("new", 404)
    assert forward.state.error == "pod new not found" and gone == [forward]


async def test_a_listener_that_cannot_open_is_an_error_not_an_exception(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def refuse(self: PodForward) -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(forwards_module.PodForward, "start", refuse)
    forwards = _forward_set()
    await forwards.reconcile({Component.GLOO: [_pod("gloo-1")]})
    assert forwards.forwards == {}
    assert forwards.listen_error == "port-forward: cannot listen on 127.0.0.1: too many open files"
    await forwards.close()


async def test_unexpected_failure_reading_cluster_state_is_recorded() -> None:
    class Reader(_Reader):
        async def read_secret(self, now: datetime) -> None:
            raise ValueError("odd answer")

        async def read_cronjob(self) -> None:
            return None

        async def missing_components(self, pods: object) -> tuple[Component, ...]:
            return ()

    session = MonitorSession(Settings())
    cluster = _Cluster(_Connection(), Reader(), _forward_set())  # type: ignore[arg-type]
    await session._read_state(cluster)
    assert cluster.error == "reading cluster state: ValueError: odd answer"


# ---------------------------------------------------------------- --target credentials


async def test_target_credentials_are_sent_but_not_shown() -> None:
    seen: list[str | None] = []

    async def ready(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(text="LIVE")

    app = web.Application()
    app.router.add_get("/ready", ready)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        poller = AdminPoller(request_timeout=2.0, clock=lambda: T0)
        url = f"http://user:pa55@127.0.0.1:{port}/"
        (ref,) = direct_targets([DirectTarget("g", Component.GLOO, url)], "ns", poller.request_urls)
        assert ref.admin_url == f"http://127.0.0.1:{port}"
        assert ref.forward is not None and ref.forward.local_address == f"127.0.0.1:{port}"
        status, _ = await poller._connection(ref.admin_url).get("/ready")
        await poller.aclose()
        assert status == 200
        assert seen == ["Basic " + base64.b64encode(b"user:pa55").decode()]
    finally:
        await runner.cleanup()
