"""Findings about each target (its certificates, sync with the secret, SDS, TLS, xDS, admin API) and
about the fleet as a whole (bundles that differ, peers that do not trust each other), and from logs.

Connection errors in an Envoy's first minute, or in the minute after new certificates arrived, are
expected (Gloo's guide says so): they are ``info`` then, ``warning`` once they persist.
"""

from __future__ import annotations

from collections.abc import Sequence

from gloomon.domain.durations import human_duration
from gloomon.domain.fleet_sync import same_cert
from gloomon.domain.health import Context, cert_expiry_finding, finding
from gloomon.domain.models import (
    DEFAULT_ADMIN_PORTS,
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    CertsReport,
    Component,
    EnvoyStats,
    Finding,
    LogEvent,
    LogKind,
    ParseError,
    Phase,
    SecretsDump,
    SecretStatus,
    ServerInfo,
    Severity,
    TargetStatus,
)
from gloomon.domain.x509 import find_signer


def envoy_container(component: Component) -> str:
    return "gateway-proxy" if component is Component.GATEWAY_PROXY else "envoy-sidecar"


def settling(target: TargetStatus, ctx: Context) -> bool:
    """True in the Envoy's first minute, before certificates arrived, or just after new ones did."""
    window = ctx.policy.settle_seconds
    if target.leaf is None:
        return True
    for since in (target.envoy_started_at, target.certs_since):
        if since is not None and (ctx.now - since).total_seconds() < window:
            return True
    return False


def _previous(target: TargetStatus, ctx: Context) -> TargetStatus | None:
    if ctx.previous is None:
        return None
    for old in ctx.previous.targets:
        if old.key == target.key:
            return old
    return None


