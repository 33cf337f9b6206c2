"""Soak (not a test, not in CI): ``gloomon serve`` on the ``rotating`` lab for ``--minutes``, as JSON.

The lab runs in its own process (``python -m gloomon.lab``), so the RSS measured is gloomon's alone.
``gloomon serve`` polls it every ``--interval``; every ``--sample`` seconds the soak scrapes ``/metrics``
(as Prometheus would) and reads the serve process's ``VmRSS``. The rotating lab rotates every two
minutes, so the series count moves with the phases (a second CA in every bundle, then not): growth is
judged over whole rotations, comparing samples taken in the same phase.

Reports RSS at start (after a one-minute warm-up), end and peak, and its growth in %; series count
(first, last, min, max, and in the steady phase after the warm-up, with the series that came and went);
polls made against polls expected (``elapsed / interval``) and the missed ones.
Targets over 30 minutes: RSS growth < 10 %, series count flat, 0 missed polls.
Usage: ``python bench/soak.py --minutes 30 [--interval 5s] [--sample 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).parent))

from exporter import rss_mb, start_serve_command
from poll_cycle import start_lab

WARMUP_SECONDS = 60.0


def _series(body: str) -> list[str]:
    """Each series of an exposition: its name and labels, without the value."""
    return [line.rsplit(" ", 1)[0] for line in body.splitlines() if line and not line.startswith("#")]


def _value(body: str, name: str) -> float | None:
    match = re.search(rf"^{name} (\S+)$", body, re.M)
    return float(match.group(1)) if match else None


def _phase(body: str) -> str:
    match = re.search(
        r'^gloomon_rotation_phase\{[^}]*phase="([^"]+)"[^}]*scope="secret"[^}]*\} 1\.0$', body, re.M
    )
    return match.group(1) if match else "unknown"


async def soak(address: str, pid: int, minutes: float, sample: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            async with client.get(f"http://{address}/readyz") as response:
                if response.status == 200:
                    break
            await asyncio.sleep(0.5)
        started = time.monotonic()
        end = started + minutes * 60
        while time.monotonic() < end:
            async with client.get(f"http://{address}/metrics") as response:
                body = await response.text()
            rows.append(
                {
                    "t": round(time.monotonic() - started, 1),
                    "rss_mb": rss_mb(pid)["VmRSS"],
                    "series": len(series := _series(body)),
                    "names": series,
                    "polls": _value(body, "gloomon_poll_duration_seconds_count") or 0.0,
                    "phase": _phase(body),
                }
            )
            await asyncio.sleep(sample)
    return {"elapsed_seconds": round(time.monotonic() - started, 1), "samples": rows}


def summarise(run: dict[str, Any], interval: float) -> dict[str, Any]:
    rows = run["samples"]
    warm = [row for row in rows if row["t"] >= WARMUP_SECONDS] or rows
    rss_start, rss_end = warm[0]["rss_mb"], warm[-1]["rss_mb"]
    # after the warm-up (the first rotation adds certgen's last success) and in the same phase
    steady = [row for row in warm if row["phase"] == "steady"] or warm
    first_names, last_names = set(steady[0]["names"]), set(steady[-1]["names"])
    polls = rows[-1]["polls"] - rows[0]["polls"]
    expected = int((rows[-1]["t"] - rows[0]["t"]) / interval)
    return {
        "elapsed_seconds": run["elapsed_seconds"],
        "rss_mb": {
            "after_warmup": rss_start,
            "end": rss_end,
            "peak": max(row["rss_mb"] for row in rows),
            "growth_percent": round(100 * (rss_end - rss_start) / rss_start, 1),
        },
        "series": {
            "first": rows[0]["series"],
            "last": rows[-1]["series"],
            "min": min(row["series"] for row in rows),
            "max": max(row["series"] for row in rows),
            "steady_phase_first": steady[0]["series"],
            "steady_phase_last": steady[-1]["series"],
            # a rotation renames series (new serials), a leak only adds: both listed, a few of each
            "steady_added": sorted(last_names - first_names)[:5],
            "steady_removed": sorted(first_names - last_names)[:5],
        },
        "polls": {"made": int(polls), "expected": expected, "missed": max(0, expected - int(polls))},
        "phases_seen": sorted({row["phase"] for row in rows}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=5.0, help="gloomon serve's --interval, seconds")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--samples-out", type=Path, help="also write every sample here (JSON)")
    args = parser.parse_args()
    lab, kubeconfig, context = start_lab("rotating")
    try:
        with tempfile.TemporaryDirectory() as tmp, (Path(tmp) / "serve.log").open("w+") as log:
            command = [
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                context,
                "--interval",
                f"{args.interval}s",
            ]
            serve, address = start_serve_command(command, log)
            try:
                run = asyncio.run(soak(address, serve.pid, args.minutes, args.sample))
            finally:
                serve.terminate()
                serve.wait(timeout=30)
    finally:
        lab.terminate()
        lab.wait(timeout=30)
    if args.samples_out is not None:
        args.samples_out.write_text(json.dumps([{**row, "names": None} for row in run["samples"]]))
    summary = summarise(run, args.interval)
    summary["meets_targets"] = {
        "rss_growth_under_10_percent": summary["rss_mb"]["growth_percent"] < 10,
        "series_flat": summary["series"]["steady_phase_first"] == summary["series"]["steady_phase_last"],
        "no_missed_polls": summary["polls"]["missed"] == 0,
    }
    print(
        json.dumps(
            {
                "benchmark": "soak",
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average": [round(value, 2) for value in os.getloadavg()],
                "scenario": "rotating (a rotation every 2 minutes, rotationDuration 20 s)",
                "minutes": args.minutes,
                "interval_seconds": args.interval,
                **summary,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
