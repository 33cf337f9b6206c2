"""Findings about the fleet as a whole (bundles that differ between targets, gloo/client pairs that do
not trust each other, components none of whose Envoys answer) and from logs (failed SDS reloads).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from gloomon.domain.compare.planes import gloos_for
from gloomon.domain.compare.sync import bundle_groups, bundle_key, cert_key
from gloomon.domain.health.policy import Context, coming_or_going, pod_selector
from gloomon.domain.model import (
    Component,
    Finding,
    ForwardStatus,
    LogEvent,
    LogKind,
    Phase,
    Plane,
    Severity,
    Subjects,
    TargetStatus,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.x509 import find_signer
from gloomon.domain.text import one_line
from gloomon.domain.words import counted


def fleet_findings(
    targets: Sequence[TargetStatus], ctx: Context, planes: Mapping[str, Plane] | None = None
) -> list[Finding]:
    """Per context, bundles that differ between its targets; and every client/gloo pair that does not
    trust each other, a client paired with the gloo it talks to (:func:`gloos_for`: its own context's,
    or for a data-plane context's client the management context's)."""
    planes = planes or {}
    out: list[Finding] = []
    reachable = [t for t in targets if t.reachable and t.bundle.cas]
    by_context: dict[str, list[TargetStatus]] = {}
    for target in reachable:
        if target.copy_behind_seconds is None:  # else its namespace's copy differs: secret-copy-stale
            by_context.setdefault(target.ref.context, []).append(target)
    for context, mine in by_context.items():
        mismatch = _bundle_mismatch(mine, ctx)
        if mismatch is not None:
            out.append(replace(mismatch, context=context))
    servers = [t for t in reachable if t.ref.component is Component.GLOO and _verifiable(t)]
    clients = [t for t in reachable if t.ref.component is not Component.GLOO and _verifiable(t)]
    # Pods in sync hold the same (leaf, bundle): check each distinct client/gloo pair of them once.
    verdicts: dict[tuple[object, ...], str | None] = {}
    for client in clients:
        server_groups: dict[tuple[object, ...], list[TargetStatus]] = {}
        for server in gloos_for(client, servers, planes, ctx.namespace):
            server_groups.setdefault((server.ref.context, *_pair_key(server)), []).append(server)
        client_key = _pair_key(client)
        for server_key, group in server_groups.items():
            key = (client_key, server_key[1:])
            if key not in verdicts:
                verdicts[key] = _untrusted_side(client, group[0])
            problem = _describe(verdicts[key], group, client.ref.context)
            if problem is not None:
                stale_copy = client.copy_behind_seconds is not None
                out.append(
                    Finding(
                        Severity.CRITICAL,
                        "peer-untrusted",
                        client.ref.component,
                        client.ref.pod,
                        problem
                        + (
                            f"; it holds the copy of the secret in namespace {client.secret_namespace}, "
                            "which is behind its source (secret-copy-stale)"
                            if stale_copy
                            else ""
                        ),
                        "both sides must trust the CA that signed the other's leaf; "
                        + (
                            f"bring the copy of the secret in namespace {client.secret_namespace} up to date "
                            "(secret-copy-stale says who makes it and how): its sds serves that copy"
                            if stale_copy
                            else f"restart the {_holder([client, *group])} holding the old bundle: "
                            f"{_restart_hint([client, *group], ctx)}"
                        ),
                        Subjects(pods=tuple(server.ref.pod for server in group)),
                        context=client.ref.context,
                    )
                )
    return out


def unreachable_components(targets: Sequence[TargetStatus], ctx: Context) -> list[Finding]:
    """``component-unreachable`` (critical) for each component whose every target is unreachable: its
    mTLS is not watched at all, which a monitoring job must not report as a mere warning.

    Not raised while an API outage hid them (``api_down``: not observed; the outage is the one
    finding), nor while every one of them is a pod that is starting, not ready or going (a restart;
    ``component-missing`` speaks for a component without a ready pod). Other source errors (a refused
    log stream, a failed CronJob read) say nothing about the Envoys and hold nothing back.
    """
    out: list[Finding] = []
    for context, component in dict.fromkeys((t.ref.context, t.ref.component) for t in targets):
        mine = [t for t in targets if t.ref.component is component and t.ref.context == context]
        if (
            not mine
            or any(t.reachable for t in mine)
            or all(coming_or_going(t, ctx) or _hidden_by_the_api(t) for t in mine)
        ):
            continue
        direct = [
            t.ref.admin_url
            for t in mine
            if t.ref.forward is not None and t.ref.forward.status is ForwardStatus.DIRECT
        ]
        count = counted(len(mine), "target") if len(mine) == 1 else f"all {counted(len(mine), 'target')}"
        out.append(
            Finding(
                Severity.CRITICAL,
                "component-unreachable",
                component,
                None,
                f"no {component} Envoy answers ({count} unreachable): its certificates are not observed",
                f"curl {direct[0]}/ready (are the URLs right, is Envoy running?)"
                if direct
                else f"kubectl {_where(mine, ctx)} get pods -l {pod_selector(component)}",
                context=context,
            )
        )
    return out


def _where(targets: Sequence[TargetStatus], ctx: Context) -> str:
    """``-n <ns>`` of the targets' one namespace, ``-A`` when they are in several."""
    namespaces = {t.ref.namespace or ctx.namespace for t in targets}
    return f"-n {namespaces.pop()}" if len(namespaces) == 1 else "-A"


