"""Starting and stopping labs: no Envoy survives a stop, a crash of the lab's process, or Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gloomon.lab import Lab, start_background

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
ROOT = Path(__file__).resolve().parents[2]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.split(") ", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive_of(pids: list[int]) -> list[int]:
    return [p for p in pids if _alive(p)]


async def test_every_envoy_is_gone_after_stop_and_two_labs_run_side_by_side(
    healthy_lab: Lab, make_lab: Callable[..., Lab]
) -> None:
    async with make_lab() as lab:
        pids = lab.envoy_pids()
        assert len(pids) == 5 and all(_alive(p) for p in pids + healthy_lab.envoy_pids())
        assert lab.api_url != healthy_lab.api_url
        workdir = lab.workdir
    assert [p for p in pids if _alive(p)] == []
    assert not workdir.exists()
    assert all(_alive(p) for p in healthy_lab.envoy_pids()), "stopping one lab stopped the other's Envoys"


async def test_start_background_for_sync_callers(eventually: Callable[..., Any]) -> None:
    running = await asyncio.to_thread(start_background, scenario="healthy", namespace="gloo-demo")
    try:
        assert running.kubeconfig_path.exists()
        assert (running.context, running.namespace) == ("gloomon-lab", "gloo-demo")
        pids = running.lab.envoy_pids()
        assert len(pids) == 5
    finally:
        await asyncio.to_thread(running.stop)
    await eventually(lambda: _alive_of(pids), lambda alive: not alive, what="every Envoy gone")


async def _start_cli(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gloomon.lab",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    kubeconfig = ""
    while not kubeconfig:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line, "the lab exited before printing its kubeconfig"
        if line.startswith("kubeconfig: "):
            kubeconfig = line.split(": ", 1)[1].strip()
    return proc, kubeconfig


async def test_cli_runs_until_ctrl_c(eventually: Callable[..., Any]) -> None:
    proc, kubeconfig = await _start_cli("--scenario", "healthy")
    assert Path(kubeconfig).exists()
    envoys = _children(proc.pid)
    assert len(envoys) == 5
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    await eventually(lambda: _alive_of(envoys), lambda alive: not alive, what="every Envoy gone")


async def test_no_orphan_envoys_when_the_lab_process_is_killed(eventually: Callable[..., Any]) -> None:
    proc, _ = await _start_cli("--scenario", "healthy")
    envoys = _children(proc.pid)
    assert len(envoys) == 5
    proc.kill()
    await proc.wait()
    await eventually(lambda: _alive_of(envoys), lambda alive: not alive, what="every Envoy gone")


async def test_cli_variety_names_each_namespace_and_how_to_watch_them(kubectl: Path) -> None:
    """``--variety`` (with public-gw moved): the banner names the namespaces with a copy of the secret and
    who makes each (gloo's Gateway deployer for the kube-gateway's, kubed for public-gw's), the
    ``gloomon -n … -n …`` that watches them and the copy faults by namespace; kubectl sees each."""
    proc, kubeconfig = await _start_cli("--variety", "--public-gw-namespace", "gateways")
    try:
        assert proc.stdout is not None
        banner: list[str] = []
        while not banner or banner[-1] != "Ctrl-C to stop.":
            banner.append((await asyncio.wait_for(proc.stdout.readline(), 60)).decode().rstrip("\n"))
        text = "\n".join(banner)
        assert (
            "namespaces: gloo-system, apps, gateways (gloo's Gateway deployer renders apps/gloo-mtls-certs "
            "for Gateway apps/http; kubed copies gloo-system's secret to gateways/gloo-mtls-certs)"
        ) in text
        assert f"KUBECONFIG={kubeconfig} gloomon -n gloo-system -n apps -n gateways   (or -A)" in text
        assert f"kubectl --kubeconfig {kubeconfig} get pods -n apps" in text
        assert 'freeze-sync        {"enabled": true, "namespace": "gateways"}' in text
        assert (
            '"namespace": "apps"' in text
            and 'freeze-sync        {"enabled": true, "namespace": "apps"}' not in text
        )
        assert 'remove-copy        {"enabled": true, "namespace": "apps"}' in text
        assert 'forbid-secrets     {"enabled": true, "namespace": "apps"}' in text
        for namespace, deployment in (("apps", "gloo-proxy-http"), ("gateways", "public-gw")):
            args = ("--kubeconfig", kubeconfig, "-n", namespace, "get", "deploy,secret", "-o", "name")
            out = await asyncio.create_subprocess_exec(str(kubectl), *args, stdout=asyncio.subprocess.PIPE)
            names = (await asyncio.wait_for(out.communicate(), 60))[0].decode().split()
            assert names == [f"deployment.apps/{deployment}", "secret/gloo-mtls-certs"], namespace
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
