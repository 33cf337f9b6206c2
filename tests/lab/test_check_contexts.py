"""``gloomon check`` against fleets of labs: two independent healthy clusters and healthy split planes
exit 0 with no finding at warning or above; a data-plane copy gone is its own finding, in its context;
a context whose API is down degrades that context only; an edge client's hint runs each command in the
cluster it is about."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gloomon import report
from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.model import Component, Plane, Severity
from gloomon.lab import LabFleet
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession
from tests.conftest import QUICK_KUBELET, Eventually
from tests.lab.test_fleet_two_clusters import run_kubectl

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def two() -> AsyncIterator[LabFleet]:
    async with LabFleet("two-clusters", kubelet_delay=QUICK_KUBELET) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def split() -> AsyncIterator[LabFleet]:
    async with LabFleet("split-planes", kubelet_delay=QUICK_KUBELET, sync_delay=0.5) as running:
        yield running


async def run_check(fleet: LabFleet) -> tuple[int, dict[str, Any]]:
    """The real command, ``--context`` per cluster, in a subprocess (the labs keep serving meanwhile)."""
    contexts = [arg for context in fleet.contexts for arg in ("--context", context)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "gloomon", "check", "--kubeconfig", str(fleet.kubeconfig_path), *contexts, "-o", "json"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert out, err.decode()
    return process.returncode or 0, json.loads(out)


def _loud(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (f["severity"], f["code"], f["message"])
        for f in doc["findings"]
        if f["severity"] in ("warning", "critical")
    ]


async def _check_in_process(fleet: LabFleet) -> tuple[int, Any]:
    settings = Settings(
        kubeconfig=str(fleet.kubeconfig_path), contexts=fleet.contexts, namespace=fleet.namespace
    )
    async with MonitorSession(settings) as session:
        snapshot = await session.poll_once()
    return report.exit_code(snapshot, "warning"), snapshot


async def test_two_healthy_clusters_check_ok(two: LabFleet) -> None:
    code, doc = await run_check(two)
    assert (code, _loud(doc)) == (0, [])
    assert {t["context"] for t in doc["targets"]} == set(two.contexts)
    assert [p["plane"] for p in doc["planes"]] == ["management", "management"]
    # each cluster's own certgen CronJob, with its context
    assert [(c["context"], c["name"]) for c in doc["cronjobs"]] == [
        (context, "gloo-mtls-certgen-cronjob") for context in two.contexts
    ]


async def test_healthy_split_planes_check_ok(split: LabFleet) -> None:
    """In process (the command's own exit code and document), to keep the lab tests short."""
    code, snapshot = await _check_in_process(split)
    doc = snapshot_to_dict(snapshot)
    assert (code, _loud(doc)) == (0, [])
    assert {p["context"]: p["plane"] for p in doc["planes"]} == {"mgmt": "management", "edge": "data"}
    assert [c["context"] for c in doc["cronjobs"]] == ["mgmt"]  # certgen runs only where gloo runs
    copy = next(s for s in doc["secrets"] if s["context"] == "edge")
    assert copy["copied_by"] and copy["copied_by"].startswith("kubed")


async def test_a_removed_copy_is_its_own_finding_in_the_edge(split: LabFleet) -> None:
    sync = split.syncs["edge"]
    sync.remove_copy()
    try:
        code, snapshot = await _check_in_process(split)
    finally:
        sync.restore_copy()
    loud = [(f.code, f.context) for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]
    assert ("secret-copy-missing", "edge") in loud and "secret-missing" not in {c for c, _ in loud}
    assert code == 2
    assert snapshot.plane_of("edge") is Plane.DATA


async def test_a_context_down_degrades_only_itself(two: LabFleet) -> None:
    west = two.lab("west")
    await west.api_outage(10)  # connection refused until it ends, by itself or below
    try:
        code, snapshot = await _check_in_process(two)
    finally:  # the fleet is shared: the next test must find west's API up
        assert west.api is not None
        await west.api.end_outage()
    loud = [(f.code, f.context) for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]
    assert loud and all(context == "west" for _, context in loud), loud
    assert code == 1  # a warning: east was observed, so the check ran (not 3)
    assert [t.reachable for t in snapshot.targets if t.ref.context == "east"] == [True] * 5


async def test_an_edge_proxys_link_hint_runs_each_command_in_its_cluster(
    split: LabFleet, kubectl: Path, eventually: Eventually
) -> None:
    """gloo's process down in mgmt: the edge gateway-proxies' ADS streams close. Their finding's hint
    looks at gloo in mgmt and at the proxy in edge; each command works there, with the real kubectl."""
    mgmt = split.lab("mgmt")
    settings = Settings(
        kubeconfig=str(split.kubeconfig_path), contexts=split.contexts, namespace=split.namespace
    )
    await mgmt.gloo_process_down(True)
    try:
        async with MonitorSession(settings) as session:
            snapshot = await eventually(
                session.poll_once,
                lambda s: any(f.code == "xds-disconnected" and f.context == "edge" for f in s.findings),
                timeout=60,
                what="an edge gateway-proxy's xds-disconnected",
            )
    finally:
        await mgmt.gloo_process_down(False)
    finding = next(f for f in snapshot.findings if f.code == "xds-disconnected" and f.context == "edge")
    assert finding.pod in split.lab("edge").pods()
    commands = [c.strip() for c in re.findall(r"kubectl [^;|]*", finding.hint)]
    assert [c for c in commands if "gloo=gloo" in c] == [
        f"kubectl --context mgmt -n {split.namespace} get pods -l gloo=gloo"
    ]
    own = [c for c in commands if finding.pod in c]
    assert own and all(c.startswith("kubectl --context edge ") for c in own), commands
    for command in commands:
        code, out, err = await run_kubectl(kubectl, split.kubeconfig_path, *shlex.split(command)[1:])
        assert code == 0, (command, err)
        if "gloo=gloo" in command:
            assert mgmt.pods(Component.GLOO)[0] in out, out


async def test_each_log_line_names_the_context_of_the_pod_that_wrote_it(two: LabFleet) -> None:
    """The clusters' pods follow the same naming: only the context says whose sds wrote a line."""
    settings = Settings(kubeconfig=str(two.kubeconfig_path), contexts=two.contexts, namespace=two.namespace)
    async with MonitorSession(settings) as session:
        snapshot = await session.poll_once()
        pods = {(t.ref.context, t.ref.pod) for t in snapshot.targets}
        seen: set[tuple[str | None, str]] = set()
        async with asyncio.timeout(60):
            async for batch in session.log_batches():
                seen |= {(e.context, e.pod) for e in batch.events if e.component is not None}
                if {context for context, _ in seen} >= set(two.contexts):
                    break
    assert seen and seen <= pods, seen - pods
