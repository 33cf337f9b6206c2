"""Findings about the fleet as a whole (bundles that differ between targets, gloo/client pairs that do
not trust each other) and from logs (cancelled rotations, failed SDS reloads).
"""

from __future__ import annotations

from collections.abc import Sequence

from gloomon.domain.durations import human_duration
from gloomon.domain.fleet_sync import bundle_groups, bundle_key, cert_key
from gloomon.domain.health_policy import Context
from gloomon.domain.models import Component, Finding, LogEvent, LogKind, Phase, Severity, TargetStatus
from gloomon.domain.x509 import find_signer


def fleet_findings(targets: Sequence[TargetStatus], ctx: Context) -> list[Finding]:
    """Bundles that differ between targets, and gloo/client pairs that do not trust each other."""
    out: list[Finding] = []
    reachable = [t for t in targets if t.reachable and t.bundle.cas]
    mismatch = _bundle_mismatch(reachable, ctx)
    if mismatch is not None:
        out.append(mismatch)
    servers = [t for t in reachable if t.ref.component is Component.GLOO and t.leaf is not None]
    clients = [t for t in reachable if t.ref.component is not Component.GLOO and t.leaf is not None]
    verdicts: dict[tuple, str | None] = {}
    for client in clients:
        for server in servers:
            problem = _trust_problem(client, server, verdicts)
            if problem is not None:
                out.append(
                    Finding(
                        Severity.CRITICAL,
                        "peer-untrusted",
                        client.ref.component,
                        client.ref.pod,
                        problem,
                        f"both sides must trust the CA that signed the other's leaf; "
                        f"restart the pod holding the "
                        f"old bundle: kubectl -n {ctx.namespace} delete pod <pod>",
                    )
                )
    return out


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
    names = ", ".join(t.ref.pod for t in named[:5]) + ("…" if len(named) > 5 else "")
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
        f"wait one rotationDuration for SDS to catch up, then restart the odd ones: kubectl -n "
        f"{ctx.namespace} delete pod <pod>",
    )


def _trust_problem(
    client: TargetStatus, server: TargetStatus, verdicts: dict[tuple, str | None]
) -> str | None:
    """Which side of a client/gloo pair fails to trust the other's leaf, if either.

    ``verdicts`` caches the answer per (client leaf, client bundle, server leaf, server bundle): every
    pod of a fleet in sync holds the same pair, so a fleet of hundreds verifies signatures only once.
    """
    if client.leaf is None or server.leaf is None or client.leaf.der is None or server.leaf.der is None:
        return None
    if client.verdict.phase is Phase.BROKEN or server.verdict.phase is Phase.BROKEN:
        return None
    key = (cert_key(client.leaf), bundle_key(client.bundle), cert_key(server.leaf), bundle_key(server.bundle))
    if key not in verdicts:
        verdicts[key] = _untrusted_side(client, server)
    side = verdicts[key]
    if side == "client":
        return f"does not trust gloo's server cert ({server.ref.pod}): xDS handshakes fail"
    if side == "server":
        return f"its client cert is not trusted by gloo ({server.ref.pod}): xDS handshakes fail"
    return None


def _untrusted_side(client: TargetStatus, server: TargetStatus) -> str | None:
    assert client.leaf is not None and server.leaf is not None
    client_ok = client.bundle.complete and all(ca.der for ca in client.bundle.cas)
    if client_ok and find_signer(server.leaf, client.bundle) is None:
        return "client"
    server_ok = server.bundle.complete and all(ca.der for ca in server.bundle.cas)
    if server_ok and find_signer(client.leaf, server.bundle) is None:
        return "server"
    return None


def log_findings(events: Sequence[LogEvent], ctx: Context) -> list[Finding]:
    """Cancelled rotations and failed SDS reloads seen in the logs: the latest one per pod and kind."""
    latest: dict[tuple[LogKind, str], Finding] = {}
    for event in events:
        item = _log_finding(event, ctx)
        if item is not None:
            latest[(event.kind, event.pod)] = item
    return list(latest.values())


def _log_finding(event: LogEvent, ctx: Context) -> Finding | None:
    if event.kind is LogKind.CERTGEN_CANCELLED:
        return Finding(
            Severity.WARNING,
            "rotation-cancelled",
            None,
            event.pod or None,
            f"certgen: {event.message[:200]}",
            f"a rotation was cut short; run one more: {ctx.rerun_hint()}",
        )
    if event.kind is LogKind.SDS_UPDATE_FAILED:
        return Finding(
            Severity.WARNING,
            "sds-update-failed",
            event.component,
            event.pod or None,
            f"sds: {event.message[:200]}",
            f"kubectl -n {ctx.namespace} logs {event.pod} -c sds --tail=30; check tls.crt/tls.key match",
        )
    return None