def target_findings(target: TargetStatus, secrets: Sequence[SecretStatus], ctx: Context) -> list[Finding]:
    ref = target.ref
    component, pod, ns = ref.component, ref.pod, ref.namespace or ctx.namespace
    port = DEFAULT_ADMIN_PORTS[component]
    fetch = target.fetch
    if fetch is None or not fetch.reachable:
        reason = (fetch.error if fetch is not None else None) or (ref.forward.error if ref.forward else None)
        return [
            finding(
                Severity.WARNING,
                "admin-unreachable",
                component,
                pod,
                f"Envoy admin API unreachable: {(reason or 'not polled')[:200]}",
                f"kubectl -n {ns} get pod {pod}; kubectl -n {ns} port-forward pod/{pod} {port} and curl "
                f"localhost:{port}/ready",
            )
        ]
    out: list[Finding] = []
    for what, value in (
        ("/server_info", fetch.server),
        ("/certs", fetch.certs),
        ("/config_dump", fetch.secrets),
        ("/clusters", fetch.clusters),
        ("/stats", fetch.stats),
    ):
        if isinstance(value, ParseError):
            out.append(
                finding(
                    Severity.WARNING,
                    "admin-bad-response",
                    component,
                    pod,
                    f"{what}: {value.message[:200]}",
                    f"see the raw body: kubectl -n {ns} port-forward pod/{pod} {port} "
                    f"and curl localhost:{port}{what}",
                )
            )
    logs = f"kubectl -n {ns} logs {pod} -c"
    if target.leaf is None and (
        isinstance(fetch.certs, CertsReport) or isinstance(fetch.secrets, SecretsDump)
    ):
        young = target.envoy_started_at is not None and (
            (ctx.now - target.envoy_started_at).total_seconds() < ctx.policy.settle_seconds
        )
        out.append(
            finding(
                Severity.INFO if young else Severity.CRITICAL,
                "sds-not-delivered",
                component,
                pod,
                "no certificates delivered by SDS yet (/certs is empty): mTLS to and from this pod fails",
                f"{logs} sds --tail=30; is the secret mounted? kubectl -n {ns} describe pod {pod}",
            )
        )
    secret = next((s for s in secrets if s.state.context == ref.context), None)
    secret_leaf = secret.state.leaf if secret is not None else None
    if target.leaf is not None and not (secret_leaf is not None and same_cert(target.leaf, secret_leaf)):
        item = cert_expiry_finding(target.leaf, "leaf", "leaf", component, pod, ctx)
        if item is not None:
            out.append(item)
    secret_cas = secret.state.bundle.identities() if secret is not None and secret.state.bundle else ()
    for index, ca in enumerate(target.bundle.cas):
        if ca.identity() not in secret_cas:
            item = cert_expiry_finding(ca, f"CA #{index + 1}", "ca", component, pod, ctx)
            if item is not None:
                out.append(item)
    verdict = target.verdict
    if verdict.phase is Phase.BROKEN and target.leaf is not None and target.leaf.seconds_left(ctx.now) >= 0:
        out.append(
            finding(
                Severity.CRITICAL,
                "leaf-untrusted",
                component,
                pod,
                verdict.reason,
                f"its bundle does not hold the CA that signed its leaf; compare with the secret "
                f"(kubectl -n {ns} get secret gloo-mtls-certs -o jsonpath='{{.data.ca\\.crt}}' | base64 -d) "
                f"and "
                f"restart the pod if SDS is stuck: kubectl -n {ns} delete pod {pod}",
            )
        )
    if verdict.phase is Phase.STALLED and secret is None:
        out.append(
            finding(
                Severity.WARNING,
                "rotation-stalled",
                component,
                pod,
                verdict.reason,
                f"a certgen run died mid-rotation; run it again: {ctx.rerun_hint()}",
            )
        )
    if target.ahead_of_secret:
        out.append(
            finding(
                Severity.WARNING,
                "target-ahead",
                component,
                pod,
                f"holds newer certificates than the secret: {target.sync_reason or 'secret rolled back?'}",
                f"the secret was rolled back or restored; check it "
                f"(kubectl -n {ns} get secret gloo-mtls-certs -o yaml) "
                f"and rotate again: {ctx.rerun_hint()}",
            )
        )
    elif target.in_sync_with_secret is False and (target.lag_seconds or 0.0) > ctx.grace:
        out.append(
            finding(
                Severity.WARNING,
                "target-lagging",
                component,
                pod,
                f"has not picked up the secret for {human_duration(target.lag_seconds or 0.0)} (grace "
                f"{human_duration(ctx.grace)}): {target.sync_reason or 'certificates differ'}",
                f"{logs} sds --tail=30; if SDS is stuck: kubectl -n {ns} delete pod {pod}",
            )
        )
    out.extend(_stats_findings(target, ctx, logs))
    return out


def _stats_findings(target: TargetStatus, ctx: Context, logs: str) -> list[Finding]:
    ref = target.ref
    component, pod = ref.component, ref.pod
    fetch = target.fetch
    out: list[Finding] = []
    soft = Severity.INFO if settling(target, ctx) else Severity.WARNING
    old = _previous(target, ctx)
    old_stats = old.fetch.stats if old is not None and old.fetch is not None else None
    stats = fetch.stats if fetch is not None else None
    if isinstance(stats, EnvoyStats):
        for name in (SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET):
            sds = stats.sds_for(name)
            if sds is None or sds.update_rejected == 0:
                continue
            before = old_stats.sds_for(name) if isinstance(old_stats, EnvoyStats) else None
            rising = before is not None and sds.update_rejected > before.update_rejected
            severity = (
                Severity.CRITICAL if rising else (Severity.INFO if before is not None else Severity.WARNING)
            )
            out.append(
                finding(
                    severity,
                    "sds-update-rejected",
                    component,
                    pod,
                    f"Envoy rejected {sds.update_rejected} SDS update(s) of {name}"
                    + (" since the last poll" if rising else ""),
                    f"{logs} {envoy_container(component)} | grep -i rejected; "
                    f"bad PEM or a key/cert mismatch in "
                    f"gloo-mtls-certs",
                )
            )
    if old is not None and old.reachable and old.tls_errors <= target.tls_errors:
        delta = target.tls_errors - old.tls_errors
        if delta > 0:
            out.append(
                finding(
                    soft,
                    "tls-verify-failures",
                    component,
                    pod,
                    f"{delta} TLS handshake/verify failure(s) since the last poll "
                    f"({target.tls_errors} in total)"
                    + (" while certificates settle" if soft is Severity.INFO else ""),
                    f"{logs} {envoy_container(component)} | "
                    f"grep -E 'CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|TLS_error'; "
                    f"compare this pod's bundle with its peers",
                )
            )
    if target.xds is not None and not target.xds.healthy:
        out.append(
            finding(
                soft,
                "xds-unhealthy",
                component,
                pod,
                f"link to gloo ({target.xds.cluster}) unhealthy: "
                f"{target.xds.cx_connect_fail} failed connects",
                f"{logs} {envoy_container(component)} | grep 'gRPC config stream'; "
                f"kubectl -n {ctx.namespace} get pods "
                f"-l gloo=gloo",
            )
        )
    server = fetch.server if fetch is not None else None
    if isinstance(server, ServerInfo) and server.state not in ("LIVE", "unknown"):
        out.append(
            finding(
                soft,
                "envoy-not-live",
                component,
                pod,
                f"Envoy state is {server.state}",
                f"{logs} {envoy_container(component)} --tail=50",
            )
        )
    return out


