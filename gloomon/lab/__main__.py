"""``python -m gloomon.lab --scenario NAME``: run a lab until Ctrl-C and say how to reach it.

A lab that cannot start (no ``lab`` extra, no free port, an Envoy that fails) is one line on stderr and
exit 3, as ``gloomon check --demo`` says it; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from gloomon.lab.scenarios import SCENARIOS

#: exit code when the lab could not start (``gloomon``'s "could not run")
EXIT_ERROR = 3
#: every fault ``POST /lab/v1/faults/<name>`` takes, with its JSON body
FAULTS = (
    ("restart-pod", '{"pod": "<pod>"}'),
    ("restart-container", '{"pod": "<pod>"}'),
    ("freeze-pod", '{"pod": "<pod>", "enabled": true}'),
    ("cut-forwards", ""),
    ("cut-logs", ""),
    ("api-outage", '{"seconds": 20}'),
    ("forbid-secrets", '{"enabled": true}'),
    ("forbid-webhooks", '{"enabled": true}'),
    ("renew-webhook", ""),
    ("rotate", ""),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gloomon.lab",
        description="Run the embedded lab (real Envoys behind a Kubernetes API on loopback) until Ctrl-C; "
        "it prints its kubeconfig and the fault endpoints.",
    )
    parser.add_argument(
        "--scenario",
        default="healthy",
        choices=list(SCENARIOS),
        help="what the lab shows (default: healthy; see the README's scenario table)",
    )
    parser.add_argument(
        "--namespace", default="gloo-system", help="namespace of the pods (default: gloo-system)"
    )
    parser.add_argument(
        "--workdir", default=None, help="where pods' files and the kubeconfig go (default: a temp dir)"
    )
    parser.add_argument(
        "--rotation-duration", type=float, default=None, metavar="SECONDS", help="overrides the scenario's"
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
        print(f"faults: POST {lab.api_url}/lab/v1/faults/<fault> (bearer token from the kubeconfig):")
        for fault, body in FAULTS:
            print(f"  {fault:<18} {body or '(no body)'}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("lab stopped.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(args))
    except Exception as exc:  # no lab extra, ports, an Envoy that fails: one line, like check --demo
        from gloomon.lab.pods.process import EnvoyUnavailableError

        reason = str(exc) if isinstance(exc, EnvoyUnavailableError) else f"the lab could not start: {exc}"
        print(f"python -m gloomon.lab: {reason}", file=sys.stderr)
        return EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
