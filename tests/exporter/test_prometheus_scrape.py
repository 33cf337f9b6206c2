"""A real Prometheus scrapes a real ``gloomon serve`` (its own process) watching the rotating lab, and its
query API shows the rotation: the secret's phase series move through ca-added and leaf-rotated, pods lag
the secret while the kubelet delivers it, and every Envoy's leaf ends on the secret's new certificate.
Each target's series name its proxy (``proxy``, the pod's ``gateway-proxy-id``).

Prometheus is the Debian package (``make test`` installs it): without it this test fails, never skips.
"""

from __future__ import annotations

import os
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

from gloomon.domain.model import Component
from gloomon.lab import RunningLab, start_background

pytestmark = pytest.mark.lab

#: each pod's kubelet takes 2-3 s to deliver a new secret: longer than a poll and a scrape (1 s each),
#: so lag is seen on every rotation phase, as on a real cluster's kubelet sync period (~60 s)
SLOW_KUBELET = (2.0, 3.0)
ROTATION_TIMEOUT = 240.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def lab() -> Iterator[RunningLab]:
    running = start_background("rotating", kubelet_delay=SLOW_KUBELET)
    yield running
    running.stop()


@pytest.fixture
def gloomon_serve(lab: RunningLab, tmp_path: Path) -> Iterator[str]:
    """``gloomon serve`` on the lab, polling every second; yields its ``host:port``."""
    command = [
        sys.executable, "-m", "gloomon", "serve", "--kubeconfig", str(lab.kubeconfig_path),
        "--context", lab.context, "-n", lab.namespace, "--interval", "1s", "--listen", "127.0.0.1:0",
    ]  # fmt: skip
    stderr = (tmp_path / "serve.stderr").open("w+")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
    try:
        address = _wait_for_line(stderr, process, re.compile(r"serving http://([\d.:]+)/metrics"))
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
        stderr.close()


def _wait_for_line(stream: Any, process: subprocess.Popen[str], pattern: re.Pattern[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stream.seek(0)
        match = pattern.search(stream.read())
        if match:
            return match.group(1)
        assert process.poll() is None, f"gloomon serve exited {process.returncode}"
        time.sleep(0.1)
    raise AssertionError("gloomon serve did not say where it listens")


@pytest.fixture
def prometheus(gloomon_serve: str, tmp_path: Path) -> Iterator[str]:
    """A Prometheus of its own (loopback port, temporary storage) scraping gloomon every second."""
    binary = shutil.which("prometheus")
    assert binary is not None, "prometheus is not installed: run `make test-deps` (Debian package prometheus)"
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: gloomon\n    static_configs: [{{targets: ['{gloomon_serve}']}}]\n"
    )
    address = f"127.0.0.1:{_free_port()}"
    command = [
        binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address={address}", "--storage.tsdb.retention.time=1h",
    ]  # fmt: skip
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=log, cwd=tmp_path, env={**os.environ})
    try:
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
async def query(prometheus: str) -> AsyncIterator[Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:

        async def run(promql: str) -> list[dict[str, Any]]:
            """The instant vector of ``promql`` (empty while Prometheus is not up yet)."""
            try:
                async with client.get(f"http://{prometheus}/api/v1/query", params={"query": promql}) as r:
                    if r.status != 200:
                        return []
                    return list((await r.json())["data"]["result"])
            except aiohttp.ClientConnectionError:
                return []

        yield run


def _labels(vector: list[dict[str, Any]], name: str) -> set[str]:
    return {item["metric"].get(name, "") for item in vector}


async def test_prometheus_sees_phase_lag_and_expiry_series_through_a_rotation(
    query: Any, eventually: Any, lab: RunningLab
) -> None:
    up = await eventually(
        lambda: query('up{job="gloomon"} == 1'), timeout=60, interval=0.5, what="Prometheus scraping gloomon"
    )
    assert up
    targets = await eventually(
        lambda: query("gloomon_target_up == 1"), lambda v: len(v) >= 4, timeout=60, what="targets up"
    )
    pods = _labels(targets, "pod")
    # each target's series carry its proxy's name, the pod's gateway-proxy-id; gloo names none
    proxies = {item["metric"]["pod"]: item["metric"].get("proxy", "") for item in targets}
    store = lab.lab.store.pods
    assert proxies == {pod: store[pod].labels.get("gateway-proxy-id", "") for pod in pods}, proxies
    assert {proxies[pod] for pod in pods if store[pod].component is Component.GATEWAY_PROXY} == {
        "gateway-proxy"
    }
    first_leaf = await eventually(
        lambda: query('x509_cert_not_after{secret_name="gloo-mtls-certs",secret_key="tls.crt"}'),
        timeout=30,
        what="the secret's leaf",
    )
    (old_serial,) = _labels(first_leaf, "serial_number")

    for phase in ("ca-added", "leaf-rotated"):
        await eventually(
            lambda phase=phase: query(f'gloomon_rotation_phase{{scope="secret",phase="{phase}"}} == 1'),
            timeout=ROTATION_TIMEOUT,
            interval=0.5,
            what=f"the secret in phase {phase}",
        )
    lagged = await eventually(
        lambda: query("max_over_time(gloomon_target_lag_seconds[10m]) > 0"),
        timeout=ROTATION_TIMEOUT,
        interval=0.5,
        what="a pod lagging the secret",
    )
    assert _labels(lagged, "pod") <= pods

    new_leaf = await eventually(
        lambda: query(
            f'x509_cert_not_after{{secret_name="gloo-mtls-certs",secret_key="tls.crt",serial_number!="{old_serial}"}}'
        ),
        timeout=ROTATION_TIMEOUT,
        interval=0.5,
        what="the secret's new leaf",
    )
    new_not_after = float(new_leaf[0]["value"][1])
    # every Envoy ends up holding the new leaf: its expiry series says the secret's notAfter, in sync
    await eventually(
        lambda: query(
            f'gloomon_cert_not_after_timestamp_seconds{{source="envoy",role="leaf"}} == {new_not_after}'
        ),
        lambda vector: _labels(vector, "pod") >= pods,
        timeout=ROTATION_TIMEOUT,
        interval=0.5,
        what="every Envoy holding the new leaf",
    )
    await eventually(
        lambda: query("gloomon_target_in_sync == 1"),
        lambda vector: _labels(vector, "pod") >= pods,
        timeout=ROTATION_TIMEOUT,
        interval=0.5,
        what="every target in sync after the rotation",
    )