def fleet_findings(targets: Sequence[TargetStatus], ctx: Context) -> list[Finding]:
    """Bundles that differ between targets, and gloo/client pairs that do not trust each other."""
    out: list[Finding] = []
    reachable = [t for t in targets if t.reachable and t.bundle.cas]
    groups: dict[tuple[str, ...], list[TargetStatus]] = {}
    for target in reachable:
        groups.setdefault(target.bundle.identities(), []).append(target)
    if len(groups) > 1:
        ordered = sorted(groups.values(), key=len, reverse=True)
        odd = [t for group in ordered[1:] for t in group]
        within = all(t.lag_seconds is not None and t.lag_seconds <= ctx.grace for t in odd)
        names = ", ".join(t.ref.pod for t in odd[:5]) + ("…" if len(odd) > 5 else "")
        out.append(
            finding(
                Severity.INFO if within else Severity.WARNING,
                "bundle-mismatch",
                None,
                None,
                f"{len(groups)} different CA bundles across targets; differing from the majority: {names}",
                f"wait one rotationDuration for SDS to catch up, then restart the odd ones: kubectl -n "
                f"{ctx.namespace} delete pod <pod>",
            )
        )
    servers = [t for t in reachable if t.ref.component is Component.GLOO and t.leaf is not None]
    clients = [t for t in reachable if t.ref.component is not Component.GLOO and t.leaf is not None]
    for client in clients:
        for server in servers:
            problem = _trust_problem(client, server)
            if problem is not None:
                out.append(
                    finding(
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


def _trust_problem(client: TargetStatus, server: TargetStatus) -> str | None:
    if client.leaf is None or server.leaf is None or client.leaf.der is None or server.leaf.der is None:
        return None
    if client.verdict.phase is Phase.BROKEN or server.verdict.phase is Phase.BROKEN:
        return None
    client_ok = client.bundle.complete and all(ca.der for ca in client.bundle.cas)
    if client_ok and find_signer(server.leaf, client.bundle) is None:
        return f"does not trust gloo's server cert ({server.ref.pod}): xDS handshakes fail"
    server_ok = server.bundle.complete and all(ca.der for ca in server.bundle.cas)
    if server_ok and find_signer(client.leaf, server.bundle) is None:
        return f"its client cert is not trusted by gloo ({server.ref.pod}): xDS handshakes fail"
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
        return finding(
            Severity.WARNING,
            "rotation-cancelled",
            None,
            event.pod or None,
            f"certgen: {event.message[:200]}",
            f"a rotation was cut short; run one more: {ctx.rerun_hint()}",
        )
    if event.kind is LogKind.SDS_UPDATE_FAILED:
        return finding(
            Severity.WARNING,
            "sds-update-failed",
            event.component,
            event.pod or None,
            f"sds: {event.message[:200]}",
            f"kubectl -n {ctx.namespace} logs {event.pod} -c sds --tail=30; check tls.crt/tls.key match",
        )
    return None
