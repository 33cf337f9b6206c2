"""Building AdminFetches and snapshots from generated certificates, as sources would from real Envoys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import (
    AdminFetch,
    CertInfo,
    CertsContext,
    CertsReport,
    ClustersReport,
    ClusterStatus,
    Component,
    CronJobState,
    EnvoyStats,
    FleetSnapshot,
    HostStatus,
    LogEvent,
    ParseError,
    PodInfo,
    SdsSecret,
    SdsStats,
    SecretsDump,
    SecretState,
    ServerInfo,
    TargetRef,
    TlsStats,
    TrustBundle,
)
from tests.domain.certs import NOW

NS = "gloo-system"
CTX = "lab"
CRON = CronJobState("gloo-mtls-certgen-cronjob", "0 0 1 * *", False, rotation_duration_seconds=65)


def ref(pod: str, component: Component | None = None) -> TargetRef:
    if component is None:
        component = next(c for c in Component if pod.startswith(c.value))
    return TargetRef(CTX, NS, component, pod, f"http://127.0.0.1:1/{pod}")


def fetch(
    pod: str,
    leaf: CertInfo | None,
    cas: Sequence[CertInfo],
    *,
    at: datetime = NOW,
    uptime: float | None = 3600.0,
    via_certs: bool = False,
    updated: datetime | None = None,
    xds_healthy: bool = True,
    connect_fail: int = 0,
    tls_errors: int = 0,
    handshakes: int = 5,
    rejected: int = 0,
    state: str = "LIVE",
    error: str | None = None,
    bad: str | None = None,
    component: Component | None = None,
) -> AdminFetch:
    target = ref(pod, component)
    if error is not None:
        return AdminFetch(target, at, 0.01, error=error)
    updated = updated or (at - timedelta(hours=1))
    if via_certs:
        contexts = (
            (CertsContext(tuple(_strip(c) for c in cas), (_strip(leaf),) if leaf else ()),)
            if leaf or cas
            else ()
        )
        secrets: SecretsDump | ParseError | None = None
    else:
        contexts = (CertsContext(tuple(cas), (leaf,) if leaf else ()),) if leaf or cas else ()
        items = []
        if leaf is not None:
            items.append(SdsSecret("server_cert", "tls_certificate", "111", updated, (leaf,)))
        if cas:
            items.append(SdsSecret("validation_context", "validation_context", "111", updated, tuple(cas)))
        secrets = SecretsDump(tuple(items))
    name = "gloo_xds_cluster" if target.component is Component.GLOO else f"gloo.{NS}.svc.cluster.local:9977"
    host = HostStatus(
        "10.0.0.1:9977", () if xds_healthy else ("failed_active_hc",), cx_connect_fail=connect_fail
    )
    clusters = ClustersReport((ClusterStatus(name, "xds_cluster", (host,)),))
    stats = EnvoyStats(
        sds=(SdsStats("server_cert", "111", 1, rejected), SdsStats("validation_context", "111", 1)),
        tls=(TlsStats("cluster.xds_cluster", handshake=handshakes, fail_verify_error=tls_errors),),
    )
    result = AdminFetch(
        target,
        at,
        0.01,
        server=ServerInfo("1.40.0", "x/1.40.0/Clean/RELEASE/BoringSSL", state, uptime),
        certs=CertsReport(contexts),
        secrets=secrets,
        clusters=clusters,
        stats=stats,
    )
    if bad is not None:
        from dataclasses import replace

        result = replace(result, **{bad: ParseError(f"/{bad}", "not valid JSON (truncated)")})
    return result


def _strip(cert: CertInfo) -> CertInfo:
    return CertInfo(serial=cert.serial, not_before=cert.not_before, not_after=cert.not_after, sans=cert.sans)


def secret(leaf: CertInfo | None, cas: Sequence[CertInfo], **kw: object) -> SecretState:
    return SecretState(CTX, NS, bundle=TrustBundle(tuple(cas)) if cas else None, leaf=leaf, **kw)  # type: ignore[arg-type]


def snap(
    fetches: Sequence[AdminFetch],
    secrets: Sequence[SecretState] = (),
    *,
    at: datetime = NOW,
    cronjob: CronJobState | None = CRON,
    policy: HealthPolicy | None = None,
    previous: FleetSnapshot | None = None,
    log_events: Sequence[LogEvent] = (),
    missing: Sequence[Component] = (),
    errors: Sequence[str] = (),
    pods: Sequence[PodInfo] = (),
) -> FleetSnapshot:
    return build_snapshot(
        taken_at=at,
        namespace=NS,
        contexts=[CTX],
        fetches=fetches,
        secrets=secrets,
        cronjob=cronjob,
        policy=policy or HealthPolicy(),
        previous=previous,
        log_events=log_events,
        missing_components=missing,
        errors=errors,
        pods=pods,
    )


def codes(snapshot: FleetSnapshot) -> dict[str, list[tuple[str, str | None]]]:
    """code → [(severity, pod)] for compact assertions."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for item in snapshot.findings:
        out.setdefault(item.code, []).append((item.severity.value, item.pod))
    return out
