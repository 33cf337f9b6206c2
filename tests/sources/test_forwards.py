"""Port-forwards without a lab: a bridge to a pod that was replaced cannot touch the new forward, and a
listener that cannot open is an error line, not an exception."""

from __future__ import annotations

import errno

import pytest

from gloomon.domain.model import Component, ForwardStatus
from gloomon.sources.kube import forwards as forwards_module
from gloomon.sources.kube.portforward import PodForward
from tests.sources.stubs import T0, Connection, forward_set, pod


async def test_a_bridge_to_the_old_pod_cannot_touch_the_retargeted_forward() -> None:
    gone: list[PodForward] = []
    forward = PodForward(Connection(), "ns", "old", 19000, clock=lambda: T0, on_pod_gone=gone.append)  # type: ignore[arg-type]
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
    forwards = forward_set()
    await forwards.reconcile({Component.GLOO: [pod("gloo-1")]})
    assert forwards.forwards == {}
    assert forwards.listen_error == "port-forward: cannot listen on 127.0.0.1: too many open files"
    await forwards.close()
