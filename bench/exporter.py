"""Benchmark (not a test): ``gloomon serve``'s scrape latency and memory with N replayed targets, as JSON.

The lab's real Envoys are recorded once (as ``bench/poll_cycle.py`` does), then
``bench/poll_replay_server.py`` replays them on N loopback ports (another process). ``gloomon serve``
runs as a user would run it, in its own process, with one ``--target`` per port and ``--interval 5s``;
after its first polls, ``--scrapes`` GETs of ``/metrics`` (alternating text and OpenMetrics, as
Prometheus would, over one keep-alive connection) are spread over three poll cycles, so scrapes that land
during a poll are counted too.

Reports scrape latency p50/p95/max in ms, the exposition's size and series count, and the serve process's
RSS (``VmRSS``, and its peak ``VmHWM``) in MB. Targets: p95 scrape ≤ 50 ms, RSS ≤ 150 MB at N = 200.
Usage: ``python bench/exporter.py [--targets 200] [--scrapes 300] [--captures FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from gloomon.domain.model import Component

_ACCEPTS = ("text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0")


def rss_mb(pid: int) -> dict[str, float]:
    """``VmRSS`` and ``VmHWM`` (peak) of ``pid`` in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {key: round(int(fields[key].split()[0]) / 1024, 1) for key in ("VmRSS", "VmHWM")}


def record_lab() -> list[dict[str, Any]]:
    """The lab's Envoys' admin responses (``bench/poll_cycle.py``'s recorder)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import poll_cycle

    from gloomon.settings import Settings
    from gloomon.sources.session import MonitorSession

    async def run(kubeconfig: Path, context: str) -> list[dict[str, Any]]:
        settings = Settings(kubeconfig=str(kubeconfig), contexts=(context,), interval=5.0)
        async with MonitorSession(settings) as session:
            await poll_cycle.wait_for_stats_flush(session)
            urls = [(ref.component, ref.admin_url) for ref in session.targets() if ref.admin_url]
            return await poll_cycle.record([(c, u) for c, u in urls if u])

    lab, kubeconfig, context = poll_cycle.start_lab("healthy")
    try:
        return asyncio.run(run(kubeconfig, context))
    finally:
        lab.terminate()
        lab.wait(timeout=30)


def start_serve(ports: list[int], log: Any) -> tuple[subprocess.Popen[str], str]:
    """``gloomon serve`` polling every replayed port as a ``--target``."""
    components = list(Component)
    args = ["--interval", "5s"]
    for index, port in enumerate(ports):
        args += ["--target", f"{components[index % 4]}.{index}=http://127.0.0.1:{port}"]
    return start_serve_command(args, log)


def start_serve_command(args: list[str], log: Any) -> tuple[subprocess.Popen[str], str]:
    """``gloomon serve ARGS`` on a free loopback port, its stderr to ``log``; returns it and its address."""
    command = [sys.executable, "-m", "gloomon", "serve", "--listen", "127.0.0.1:0", *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, text=True)
    pattern = re.compile(r"serving http://([\d.:]+)/metrics")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log.seek(0)
        match = pattern.search(log.read())
        if match:
            return process, match.group(1)
        if process.poll() is not None:
            raise SystemExit(f"gloomon serve exited {process.returncode}")
        time.sleep(0.1)
    process.kill()
    raise SystemExit("gloomon serve did not say where it listens")


async def scrape(address: str, count: int, polls_first: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # ready, then a few polls so the counters are warm
            async with client.get(f"http://{address}/metrics") as response:
                body = await response.text()
            match = re.search(r"^gloomon_poll_duration_seconds_count (\S+)$", body, re.M)
            if match and float(match.group(1)) >= polls_first:
                break
            await asyncio.sleep(0.5)
        latencies, sizes, series = [], [], 0
        spacing = 5.0 * 3 / count  # spread over three poll cycles
        for index in range(count):
            started = time.perf_counter()
            async with client.get(
                f"http://{address}/metrics", headers={"Accept": _ACCEPTS[index % 2]}
            ) as response:
                data = await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            sizes.append(len(data))
            if index == 0:
                series = sum(1 for line in data.splitlines() if line and not line.startswith(b"#"))
            await asyncio.sleep(spacing)
    ordered = sorted(latencies)
    return {
        "scrapes": count,
        "scrape_ms": {
            "p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max": round(ordered[-1], 2),
        },
        "exposition_bytes": max(sizes),
        "series": series,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200, help="replayed Envoys")
    parser.add_argument("--scrapes", type=int, default=300)
    parser.add_argument("--captures", type=Path, help="replay these recordings (default: record the lab)")
    parser.add_argument("--save-captures", type=Path, help="also write the lab's recordings here")
    args = parser.parse_args()
    recordings = json.loads(args.captures.read_text()) if args.captures else record_lab()
    if args.save_captures is not None:
        args.save_captures.write_text(json.dumps(recordings))
    with tempfile.TemporaryDirectory() as tmp:
        captures = Path(tmp) / "captures.json"
        captures.write_text(json.dumps(recordings))
        replay_server = Path(__file__).with_name("poll_replay_server.py")
        replay = subprocess.Popen(
            [sys.executable, str(replay_server), str(captures), str(args.targets)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert replay.stdout is not None and replay.stdin is not None
        ports = json.loads(replay.stdout.readline())["ports"]
        with (Path(tmp) / "serve.log").open("w+") as log:
            serve, address = start_serve(ports, log)
            try:
                result = asyncio.run(scrape(address, args.scrapes, polls_first=3))
                result["rss_mb"] = rss_mb(serve.pid)
            finally:
                serve.terminate()
                serve.wait(timeout=30)
                replay.stdin.close()
                replay.wait(timeout=30)
    result["meets_scrape_target"] = result["scrape_ms"]["p95"] <= 50
    result["meets_rss_target"] = result["rss_mb"]["VmHWM"] <= 150
    print(
        json.dumps(
            {
                "benchmark": "exporter",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": [round(value, 2) for value in os.getloadavg()],
                "n_targets": args.targets,
                "targets": {"scrape_p95": "<= 50 ms", "rss": "<= 150 MB"},
                "source": "recorded real-Envoy 1.40 responses from the lab, replayed on loopback in "
                "another process; gloomon serve polls them as --target URLs every 5 s",
                **result,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