def _hidden_by_the_api(target: TargetStatus) -> bool:
    """Not reached because the Kubernetes API it is forwarded through is down: not observed."""
    return target.fetch is not None and target.fetch.api_down


def _excused(target: TargetStatus, ctx: Context) -> bool:
    """A differing bundle is expected while a rotation propagates: the target holds the secret's
    bundle, lags it within the grace, or (no secret to compare with) differs from its peers only since
    less than the grace."""
    if target.in_sync_with_secret is True:
        return True
    if target.in_sync_with_secret is False:
        return not target.ahead_of_secret and (
            target.lag_seconds is not None and target.lag_seconds <= ctx.grace
        )
    since = target.bundle_differs_since
    return since is None or (ctx.now - since).total_seconds() <= ctx.grace


def _bundle_mismatch(reachable: Sequence[TargetStatus], ctx: Context) -> Finding | None:
    """``bundle-mismatch``: info while every target is excused (a rotation in progress), else a warning
    naming the targets that are not."""
    groups = bundle_groups(reachable)
    if len(groups) < 2:
        return None
    stuck = [t for t in reachable if not _excused(t, ctx)]
    if any(t.in_sync_with_secret is not None for t in reachable):
        named = stuck or [t for t in reachable if t.in_sync_with_secret is False]
        against = "the secret"
    else:
        named = stuck or [t for group in groups[1:] for t in group]
        against = "the majority"
    named = named or [t for group in groups[1:] for t in group]
    names = ", ".join(one_line(t.ref.pod, 80) for t in named[:5]) + ("…" if len(named) > 5 else "")
    state = (
        f"beyond the grace ({human_duration(ctx.grace)})"
        if stuck
        else "within the grace while certificates propagate"
    )
    return Finding(
        Severity.WARNING if stuck else Severity.INFO,
        "bundle-mismatch",
        None,
        None,
        f"{len(groups)} different CA bundles across targets, {state}; differing from {against}: {names}",
        f"wait one rotationDuration for SDS to catch up, then restart the odd ones: "
        f"{_restart_hint(named, ctx)}",
        Subjects(pods=tuple(t.ref.pod for t in named)),
    )


def _direct(targets: Sequence[TargetStatus]) -> bool:
    """Whether every one of ``targets`` is a ``--target`` URL (no pod, no kubectl)."""
    forwards = [t.ref.forward for t in targets]
    return bool(forwards) and all(f is not None and f.status is ForwardStatus.DIRECT for f in forwards)


