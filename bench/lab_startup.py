"""Lab start-up time (start → every pod's Envoy serves certificates over gRPC SDS and every gateway-proxy
holds its ADS stream to gloo, ``control_plane.connected_state`` 1) and the lab's memory, as JSON.

Run: ``.venv/bin/python bench/lab_startup.py [--runs N] [--scenario NAME]...``: one case per scenario
(default: ``healthy``, one cluster, and ``split-planes``, a fleet of two: mgmt's gloo, edge's proxies on
it). Target: start < 5 s on a 2-core machine. Memory is the resident set of every Envoy plus the Python
process running the lab(s) (RSS and PSS), measured a few seconds after start (SDS, ADS and extauth's and
rate-limit's streams running). Each run re-checks, after the start, that every gateway-proxy is
ADS-connected (``ads_connected``).
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
        labs = running.labs.values() if isinstance(running, LabFleet) else [running]
        connected = await ads_connected(list(labs))
        await asyncio.sleep(settle)
        envoys = sum(rss_mb(pid) for pid in running.envoy_pids())
        envoys_pss = sum(pss_mb(pid) for pid in running.envoy_pids())
        python = rss_mb(os.getpid())
        python_pss = pss_mb(os.getpid())
        pods = sum(len(lab.pods()) for lab in labs)
    return {
        "startup_s": startup,
        "envoy_rss_mb": envoys,
        "envoy_pss_mb": envoys_pss,
        "python_rss_mb": python,
        "python_pss_mb": python_pss,
        "pods": pods,
        "ads_connected": connected,
    }


async def ads_connected(labs: list[Lab]) -> bool:
    """Every gateway-proxy's ``control_plane.connected_state`` is 1 (its ADS stream to gloo is open)."""
    import aiohttp

    from gloomon.domain.model import Component

    async with aiohttp.ClientSession() as session:
        for lab in labs:
            for pod in lab.pods(Component.GATEWAY_PROXY):
                url = lab.admin_url(pod) + "/stats?filter=^control_plane\\.connected_state$"
                async with session.get(url) as resp:
                    if (await resp.text()).strip() != "control_plane.connected_state: 1":
                        return False
    return True


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
        "python_pss": round(last["python_pss_mb"], 1),
        "total_rss": round(last["envoy_rss_mb"] + last["python_rss_mb"], 1),
        "total_envoys_pss_plus_python": round(last["envoy_pss_mb"] + last["python_rss_mb"], 1),
        "total_pss": round(last["envoy_pss_mb"] + last["python_pss_mb"], 1),
    }
    return {
        "scenario": scenario,
        "runs": runs_wanted,
        "ads_connected": all(r["ads_connected"] for r in runs),
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
