"""Following containers' logs without a lab: which containers, the cursor across reconnects, refusals
reported once and not retried soon, other failures retried quietly, followers stopped with their pods."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from gloomon.domain.model import Component, PodInfo
from gloomon.domain.parse.logs import parse_log_line
from gloomon.domain.text import one_line
from gloomon.sources.logs import follow as logs
from gloomon.sources.logs.follow import Cursor, containers_to_follow
from tests.sources.stubs import T0, Core, pod

FORBIDDEN = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'pods "gloo-1" is forbidden: User "viewer" cannot get resource "pods/log" in "gloo-system"',
    "reason": "Forbidden",
    "code": 403,
}


def test_containers_followed_per_component() -> None:
    def pod(component: Component | None, *containers: str) -> PodInfo:
        return PodInfo("p", "n", component, "Running", True, 0, containers=containers)

    assert containers_to_follow(pod(Component.GLOO, "envoy-sidecar", "sds", "gloo")) == (
        "envoy-sidecar",
        "sds",
    )
    assert containers_to_follow(pod(Component.GATEWAY_PROXY, "gateway-proxy", "sds")) == (
        "gateway-proxy",
        "sds",
    )
    assert containers_to_follow(pod(None, "certgen")) == ("certgen",)


def received(line: bytes) -> datetime | None:
    return parse_log_line(line, component=None, pod="p", container="c").received


def test_kubelet_timestamps_are_read_by_the_parser() -> None:
    assert received(b"2026-11-25T20:52:32.123456789Z hello") == datetime(
        2026, 11, 25, 20, 52, 32, 123456, tzinfo=UTC
    )
    assert received(b"2026-11-25T20:52:32.5Z x") == datetime(2026, 11, 25, 20, 52, 32, 500000, tzinfo=UTC)
    assert received(b"2026-11-25T20:52:32Z x") == datetime(2026, 11, 25, 20, 52, 32, tzinfo=UTC)
    assert received(b"no timestamp here") is None


def test_cursor_drops_replayed_lines_and_keeps_new_ones_at_the_same_instant() -> None:
    cursor = Cursor()
    at = [datetime(2026, 11, 25, 20, 52, second, tzinfo=UTC) for second in range(4)]
    first = [(at[1], b"a"), (at[2], b"b"), (at[2], b"c"), (at[2], b"c")]
    assert [cursor.admit(ts, line) for ts, line in first] == [True, True, True, True]
    cursor.resume()
    replay = [(at[1], b"a"), (at[2], b"b"), (at[2], b"c"), (at[2], b"c"), (at[2], b"c"), (at[3], b"d")]
    assert [cursor.admit(ts, line) for ts, line in replay] == [False, False, False, False, True, True]
    assert cursor.last == at[3] and cursor.at_last == Counter({hash(b"d"): 1})


def test_cursor_since_seconds_reaches_back_past_the_last_line() -> None:
    cursor = Cursor()
    now = datetime(2026, 11, 25, 20, 52, 40, tzinfo=UTC)
    assert cursor.since_seconds(now, 600) == 600
    cursor.admit(received(b"2026-11-25T20:52:32.5Z x"), b"x")
    assert cursor.since_seconds(now, 600) == 8 + 5


async def test_followers_of_vanished_pods_are_stopped_and_awaited_on_close(
    eventually: Callable[..., Any],
) -> None:
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    core = Core()
    log_set.reconcile("ctx", core, "gloo-system", [pod("gloo-1")])
    followers = list(log_set._followers.values())
    await eventually(lambda: core.calls, lambda calls: calls == len(followers), timeout=5, what="streams")
    log_set.reconcile("ctx", core, "gloo-system", [])
    assert log_set._stopping  # kept (strong references) until done
    await log_set.close()
    assert not log_set._stopping and all(f.done for f in followers)


async def _refused_follower(
    core: Core, monkeypatch: pytest.MonkeyPatch, eventually: Callable[..., Any]
) -> logs.LogSet:
    monkeypatch.setattr(logs, "BACKOFF_START", 0.0)
    monkeypatch.setattr(logs, "AUTH_BACKOFF", 3600.0)
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    log_set.reconcile("ctx", core, "gloo-system", [pod("gloo-1"), pod("gloo-2")])
    await eventually(log_set.errors, bool, timeout=5, what="a log error")
    return log_set


@pytest.mark.parametrize("raised", [False, True], ids=["response", "ApiException"])
async def test_forbidden_logs_are_reported_once_and_not_retried_soon(
    raised: bool, monkeypatch: pytest.MonkeyPatch, eventually: Callable[..., Any]
) -> None:
    body = json.dumps(FORBIDDEN).encode()
    if raised:
        from kubernetes.aio.client.exceptions import ApiException

        core = Core(error=ApiException(status=403, reason="Forbidden", body=body.decode()))
    else:
        core = Core(403, body)
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
    core = Core(400, b'{"kind":"Status","message":"container \\"sds\\" is waiting to start"}')
    log_set = logs.LogSet(100, clock=lambda: T0, first_since=60)
    log_set.reconcile("ctx", core, "gloo-system", [pod("gloo-1")])
    try:
        await eventually(lambda: core.calls, lambda calls: calls > 6, timeout=5, what="retries")
        assert log_set.errors() == []
    finally:
        await log_set.close()
