"""`gloomon check` never stays green while Envoys are down: the real command, as a subprocess.

Every ``--target`` down: nothing was observed, status ``error``, exit 3 whatever ``--fail-on`` says.
Every target of one component down while others answer (a real lab Envoy): ``component-unreachable``
is critical, exit 2 with ``--fail-on critical``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys

import pytest

from gloomon.domain.model import Component
from gloomon.lab import Lab

pytestmark = pytest.mark.lab


async def gloomon_check(*args: str) -> tuple[int, str, str]:
    """Run `python -m gloomon check ARGS` without blocking the loop that serves the lab."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gloomon", "check", *args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def _dead_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_every_target_down_is_an_error_and_exit_3() -> None:
    dead = ["--target", f"gloo={_dead_url()}", "--target", f"gateway-proxy={_dead_url()}"]
    code, out, err = await gloomon_check(*dead, "--fail-on", "critical", "-o", "json")
    assert (code, err) == (3, "")
    report = json.loads(out)
    assert report["status"] == "error"
    unreachable = [f for f in report["findings"] if f["code"] == "component-unreachable"]
    assert sorted((f["component"], f["severity"]) for f in unreachable) == [
        ("gateway-proxy", "critical"),
        ("gloo", "critical"),
    ]
    code, out, _ = await gloomon_check(*dead, "--fail-on", "never")
    assert code == 3 and "Status: ERROR" in out


async def test_a_component_with_every_target_down_is_critical() -> None:
    async with Lab(scenario="healthy") as lab:
        gloo = lab.pods(Component.GLOO)[0]
        code, out, err = await gloomon_check(
            "--target",
            f"gloo={lab.admin_url(gloo)}",
            "--target",
            f"gateway-proxy={_dead_url()}",
            "--fail-on",
            "critical",
            "-o",
            "json",
        )
    assert (code, err) == (2, "")
    report = json.loads(out)
    assert report["status"] == "critical"
    assert [(f["component"], f["code"]) for f in report["findings"] if f["severity"] == "critical"] == [
        ("gateway-proxy", "component-unreachable")
    ]
    assert [t["reachable"] for t in report["targets"]] == [True, False]
