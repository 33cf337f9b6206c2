"""The certgen-failing and secret-deleted scenarios as a user meets them: the real kubectl shows what a
real cluster's would (STATUS Error / CrashLoopBackOff with RESTARTS, a Failed Job, ContainerCreating, the
FailedMount event), and ``gloomon check`` names the specific finding. Each scenario starts once."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gloomon.lab import Lab
from tests.lab.probes import admin_json, aio_core

pytestmark = pytest.mark.lab
NS = "gloo-system"


async def _run(*command: str, ok: tuple[int, ...] = (0,)) -> tuple[int, str]:
    """Run ``command`` (its output in files, so a run that outlasts the deadline still says what it did)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=err,
            env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
        try:
            await asyncio.wait_for(proc.wait(), 120)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            err.seek(0)
            raise AssertionError(f"{command[:4]} ran over 120 s; stderr: {err.read()[-3000:]!r}") from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    assert proc.returncode in ok, stderr
    return int(proc.returncode or 0), stdout


async def kube(path: Path, lab: Lab, *args: str) -> str:
    return (await _run(str(path), "--kubeconfig", str(lab.kubeconfig_path), "-n", NS, *args))[1]


async def check(lab: Lab) -> tuple[int, dict[str, dict[str, str]]]:
    code, out = await _run(
        sys.executable, "-m", "gloomon", "check", "--kubeconfig", str(lab.kubeconfig_path),
        "--context", lab.context, "-n", lab.namespace, "-o", "json", ok=(0, 1, 2),
    )  # fmt: skip
    return code, {f["code"]: f for f in json.loads(out)["findings"]}


def _rows(table: str) -> list[list[str]]:
    return [line.split() for line in table.strip().splitlines()[1:]]


async def test_certgen_failing_fails_at_the_backoff_limit_and_check_says_so(
    make_lab: Callable[..., Lab], kubectl: Path
) -> None:
    """(Its pod's Error / CrashLoopBackOff and RESTARTS while retrying: test_certgen_failures.py.)"""
    async with make_lab("certgen-failing") as lab:
        await lab.wait_for(lambda: any(job.completed for job in lab.store.jobs.values()), timeout=30)
        jobs, described, (code, found) = await asyncio.gather(
            kube(kubectl, lab, "get", "jobs"), kube(kubectl, lab, "describe", "jobs"), check(lab)
        )
        (job,) = _rows(jobs)
        assert job[1:3] == ["Failed", "0/1"], jobs
        assert (
            "BackoffLimitExceeded" in described and "Job has reached the specified backoff limit" in described
        )
        assert code == 1, found
        assert "BackoffLimitExceeded" in found["certgen-job-failed"]["message"]
        assert "the last 3 scheduled runs did not succeed" in found["certgen-runs-failing"]["message"]


async def test_secret_deleted_leaves_a_pod_in_container_creating_and_check_names_the_mount(
    make_lab: Callable[..., Lab], kubectl: Path
) -> None:
    async with make_lab("secret-deleted") as lab:
        listed, (code, found) = await asyncio.gather(kube(kubectl, lab, "get", "pods"), check(lab))
        rows = {row[0]: row for row in _rows(listed)}
        (stuck,) = [row for row in rows.values() if row[2] == "ContainerCreating"]
        assert stuck[0].startswith("gateway-proxy-") and stuck[1:4] == ["0/2", "ContainerCreating", "0"]
        assert sum(row[2] == "Running" for row in rows.values()) == 5
        described = await kube(kubectl, lab, "describe", "pod", stuck[0])
        assert "FailedMount" in described and 'secret "gloo-mtls-certs" not found' in described
        assert code == 2, found
        mount = found["pod-mount-failed"]
        assert mount["pod"] == stuck[0] and mount["severity"] == "critical"
        assert (
            "ContainerCreating" in mount["message"]
            and 'secret "gloo-mtls-certs" not found' in mount["message"]
        )
        assert found["secret-missing"]["severity"] == "critical"
        assert lab.api is not None  # the events were asked for (deploy/role.yaml allows it: test_rbac.py)
        assert ("list", "events") in {(r.verb, r.resource) for r in lab.api.requests.seen()}


async def test_secret_key_missing_crash_loops_every_sds_and_check_names_the_key(
    make_lab: Callable[..., Lab], eventually: Callable[..., Any]
) -> None:
    async with make_lab("secret-key-missing") as lab:
        core = await aio_core(lab)
        async with core.api_client:
            secret = await core.read_namespaced_secret("gloo-mtls-certs", lab.namespace)
            assert set(secret.data) == {"tls.crt", "tls.key"}  # kubectl create secret tls: no ca.crt

            async def sds_states() -> list[Any]:
                pods = await core.list_namespaced_pod(lab.namespace)
                return [s for p in pods.items for s in p.status.container_statuses if s.name == "sds"]

            states = await eventually(
                sds_states,
                lambda found: len(found) == len(lab.pods()) and all(
                    s.restart_count >= 1 and s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"
                    and not s.ready
                    for s in found
                ),
                what="every sds container crash-looping",
            )  # fmt: skip
            assert all(s.last_state.terminated.exit_code == 1 for s in states)
            pod = lab.pods()[0]
            log = await core.read_namespaced_pod_log(pod, lab.namespace, container="sds")
        fatal = json.loads(log.splitlines()[-1])
        assert (fatal["level"], fatal["msg"]) == ("fatal", "could not find file '/etc/envoy/ssl/ca.crt'")
        for name in lab.pods():  # no Envoy ever got a certificate
            assert (await admin_json(lab, name, "/certs"))["certificates"] == []
        code, found = await check(lab)
        assert code == 2, found
        crash = found["sds-crashloop-everywhere"]
        assert crash["severity"] == "critical" and "gloo-mtls-certs" in crash["message"]
        assert "ca.crt missing" in found["secret-unreadable"]["message"]
    assert "kubectl create secret tls has no ca.crt" in found["secret-unreadable"]["hint"]
