"""``python -m gloomon.lab --scenario NAME``: run a lab until Ctrl-C and say how to reach it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from gloomon.lab.scenarios import SCENARIOS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gloomon.lab", description=__doc__)
    parser.add_argument("--scenario", default="healthy", choices=list(SCENARIOS))
    parser.add_argument("--namespace", default="gloo-system")
    parser.add_argument(
        "--workdir", default=None, help="where pods' files and the kubeconfig go (default: a temp dir)"
    )
    parser.add_argument(
        "--rotation-duration", type=float, default=None, help="seconds; overrides the scenario's"
    )
    return parser


async def _run(args: argparse.Namespace) -> None:
    from gloomon.lab.lab import Lab

    lab = Lab(
        scenario=args.scenario,
        namespace=args.namespace,
        workdir=args.workdir,
        rotation_duration=args.rotation_duration,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with lab:
        scenario = SCENARIOS[args.scenario]
        print(f"gloomon lab up: scenario {scenario.name} — {scenario.summary}")
        print(f"kubeconfig: {lab.kubeconfig_path}")
        print(f"  kubectl --kubeconfig {lab.kubeconfig_path} get pods -n {lab.namespace}")
        print(f"  KUBECONFIG={lab.kubeconfig_path} gloomon")
        print(
            f"faults: POST {lab.api_url}/lab/v1/faults/{{restart-pod,restart-container,cut-forwards,cut-logs,"
            "api-outage,forbid-secrets,rotate} (bearer token from the kubeconfig)"
        )
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("lab stopped.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
