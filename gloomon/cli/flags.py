"""The command line's flags: the parser, the flags every command shares, and their validation into
``Settings`` (``settings_from_args``), ``--listen`` and ``--max-size``.

Nothing heavy loads here: ``gloomon --help`` and a bad flag answer at once.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, NoReturn

from gloomon import __version__
from gloomon.lab import SCENARIO_NAMES, TOPOLOGY_NAMES  # the lab's package face: no lab module loads

if TYPE_CHECKING:
    from gloomon.domain.health.judge import HealthPolicy
    from gloomon.settings import Settings

#: ``gloomon check`` exit code when the check could not run (bad flag, no cluster, no lab); the
#: others (0 ok, 1 warning, 2 critical) come from the findings, in ``report.exit_code``.
EXIT_ERROR = 3

#: Shortest poll interval: each poll lists pods and makes three admin requests per Envoy.
MIN_INTERVAL_SECONDS = 1.0

#: ``gloomon serve``'s address: loopback unless asked (in a pod, ``--listen 0.0.0.0:9745``).
DEFAULT_LISTEN = "127.0.0.1:9745"

#: ``gloomon bundle --max-size`` unless given
DEFAULT_BUNDLE_SIZE = "100MB"


class UsageError(Exception):
    """A flag's value is wrong; the message says which and why."""


class _Parser(argparse.ArgumentParser):
    """argparse that exits with EXIT_ERROR (the check could not run) and a one-line message."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\n(see '{self.prog} --help')\n")


def _add_common(parser: argparse.ArgumentParser, *, polls: bool) -> None:
    """The flags the dashboard and ``check`` share; ``polls``: the dashboard's ``--interval`` too."""
    where = parser.add_argument_group("where to look")
    where.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        metavar="NAMESPACE",
        help="namespace Gloo runs in (default: gloo-system); repeat to also watch the proxies of more "
        "namespaces (a Gateway's namespace, a moved gatewayProxies.<name>)",
    )
    where.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="discover proxies in every namespace (gloo, its secret and certgen stay in the first -n)",
    )
    where.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    where.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="NAME",
        help="kubeconfig context; repeat to watch several clusters (default: the current context)",
    )
    where.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="poll an Envoy admin URL directly, no Kubernetes (NAME is the component, e.g. "
        "gloo=http://127.0.0.1:8001); repeatable",
    )
    where.add_argument(
        "--admin-port",
        action="append",
        default=[],
        metavar="COMPONENT=PORT",
        help="Envoy admin port of a component inside its pod (defaults: gateway-proxy and kube-gateway "
        "19000, others 8001)",
    )
    where.add_argument(
        "--demo", action="store_true", help="start the embedded lab (real Envoys, no cluster) and watch it"
    )
    where.add_argument(
        "--scenario",
        choices=(*SCENARIO_NAMES, *TOPOLOGY_NAMES),
        default=None,
        help="lab scenario for --demo (default: rotating for the dashboard, healthy for check; "
        "two-clusters and split-planes start several clusters, one context each)",
    )
    judge = parser.add_argument_group("how to judge")
    if polls:
        judge.add_argument("--interval", default="5s", metavar="DURATION", help="poll interval (default: 5s)")
    judge.add_argument(
        "--warn-before",
        action="append",
        default=[],
        metavar="DURATION|PERCENT",
        help="warn when a certificate has less than this left (default: 30d and 20%% of its lifetime, "
        "whichever is less); repeat to combine",
    )
    judge.add_argument(
        "--critical-before",
        action="append",
        default=[],
        metavar="DURATION|PERCENT",
        help="critical below this (default: 7d and 5%%, whichever is less)",
    )
    judge.add_argument(
        "--lag-grace",
        default=None,
        metavar="DURATION",
        help="how long a pod may lag the secret before it is a warning (default: 2 x rotationDuration)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gloomon",
        description="Live view of Gloo Gateway's internal mTLS: the certificate each Envoy holds, the CAs "
        "it trusts, whether it picked up the latest gloo-mtls-certs secret, and where rotation stands.",
        epilog="Commands: 'gloomon' opens the dashboard; 'gloomon check' polls once and exits "
        "0 ok, 1 warning, 2 critical, 3 could not run; 'gloomon serve' exports Prometheus metrics; "
        "'gloomon bundle' writes a support archive.",
    )
    parser.add_argument("--version", action="version", version=f"gloomon {__version__}")
    _add_common(parser, polls=True)
    parser.add_argument(
        "--save-dir",
        metavar="DIR",
        help="where the dashboard's s key writes gloomon-snapshot-<time>.json (default: current directory)",
    )
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    check = sub.add_parser(
        "check",
        help="poll once, print a report, exit 0 ok / 1 warning / 2 critical / 3 could not run",
        description="Poll every target once (and read the last --since of logs), print a report and "
        "exit 0 (no finding at or above --fail-on), 1 (warnings), 2 (critical) or 3 (could not run).",
    )
    _add_common(check, polls=False)
    check.add_argument(
        "-o", "--output", choices=("table", "json", "yaml"), default="table", help="report format"
    )
    check.add_argument(
        "--fail-on",
        choices=("info", "warning", "critical", "never"),
        default="warning",
        help="lowest severity that makes the exit code non-zero (default: warning)",
    )
    check.add_argument(
        "--since", default="10m", metavar="DURATION", help="how much log history to read (default: 10m)"
    )
    serve = sub.add_parser(
        "serve",
        help="poll every --interval and export Prometheus metrics over HTTP",
        description="Poll like the dashboard and serve /metrics (Prometheus, OpenMetrics), /healthz, "
        "/readyz and /snapshot.json (the check -o json document) on --listen.",
    )
    _add_common(serve, polls=True)
    serve.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to serve on (default: {DEFAULT_LISTEN}, loopback only; 0.0.0.0:9745 in a pod)",
    )
    bundle = sub.add_parser(
        "bundle",
        help="write a support archive (.tar.gz) for a ticket, every secret redacted",
        description="Poll once and write a .tar.gz: the check -o json document, each Envoy's /certs, "
        "/config_dump (secrets redacted to metadata), /clusters, /stats and /server_info, the pods, Jobs "
        "and CronJob as YAML, the secret as metadata only, the last --since of the mTLS containers' logs, "
        "and a README.txt saying what was collected and redacted. Exit 0 (written) or 3 (nothing could "
        "be collected).",
    )
    _add_common(bundle, polls=False)
    bundle.add_argument(
        "--since", default="10m", metavar="DURATION", help="how much log history to include (default: 10m)"
    )
    bundle.add_argument(
        "--output",
        metavar="PATH",
        help="archive to write (default: gloomon-bundle-<UTC time>.tar.gz in the current directory)",
    )
    bundle.add_argument(
        "--max-size",
        default=DEFAULT_BUNDLE_SIZE,
        metavar="SIZE",
        help=f"largest archive (default: {DEFAULT_BUNDLE_SIZE}); past it nothing more is added and "
        "README.txt lists what was left out",
    )
    return parser


