"""`gloomon check` end to end: the real command, against the lab's real Envoys and Kubernetes API."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from gloomon.lab import Lab

pytestmark = pytest.mark.lab


async def gloomon_check(*args: str, timeout: float = 120) -> tuple[int, str, str]:
    """Run `python -m gloomon check ARGS` without blocking the loop that serves the lab."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gloomon",
        "check",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def codes(report: dict) -> set[str]:
    return {finding["code"] for finding in report["findings"]}


def assert_no_key_material(text: str) -> None:
    assert "PRIVATE KEY" not in text
    assert "tls.key" not in text.replace("tls.key is dropped", "")


# ---------------------------------------------------------------------------------------------------
# The session's healthy lab for the tests that only read it; the faults get a lab of their own.


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def faulted_lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy") as lab:
        yield lab


def lab_args(lab: Lab) -> list[str]:
    return ["--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "-n", lab.namespace]


@pytest.mark.asyncio(loop_scope="module")
async def test_healthy_lab_is_ok_and_complete(healthy_lab: Lab):
    code, out, err = await gloomon_check(*lab_args(healthy_lab), "-o", "json")
    report = json.loads(out)
    assert code == 0, (report["findings"], err)
    assert report["schema"] == 1
    assert report["status"] in ("ok",)
    assert report["secret"]["phase"] == "steady"
    assert len(report["secret"]["bundle"]) == 1
    components = sorted(target["component"] for target in report["targets"])
    assert components == ["extauth", "gateway-proxy", "gateway-proxy", "gloo", "rate-limit"]
    for target in report["targets"]:
        assert target["reachable"], target
        assert target["phase"] == "steady", target
        assert target["in_sync_with_secret"] is True, target
        assert target["leaf"]["serial"] == report["secret"]["leaf"]["serial"]
        assert target["leaf_signed_by"] == 0
        assert target["envoy_version"].startswith("1.")
        assert target["admin_url"].startswith("http://127.0.0.1:")
        if target["component"] == "gateway-proxy":  # its link seen working (ADS or health checks)
            assert target["xds"]["state"] == "connected", target["xds"]
    assert_no_key_material(out)


@pytest.mark.asyncio(loop_scope="module")
async def test_table_report_fits_100_columns(healthy_lab: Lab):
    code, out, _ = await gloomon_check(*lab_args(healthy_lab))
    assert code == 0
    assert "Status: OK" in out
    assert max(len(line) for line in out.splitlines()) <= 100
    assert "\x1b[" not in out  # NO_COLOR and not a terminal


@pytest.mark.asyncio(loop_scope="module")
async def test_yaml_report(healthy_lab: Lab):
    import yaml

    code, out, _ = await gloomon_check(*lab_args(healthy_lab), "-o", "yaml")
    assert code == 0
    assert yaml.safe_load(out)["schema"] == 1


@pytest.mark.asyncio(loop_scope="module")
async def test_direct_targets_need_no_kubernetes(healthy_lab: Lab):
    pod = healthy_lab.pods()[0]
    gateway = healthy_lab.pods(component=None)
    targets = []
    for name in gateway:
        component = next(c for c in ("gateway-proxy", "rate-limit", "extauth", "gloo") if name.startswith(c))
        targets += ["--target", f"{component}.{name}={healthy_lab.admin_url(name)}"]
    code, out, err = await gloomon_check(*targets, "-o", "json")
    report = json.loads(out)
    assert report["secret"] is None
    assert len(report["targets"]) == len(gateway)
    assert all(target["reachable"] for target in report["targets"]), report["targets"]
    assert all(target["phase"] == "steady" for target in report["targets"])
    assert code == 0, (report["findings"], err, pod)


@pytest.mark.asyncio(loop_scope="module")
async def test_forbidden_secret_is_a_finding_not_a_crash(faulted_lab: Lab):
    faulted_lab.forbid_secrets(True)
    try:
        code, out, err = await gloomon_check(*lab_args(faulted_lab), "-o", "json")
    finally:
        faulted_lab.forbid_secrets(False)
    report = json.loads(out)
    assert "secret-forbidden" in codes(report), report["findings"]
    assert code in (1, 2)
    assert "Traceback" not in err
    # the Envoys still tell what they hold
    assert all(target["phase"] == "steady" for target in report["targets"])


async def api_answers(lab: Lab) -> bool:
    host, port = lab.api_url.removeprefix("https://").rsplit(":", 1)
    try:
        _, writer = await asyncio.open_connection(host, int(port))
    except OSError:
        return False
    writer.close()
    return True


@pytest.mark.asyncio(loop_scope="module")
async def test_api_outage_exits_3(faulted_lab: Lab):
    # The outage lasts until check is done: a fixed one can end before a slow check's first request.
    await faulted_lab.api_outage(600)
    try:
        code, out, err = await gloomon_check(*lab_args(faulted_lab), "-o", "json", timeout=60)
    finally:
        assert faulted_lab.api is not None
        await faulted_lab.api.end_outage()
    await faulted_lab.wait_for(lambda: api_answers(faulted_lab), timeout=30)
    assert code == 3, (out, err)
    assert "cannot reach the Kubernetes API" in err
    assert "Traceback" not in err


@pytest.mark.asyncio(loop_scope="module")
async def test_missing_namespace_exits_3(healthy_lab: Lab):
    code, _out, err = await gloomon_check(
        "--kubeconfig", str(healthy_lab.kubeconfig_path), "-n", "no-such-namespace"
    )
    assert code == 3
    assert "no-such-namespace" in err
    assert "Traceback" not in err


@pytest.mark.asyncio(loop_scope="module")
async def test_bad_kubeconfig_exits_3(tmp_path):
    broken = tmp_path / "kubeconfig"
    broken.write_text("this: [is not a kubeconfig")
    code, _, err = await gloomon_check("--kubeconfig", str(broken))
    assert code == 3
    assert "kubeconfig" in err.lower()
    assert "Traceback" not in err
    code, _, err = await gloomon_check("--kubeconfig", str(tmp_path / "absent"))
    assert code == 3
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------------
# Each scenario through the user's own path: `gloomon check --demo --scenario NAME -o json`.


async def demo_check(scenario: str) -> tuple[int, dict]:
    code, out, err = await gloomon_check("--demo", "--scenario", scenario, "-o", "json", timeout=180)
    assert "Traceback" not in err
    assert out.strip(), err
    return code, json.loads(out)


async def test_demo_expiring_is_critical():
    code, report = await demo_check("expiring")
    assert "leaf-expiring" in codes(report)
    assert code == 2
    assert report["status"] == "critical"


async def test_demo_untrusted_shows_real_handshake_failures():
    code, report = await demo_check("untrusted")
    found = codes(report)
    assert found & {"leaf-untrusted", "bundle-mismatch"}, found
    assert code == 2


async def test_demo_sds_late_says_no_certificate_was_delivered():
    # checked right after the start: rate-limit's sds comes up 16 s late (Envoy's initial fetch times out)
    code, report = await demo_check("sds-late")
    assert "sds-not-delivered" in codes(report), report["findings"]
    assert code >= 1
    starved = [target for target in report["targets"] if target["leaf"] is None]
    assert len(starved) == 1


async def test_demo_stalled_rotation():
    code, report = await demo_check("stalled")
    assert report["secret"]["phase"] == "stalled"
    assert "rotation-stalled" in codes(report)
    assert code >= 1


async def test_demo_lagging_pod_serves_the_old_certificate():
    _code, report = await demo_check("lagging")
    lagging = [target for target in report["targets"] if target["in_sync_with_secret"] is False]
    assert len(lagging) == 1, report["targets"]
    assert lagging[0]["leaf"]["serial"] != report["secret"]["leaf"]["serial"] or (
        [ca["sha256"] for ca in lagging[0]["bundle"]] != [ca["sha256"] for ca in report["secret"]["bundle"]]
    )
