"""The alert rules against what ``gloomon serve`` really exports: a real Prometheus loads the generated
rules and scrapes ``gloomon serve`` (its own process) on a faulty lab, and the alerts its expressions
select are pending with the labels the runbooks name (pod, component, serial). ``for:`` windows are
minutes, so the test reads ``ALERTS{alertstate="pending"}``: the expression matched; firing is
promtool's subject (test_alert_rules.py).

Prometheus is the Debian package (``make test`` installs it): without it this test fails, never skips.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gloomon.exporter.rules import RuleOptions, render
from gloomon.lab import RunningLab, start_background

pytestmark = pytest.mark.lab


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_line(path: Path, process: subprocess.Popen[str], pattern: re.Pattern[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = pattern.search(path.read_text(errors="replace"))
        if match:
            return match.group(1)
        assert process.poll() is None, f"exited {process.returncode}: {path.read_text()[-2000:]}"
        time.sleep(0.1)
    raise AssertionError(f"no {pattern.pattern!r} in {path}")


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[RunningLab, str]]:
    """The lab (``scenario`` from the test's parameter), ``gloomon serve`` on it, and a Prometheus
    evaluating the rules (the lag grace lowered to 1 s: the lab's lag is seconds old) every second."""
    binary = shutil.which("prometheus")
    assert binary is not None, "prometheus is not installed: run `make test-deps` (Debian package prometheus)"
    lab = start_background(request.param)
    processes: list[subprocess.Popen[str]] = []
    try:
        serve_log = tmp_path / "serve.log"
        command = [
            sys.executable, "-m", "gloomon", "serve", "--kubeconfig", str(lab.kubeconfig_path),
            "--context", lab.context, "-n", lab.namespace, "--interval", "1s", "--listen", "127.0.0.1:0",
        ]  # fmt: skip
        with serve_log.open("w") as log:
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True))
        serve = _wait_for_line(serve_log, processes[-1], re.compile(r"serving http://([\d.:]+)/metrics"))
        (tmp_path / "rules.yaml").write_text(render(RuleOptions(thresholds={"lag_grace_seconds": 1})))
        (tmp_path / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "rule_files: [rules.yaml]\n"
            "scrape_configs:\n"
            f"  - job_name: gloomon\n    honor_labels: true\n    static_configs: [{{targets: ['{serve}']}}]\n"
        )
        address = f"127.0.0.1:{_free_port()}"
        command = [
            binary, f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address={address}", "--storage.tsdb.retention.time=1h",
        ]  # fmt: skip
        with (tmp_path / "prometheus.log").open("w") as log:
            processes.append(subprocess.Popen(command, stdout=log, stderr=log, cwd=tmp_path, text=True))
        yield lab, address
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        lab.stop()


@pytest.fixture
async def alerts(stack: tuple[RunningLab, str]) -> AsyncIterator[Any]:
    _, prometheus = stack
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def run() -> list[dict[str, str]]:
            """The labels of every pending or firing alert (empty while Prometheus is not up yet)."""
            query = {"query": 'ALERTS{alertstate=~"pending|firing"}'}
            try:
                async with client.get(f"http://{prometheus}/api/v1/query", params=query) as response:
                    if response.status != 200:
                        return []
                    return [item["metric"] for item in (await response.json())["data"]["result"]]
            except aiohttp.ClientConnectionError:
                return []

        yield run


def _has(*wanted: dict[str, str], without: frozenset[str] = frozenset()) -> Any:
    """Every ``wanted`` alert, and none named in ``without``, in one sample of ALERTS.

    ``without`` is part of the wait, not a later assert: with a 1 s scrape interval (and so a 1 s scrape
    timeout) on a loaded machine one slow scrape makes ``up`` 0 and GloomonExporterDown pending for a
    second, which its real ``for: 5m`` ignores; a persistent one never lets the wait end.
    """

    def accept(found: list[dict[str, str]]) -> bool:
        names = {alert["alertname"] for alert in found}
        present = all(any(want.items() <= alert.items() for alert in found) for want in wanted)
        return present and not names & without

    return accept


@pytest.mark.parametrize("stack", ["lagging"], indirect=True)
async def test_a_pod_that_missed_a_rotation_raises_lag_and_peer_alerts_naming_it_and_keeps_its_link(
    alerts: Any, eventually: Any
) -> None:
    found = await eventually(
        alerts,
        _has(
            {"alertname": "GloomonTargetLagging", "severity": "warning", "component": "gateway-proxy"},
            {"alertname": "GloomonPeerUntrusted", "code": "peer-untrusted", "component": "gateway-proxy"},
            {"alertname": "GloomonBundleMismatch", "severity": "warning"},
            # as in production its ADS stream, open since before the rotation, stays up: no link alert
            without=frozenset({"GloomonLeafExpiring", "GloomonExporterDown", "GloomonXdsDisconnected"}),
        ),
        timeout=90,
        interval=0.5,
        what="the lagging pod's alerts",
    )
    lagging = {a["pod"] for a in found if a["alertname"] == "GloomonTargetLagging"}
    assert len(lagging) == 1
    assert all(a["namespace"] == "gloo-system" for a in found if a["alertname"] == "GloomonTargetLagging")


@pytest.mark.parametrize("stack", ["expiring"], indirect=True)
async def test_a_leaf_days_from_expiry_without_a_cronjob_raises_expiry_and_renewal_alerts(
    alerts: Any, eventually: Any, stack: tuple[RunningLab, str]
) -> None:
    found = await eventually(
        alerts,
        _has(
            {"alertname": "GloomonLeafExpiring", "severity": "critical", "role": "leaf"},
            {"alertname": "GloomonLeafExpiring", "severity": "warning", "role": "leaf"},
            {"alertname": "GloomonRenewalDisabled", "code": "renewal-disabled"},
            without=frozenset({"GloomonLeafExpired", "GloomonTargetLagging"}),
        ),
        timeout=90,
        interval=0.5,
        what="the expiring leaf's alerts",
    )
    serials = {a["serial"] for a in found if a["alertname"] == "GloomonLeafExpiring"}
    assert len(serials) == 1  # one alert per certificate, not one per pod holding it
    assert {a["cluster"] for a in found if a["alertname"] == "GloomonLeafExpiring"} == {stack[0].context}
