"""``python -m gloomon.lab --scenario NAME``: run a lab (or a fleet of labs) until Ctrl-C and say how to
reach it. ``--context NAME`` names a single lab's kubeconfig context; a fleet scenario (``two-clusters``,
``split-planes``) starts several clusters behind one kubeconfig with a context each.

A lab that cannot start (no ``lab`` extra, no free port, an Envoy that fails) is one line on stderr and
exit 3, as ``gloomon check --demo`` says it; never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING

from gloomon.lab.scenarios import SCENARIOS
from gloomon.lab.topologies import TOPOLOGIES

if TYPE_CHECKING:
    from gloomon.lab.lab import Lab

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
    ("gloo-process-down", '{"enabled": true}'),
)
#: the fault a lab with ``--user-https`` adds (``scanner.py``)
USER_TLS_FAULTS = (("scan", '{"sweeps": 3}'),)
#: the faults on a synced copy of the secret: an edge cluster's (its release namespace's), or with
#: ``"namespace"`` the copy in a proxy's namespace (``--variety``; forbid-secrets takes one too)
SYNC_FAULTS = (
    ("sync-lag", '{"seconds": 90}'),
    ("freeze-sync", '{"enabled": true}'),
    ("remove-copy", '{"enabled": true}'),
)


def _who_copies(lab: Lab) -> str:
    """Who makes each copy of the secret: gloo's Gateway deployer, kubed."""
    rendered = [
        f"gloo's Gateway deployer renders {ns}/gloo-mtls-certs for {d.owner}"
        for ns, d in lab.deployers.items()
    ]
    synced = ", ".join(f"{ns}/gloo-mtls-certs" for ns in sorted(lab.syncs))
    copied = [f"kubed copies {lab.namespace}'s secret to {synced}"] if synced else []
    return "; ".join(rendered + copied)


def _in_namespace(body: str, namespace: str) -> str:
    """A sync fault's body, naming the copy in ``namespace``."""
    return body.removesuffix("}") + f', "namespace": "{namespace}"}}'


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gloomon.lab",
        description="Run the embedded lab (real Envoys behind a Kubernetes API on loopback) until Ctrl-C; "
        "it prints its kubeconfig and the fault endpoints.",
    )
    parser.add_argument(
        "--scenario",
        default="healthy",
        choices=[*SCENARIOS, *TOPOLOGIES],
        help="what the lab shows (default: healthy; see the README's scenario table); "
        f"{' and '.join(TOPOLOGIES)} start several clusters",
    )
    parser.add_argument(
        "--context",
        default=None,
        help="the kubeconfig context (and cluster) name of a single lab (default: gloomon-lab)",
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
    parser.add_argument(
        "--user-https",
        action="store_true",
        help="the first gateway-proxy also serves the user's own TLS (8443, mTLS on 8444, a TLS Upstream); "
        "fault scan sends it scanner noise",
    )
    parser.add_argument(
        "--variety",
        action="store_true",
        help="also Gloo's proxy variety: public-gw (an extraContainer first, an extauth sidecar), its "
        "dataplanePerProxy extauth-public-gw and rate-limit-public-gw, a kube-gateway proxy in namespace "
        "apps (its Gateway's) with kubed's copy of gloo-mtls-certs there",
    )
    parser.add_argument(
        "--public-gw-namespace",
        default=None,
        metavar="NS",
        help="with --variety: run public-gw in NS (gatewayProxies.publicGw.namespace), with a copy of the "
        "secret there too (default: the release namespace)",
    )
    return parser


async def _run(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.scenario in TOPOLOGIES:
        await _run_fleet(args, stop)
        return
    from gloomon.lab.lab import CONTEXT, Lab

    lab = Lab(
        scenario=args.scenario,
        namespace=args.namespace,
        workdir=args.workdir,
        rotation_duration=args.rotation_duration,
        context=args.context or CONTEXT,
        user_https=args.user_https,
        variety=args.variety,
        public_gw_namespace=args.public_gw_namespace,
    )
    async with lab:
        scenario = SCENARIOS[args.scenario]
        print(f"gloomon lab up: scenario {scenario.name} — {scenario.summary}")
        print(f"kubeconfig: {lab.kubeconfig_path}")
        print(f"context: {lab.context}")
        namespaces = [lab.namespace, *lab.copy_namespaces]  # the release namespace, then the proxies'
        if len(namespaces) > 1:
            print(f"namespaces: {', '.join(namespaces)} ({_who_copies(lab)})")
        for namespace in namespaces:
            print(f"  kubectl --kubeconfig {lab.kubeconfig_path} get pods -n {namespace}")
        if len(namespaces) > 1:
            print(f"  kubectl --kubeconfig {lab.kubeconfig_path} get pods -A")
        watched = " ".join(f"-n {ns}" for ns in namespaces)
        print(
            f"  KUBECONFIG={lab.kubeconfig_path} gloomon"
            + (f" {watched}   (or -A)" if len(namespaces) > 1 else "")
        )
        print(f"faults: POST {lab.api_url}/lab/v1/faults/<fault> (bearer token from the kubeconfig):")
        faults = FAULTS + (USER_TLS_FAULTS if args.user_https else ())
        for ns in namespaces[1:]:  # a copy gloo renders has no sync to lag or freeze
            copy_faults = SYNC_FAULTS[2:] if ns in lab.deployers else SYNC_FAULTS
            per_namespace = (*copy_faults, ("forbid-secrets", '{"enabled": true}'))
            faults += tuple((f, _in_namespace(b, ns)) for f, b in per_namespace)
        for fault, body in faults:
            print(f"  {fault:<18} {body or '(no body)'}")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("lab stopped.")


async def _run_fleet(args: argparse.Namespace, stop: asyncio.Event) -> None:
    from gloomon.lab.fleet import LabFleet

    fleet = LabFleet(
        args.scenario,
        workdir=args.workdir,
        namespace=args.namespace,
        rotation_duration=args.rotation_duration,
    )
    async with fleet:
        topology = TOPOLOGIES[args.scenario]
        print(f"gloomon lab fleet up: scenario {topology.name} — {topology.summary}")
        print(f"kubeconfig: {fleet.kubeconfig_path}")
        print(f"contexts: {', '.join(fleet.contexts)}")
        contexts = " ".join(f"--context {c}" for c in fleet.contexts)
        print(f"  KUBECONFIG={fleet.kubeconfig_path} gloomon {contexts}")
        for context, lab in fleet.labs.items():
            where = f"--kubeconfig {fleet.kubeconfig_path} --context {context}"
            print(f"  kubectl {where} get pods -n {lab.namespace}")
        print("faults: POST <server>/lab/v1/faults/<fault> (each context's server and bearer token):")
        for context, lab in fleet.labs.items():
            print(f"  {context}: {lab.api_url}")
        faults = FAULTS + (SYNC_FAULTS if fleet.syncs else ())
        for fault, body in faults:
            print(f"  {fault:<18} {body or '(no body)'}")
        if fleet.syncs:
            print(f"  ({', '.join(f for f, _ in SYNC_FAULTS)}: on {', '.join(fleet.syncs)}'s server)")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("lab fleet stopped.")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.context and args.scenario in TOPOLOGIES:
        parser.error(f"--context names a single lab; {args.scenario} names its own contexts")
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
