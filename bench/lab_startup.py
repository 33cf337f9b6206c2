"""Lab start-up time (start → every pod's Envoy serves certificates) and the lab's memory, as JSON.

Run: ``.venv/bin/python bench/lab_startup.py [--runs N] [--scenario NAME]...``: one case per scenario
(default: ``healthy``, one cluster, and ``split-planes``, a fleet of two: mgmt's gloo, edge's proxies on
it). Target: start < 5 s on a 2-core machine. Memory is the resident set of every Envoy plus the Python
process running the lab(s), measured a few seconds after start (health checks and SDS running).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gloomon.lab import TOPOLOGY_NAMES, Lab, LabFleet


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: shared pages (the Envoy binary's text) split between the processes."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def one_run(scenario: str, settle: float) -> dict[str, float]:
    started = time.perf_counter()
    running = LabFleet(scenario) if scenario in TOPOLOGY_NAMES else Lab(scenario)
    async with running:
        startup = time.perf_counter() - started
        await asyncio.sleep(settle)
        envoys = sum(rss_mb(pid) for pid in running.envoy_pids())
        envoys_pss = sum(pss_mb(pid) for pid in running.envoy_pids())
        python = rss_mb(os.getpid())
        labs = running.labs.values() if isinstance(running, LabFleet) else [running]
        pods = sum(len(lab.pods()) for lab in labs)
    return {
        "startup_s": startup,
        "envoy_rss_mb": envoys,
        "envoy_pss_mb": envoys_pss,
        "python_rss_mb": python,
        "pods": pods,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--scenario",
        action="append",
        default=None,
        help="repeat for several cases (default: healthy, split-planes)",
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds after start before measuring memory"
    )
    args = parser.parse_args()
    cases = [
        await case(scenario, args.runs, args.settle)
        for scenario in args.scenario or ("healthy", "split-planes")
    ]
    print(json.dumps({"benchmark": "lab_startup", "target_s": 5.0, "cases": cases}, indent=2))


async def case(scenario: str, runs_wanted: int, settle: float) -> dict[str, object]:
    runs = [await one_run(scenario, settle) for _ in range(runs_wanted)]
    startups = [r["startup_s"] for r in runs]
    last = runs[-1]
    memory = {
        "envoys_rss": round(last["envoy_rss_mb"], 1),
        "envoys_pss": round(last["envoy_pss_mb"], 1),
        "python_rss": round(last["python_rss_mb"], 1),
        "total_rss": round(last["envoy_rss_mb"] + last["python_rss_mb"], 1),
        "total_envoys_pss_plus_python": round(last["envoy_pss_mb"] + last["python_rss_mb"], 1),
    }
    return {
        "scenario": scenario,
        "runs": runs_wanted,
        "startup_s": {
            "min": round(min(startups), 3),
            "median": round(statistics.median(startups), 3),
            "max": round(max(startups), 3),
        },
        "pods": last["pods"],
        "memory_mb": memory,
    }


if __name__ == "__main__":
    asyncio.run(main())