def _holder(targets: Sequence[TargetStatus]) -> str:
    return "Envoy" if _direct(targets) else "pod"


def _restart_hint(targets: Sequence[TargetStatus], ctx: Context) -> str:
    """How to restart the Envoys named: delete the pod, or, for ``--target`` URLs (no pod), there. Pods
    in another context than the first's (split planes: the management cluster's gloo) get a command of
    their own that names it; the first's is the finding's (its context is added with the others)."""
    if _direct(targets):
        return "on its host (a --target URL is not a pod)"
    first = targets[0].ref.context
    contexts = dict.fromkeys(t.ref.context for t in targets)
    return "; ".join(
        f"kubectl{'' if context == first else f' --context {context}'} "
        f"{_where([t for t in targets if t.ref.context == context], ctx)} delete pod <pod>"
        for context in contexts
    )


def _verifiable(target: TargetStatus) -> bool:
    """A leaf with its DER, and not already judged broken (that has its own finding)."""
    return (
        target.leaf is not None and target.leaf.der is not None and target.verdict.phase is not Phase.BROKEN
    )


def _pair_key(target: TargetStatus) -> tuple[object, ...]:
    assert target.leaf is not None
    return (cert_key(target.leaf), bundle_key(target.bundle))


def _describe(side: str | None, servers: list[TargetStatus], context: str) -> str | None:
    if side is None:
        return None
    names = servers[0].ref.pod + (f" and {len(servers) - 1} more" if len(servers) > 1 else "")
    if servers[0].ref.context != context:  # split planes: the gloo of the management context
        names += f" in {servers[0].ref.context}"
    if side == "client":
        return f"does not trust gloo's server cert ({names}): xDS handshakes fail"
    return f"its client cert is not trusted by gloo ({names}): xDS handshakes fail"


def _untrusted_side(client: TargetStatus, server: TargetStatus) -> str | None:
    """Which side of a client/gloo pair fails to trust the other's leaf: "client", "server" or None."""
    assert client.leaf is not None and server.leaf is not None
    client_ok = client.bundle.complete and all(ca.der for ca in client.bundle.cas)
    if client_ok and find_signer(server.leaf, client.bundle) is None:
        return "client"
    server_ok = server.bundle.complete and all(ca.der for ca in server.bundle.cas)
    if server_ok and find_signer(client.leaf, server.bundle) is None:
        return "server"
    return None


def log_findings(
    events: Sequence[LogEvent], ctx: Context, namespaces: Mapping[tuple[str | None, str], str] | None = None
) -> list[Finding]:
    """Failed SDS reloads seen in the logs: the latest one per context, pod and kind (two clusters'
    pods share names). ``namespaces``: (context, pod) → the pod's namespace, for its hint."""
    latest: dict[tuple[LogKind, str | None, str], Finding] = {}
    for event in events:
        namespace = (namespaces or {}).get((event.context, event.pod), ctx.namespace)
        item = _log_finding(event, replace(ctx, namespace=namespace))
        if item is not None:
            latest[(event.kind, event.context, event.pod)] = replace(item, context=event.context)
    return list(latest.values())


def _log_finding(event: LogEvent, ctx: Context) -> Finding | None:
    # certgen's "context cancelled" line is never written when a run is killed (no signal handler):
    # rotation-cancelled keys on the Job's DeadlineExceeded condition (health/certgen.py) instead.
    if event.kind is LogKind.SDS_UPDATE_FAILED:
        return Finding(
            Severity.WARNING,
            "sds-update-failed",
            event.component,
            event.pod or None,
            f"sds: {one_line(event.message, 200)}",
            f"kubectl -n {ctx.namespace} logs {event.pod} -c sds --tail=30; check tls.crt/tls.key match",
        )
    return None
