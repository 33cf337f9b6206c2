"""One poll of the fixtures' fleet, built the way a session builds it: what each Envoy's admin API answered
(``/server_info``, ``/certs``, the SDS ``config_dump``, ``/clusters``, ``/stats``, parsed), the secret as the
Kubernetes API gave it, and :func:`build_snapshot` judging them. No phase, sync, lag or finding is written
here: the domain computes every one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    AdminFetch,
    CertsContext,
    CertsReport,
    ClustersReport,
    ClusterStatus,
    Component,
    CronJobState,
    EnvoyStats,
    FleetSnapshot,
    ForwardState,
    ForwardStatus,
    HostStatus,
    PodInfo,
    SdsSecret,
    SdsStats,
    SecretsDump,
    SecretState,
    ServerInfo,
    TargetRef,
    TlsStats,
)
from gloomon.lab.snapshots.certs import NOW, STEADY, Pair

CONTEXT = "gloomon-lab"
NAMESPACE = "gloo-system"
GLOO_XDS = f"gloo.{NAMESPACE}.svc.cluster.local:9977"

PODS: tuple[tuple[Component, str], ...] = (
    (Component.GLOO, "gloo-5b8d7c9f4-k2x7q"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-x2k4p"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-m9v3z"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-q4t8w"),
    (Component.EXTAUTH, "extauth-6f7c8d9b5-p3n6r"),
    (Component.RATE_LIMIT, "rate-limit-84c9d7f6b-h5j2l"),
)

#: when the fixtures' polls happen: two seconds before the fixtures' clock reads them
POLLED = NOW - timedelta(seconds=2)
#: when certgen last wrote the secret, unless a state says otherwise (three CronJob periods ago)
WRITTEN = NOW - timedelta(hours=9)

CRONJOB = CronJobState(
    name="gloo-mtls-certgen-cronjob",
    schedule="0 */6 * * *",
    suspended=False,
    last_schedule_time=NOW - timedelta(hours=6),
    rotation_duration_seconds=65.0,
)


def target_ref(
    component: Component, pod: str, index: int, *, at: datetime, error: str | None = None, sds: bool = True
) -> TargetRef:
    """The pod as discovery lists it, behind its port-forward (down, with ``error``, when unreachable);
    without ``sds``, the pod has no sds sidecar (no internal mTLS)."""
    port = 40100 + index
    forward = (
        ForwardState(ForwardStatus.DOWN, None, at - timedelta(seconds=40), error)
        if error
        else ForwardState(ForwardStatus.UP, f"127.0.0.1:{port}", at - timedelta(minutes=30))
    )
    containers = ("envoy-sidecar", "sds", component.value) if sds else (component.value,)
    info = PodInfo(pod, NAMESPACE, component, "Running", True, 0, containers=containers)
    return TargetRef(
        CONTEXT, NAMESPACE, component, pod, None if error else f"http://127.0.0.1:{port}", forward, info
    )


def _version(pair: Pair) -> str:
    """The SDS version of what a pod holds: the same content, the same version, at every pod."""
    bundle, leaf = pair
    return f"{(len(bundle) * 7 + int((leaf.serial if leaf else '00')[:2], 16)):08x}"


def admin_fetch(
    component: Component,
    pod: str,
    pair: Pair = STEADY,
    *,
    index: int = 0,
    at: datetime = NOW,
    delivered: datetime | None = None,
    error: str | None = None,
    tls_errors: int = 0,
    connect_fails: int = 0,
    mtls: bool = True,
) -> AdminFetch:
    """What one Envoy's admin API answered: it holds ``pair`` (delivered by SDS at ``delivered``), its
    xDS link to gloo is healthy unless ``connect_fails``; ``error`` when the endpoint could not be reached.
    Without ``mtls`` it serves no SDS secret at all (Gloo installed without internal mTLS)."""
    ref = target_ref(component, pod, index, at=at, error=error, sds=mtls)
    if error is not None:
        return AdminFetch(ref, at, 0.012, error=error)
    server = ServerInfo("1.40.0", "c2a9b6f/1.40.0/Clean/RELEASE/BoringSSL", "LIVE", 86400.0)
    if not mtls:
        return AdminFetch(ref, at, 0.01, server=server, certs=CertsReport(()), secrets=SecretsDump(()))
    bundle, leaf = pair
    version, since = _version(pair), delivered or WRITTEN
    chain = (leaf,) if leaf else ()
    secrets = SecretsDump(
        (
            SdsSecret(SERVER_CERT_SECRET, "tls_certificate", version, since, chain),
            SdsSecret(VALIDATION_CONTEXT_SECRET, "validation_context", version, since, bundle.cas),
        )
    )
    # no health flags: Gloo configures no health checks on these clusters (real-clusters.md §1); gloo's
    # own link is its sidecar's hop to its process, gloo_xds_cluster on 127.0.0.1:9999
    host = HostStatus(
        "127.0.0.1:9999" if component is Component.GLOO else "10.244.0.12:9977",
        (),
        cx_active=0 if connect_fails else 1,
        cx_connect_fail=connect_fails,
        cx_total=3,
    )
    if component is Component.GLOO:
        cluster = ClusterStatus("gloo_xds_cluster", None, (host,))
    else:
        cluster = ClusterStatus(GLOO_XDS, "xds_cluster", (host,))
    clusters = ClustersReport((cluster,))
    stats = EnvoyStats(
        sds=(SdsStats(SERVER_CERT_SECRET, version, 1), SdsStats(VALIDATION_CONTEXT_SECRET, version, 1)),
        tls=(TlsStats("cluster.xds_cluster", handshake=5, fail_verify_error=tls_errors),),
    )
    certs = CertsReport((CertsContext(bundle.cas, chain),))
    return AdminFetch(
        ref, at, 0.012, server=server, certs=certs, secrets=secrets, clusters=clusters, stats=stats
    )


def secret_state(pair: Pair, *, written: datetime, at: datetime = NOW) -> SecretState:
    """gloo-mtls-certs as the API returns it: ``pair``, last written by certgen at ``written``."""
    bundle, leaf = pair
    return SecretState(
        CONTEXT, NAMESPACE, bundle=bundle, leaf=leaf, resource_version="48213", read_at=at, updated_at=written
    )


def poll(
    pair: Pair = STEADY,
    *,
    at: datetime = POLLED,
    written: datetime | None = None,
    fetches: Mapping[str, AdminFetch] | None = None,
    previous: FleetSnapshot | None = None,
    errors: Sequence[str] = (),
    pods: Sequence[tuple[Component, str]] = PODS,
) -> FleetSnapshot:
    """One poll at ``at``: the secret holds ``pair`` (written at ``written``) and every pod of ``pods``
    holds it too, except the pods in ``fetches`` (by name), which answered that instead."""
    since = written or WRITTEN
    answers = [
        (fetches or {}).get(pod) or admin_fetch(component, pod, pair, index=i, at=at, delivered=since)
        for i, (component, pod) in enumerate(pods)
    ]
    return build_snapshot(
        taken_at=at,
        namespace=NAMESPACE,
        contexts=[CONTEXT],
        fetches=answers,
        secrets=[secret_state(pair, written=since, at=at)],
        cronjob=CRONJOB,
        policy=HealthPolicy(),
        previous=previous,
        errors=errors,
    )