def subcommand_parser(parser: argparse.ArgumentParser, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (``check``), or ``parser`` itself for the dashboard."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Validate flag values and build Settings; raise UsageError with a one-line reason."""
    from gloomon.domain.health.judge import HealthPolicy, Threshold
    from gloomon.domain.model import Component, ParseError
    from gloomon.domain.parse.durations import parse_duration
    from gloomon.settings import DirectTarget, Settings

    def duration(flag: str, text: str) -> float:
        value = parse_duration(text)
        if isinstance(value, ParseError) or value <= 0:
            raise UsageError(f"{flag} {text!r}: expected a duration like 5s, 2m, 36h or 14d")
        return value

    def thresholds(flag: str, texts: list[str]) -> tuple[Threshold, ...]:
        parsed = []
        for text in texts:
            value = Threshold.parse(text)
            if isinstance(value, ParseError):
                raise UsageError(f"{flag} {text!r}: expected a duration (36h, 14d) or a percentage (10%)")
            parsed.append(value)
        return tuple(parsed)

    admin_ports = {}
    for item in args.admin_port:
        name, sep, port = item.partition("=")
        component = Component.parse(name.strip())
        if not sep or component is None:
            raise UsageError(
                f"--admin-port {item!r}: expected COMPONENT=PORT, COMPONENT one of {', '.join(Component)}"
            )
        if not port.strip().isdigit() or not 0 < int(port) < 65536:
            raise UsageError(f"--admin-port {item!r}: port {port!r} is not a port number (1-65535)")
        admin_ports[component] = int(port)

    targets = []
    for item in args.target:
        name, sep, url = item.partition("=")
        component = Component.parse(name.strip().split(".")[0])
        if not sep or component is None:
            raise UsageError(
                f"--target {item!r}: expected NAME=URL, NAME starting with one of {', '.join(Component)} "
                "(e.g. gateway-proxy.2=http://127.0.0.1:19000)"
            )
        if not url.startswith(("http://", "https://")) or not url.partition("://")[2].strip("/"):
            raise UsageError(
                f"--target {item!r}: URL {url!r} is not an http:// or https:// URL "
                "(e.g. http://127.0.0.1:19000)"
            )
        targets.append(DirectTarget(name=name.strip(), component=component, url=url.rstrip("/")))

    if args.demo and (args.target or args.kubeconfig or args.context):
        raise UsageError(
            "--demo runs its own lab; it does not combine with --target, --kubeconfig or --context"
        )
    if targets and (args.kubeconfig or args.context):
        raise UsageError("--target polls admin URLs without Kubernetes; drop --kubeconfig/--context")
    if args.scenario and not args.demo:
        raise UsageError("--scenario only applies with --demo")

    policy_kwargs: dict[str, object] = {}
    if args.warn_before:
        policy_kwargs["warn"] = thresholds("--warn-before", args.warn_before)
    if args.critical_before:
        policy_kwargs["critical"] = thresholds("--critical-before", args.critical_before)
    if args.lag_grace is not None:
        policy_kwargs["lag_grace_seconds"] = duration("--lag-grace", args.lag_grace)
    policy = HealthPolicy(**policy_kwargs)  # type: ignore[arg-type]
    _check_thresholds(policy, warn_given=bool(args.warn_before), critical_given=bool(args.critical_before))

    defaults = Settings()
    interval_text = getattr(args, "interval", "5s")  # check has no --interval: it polls once
    interval = duration("--interval", interval_text)
    if interval < MIN_INTERVAL_SECONDS:
        raise UsageError(
            f"--interval {interval_text!r}: at least {MIN_INTERVAL_SECONDS:g}s "
            "(every poll lists pods and fetches from every Envoy)"
        )
    since_text = getattr(args, "since", None)  # check and bundle read logs from --since ago
    log_since = defaults.log_since_seconds if since_text is None else duration("--since", since_text)
    save_dir = getattr(args, "save_dir", None)
    if save_dir is not None and not os.path.isdir(save_dir):
        raise UsageError(f"--save-dir {save_dir!r}: not a directory")
    namespaces = tuple(dict.fromkeys(args.namespace)) or (defaults.namespace,)
    return Settings(
        namespace=namespaces[0],
        extra_namespaces=namespaces[1:],
        all_namespaces=bool(args.all_namespaces),
        kubeconfig=args.kubeconfig,
        contexts=tuple(dict.fromkeys(args.context)),  # --context X --context X polls X once
        interval=interval,
        admin_ports={**defaults.admin_ports, **admin_ports},
        targets=tuple(targets),
        policy=policy,
        save_dir=save_dir,
        log_since_seconds=log_since,
    )


def _check_thresholds(policy: HealthPolicy, *, warn_given: bool, critical_given: bool) -> None:
    """Refuse a critical limit that is not shorter than the warning one (of the same kind: durations
    with durations, percentages with percentages): a certificate would turn critical without warning."""
    for kind in ("seconds", "fraction"):
        warn = [t for t in policy.warn if getattr(t, kind) is not None]
        critical = [t for t in policy.critical if getattr(t, kind) is not None]
        if not warn or not critical:
            continue
        shortest_warn = min(warn, key=lambda t: getattr(t, kind))
        shortest_critical = min(critical, key=lambda t: getattr(t, kind))
        if getattr(shortest_critical, kind) >= getattr(shortest_warn, kind):
            warn_text = f"--warn-before {shortest_warn}" + ("" if warn_given else " (the default)")
            critical_text = f"--critical-before {shortest_critical}" + (
                "" if critical_given else " (the default)"
            )
            raise UsageError(
                f"{critical_text} must be shorter than {warn_text}: certificates would turn critical "
                "without a warning first"
            )


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9745`` for IPv6) → (host, port); raise UsageError otherwise."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9745 or 0.0.0.0:9745")
    return host, int(port)


def parse_size(text: str) -> int:
    """``100MB``, ``512KB``, ``1.5M``, ``2GB`` or a number of bytes (1024-based) → bytes; UsageError."""
    number = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(number[-1:], 1)
    number = number[:-1] if scale > 1 else number
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value * scale > 2**50:
        raise UsageError(f"--max-size {text!r}: expected a size like 100MB, 512KB or 2GB")
    return int(value * scale)
