"""Lab start-up time (start → every pod's Envoy serves certificates) and the lab's memory, as JSON.

Run: ``.venv/bin/python bench/lab_startup.py [--runs N] [--scenario NAME]``. Target: start < 5 s on a
2-core machine. Memory is the resident set of every Envoy plus the Python process running the lab,
measured a few seconds after start (health checks and SDS running).
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

from gloomon.lab import Lab


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
    async with Lab(scenario) as lab:
        startup = time.perf_counter() - started
        await asyncio.sleep(settle)
        envoys = sum(rss_mb(pid) for pid in lab.envoy_pids())
        envoys_pss = sum(pss_mb(pid) for pid in lab.envoy_pids())
        python = rss_mb(os.getpid())
        pods = len(lab.pods())
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
    parser.add_argument("--scenario", default="healthy")
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds after start before measuring memory"
    )
    args = parser.parse_args()
    runs = [await one_run(args.scenario, args.settle) for _ in range(args.runs)]
    startups = [r["startup_s"] for r in runs]
    last = runs[-1]
    memory = {
        "envoys_rss": round(last["envoy_rss_mb"], 1),
        "envoys_pss": round(last["envoy_pss_mb"], 1),
        "python_rss": round(last["python_rss_mb"], 1),
        "total_rss": round(last["envoy_rss_mb"] + last["python_rss_mb"], 1),
        "total_envoys_pss_plus_python": round(last["envoy_pss_mb"] + last["python_rss_mb"], 1),
    }
    result = {
        "benchmark": "lab_startup",
        "scenario": args.scenario,
        "runs": args.runs,
        "startup_s": {
            "min": round(min(startups), 3),
            "median": round(statistics.median(startups), 3),
            "max": round(max(startups), 3),
        },
        "target_s": 5.0,
        "pods": last["pods"],
        "memory_mb": memory,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
