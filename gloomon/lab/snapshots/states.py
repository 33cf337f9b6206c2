"""Deterministic FleetSnapshots for the UI tests, screenshots and the latency benchmark.

Certificates are built as ``CertInfo`` with fixed serials, fingerprints and dates (the leaf also carries
the DER of a real Ed25519 certificate made from a fixed key, so "copy PEM" has real bytes). The clock is
fixed at :data:`NOW`. Scenarios mirror the lab's: steady, ca-added, leaf-rotated, lagging, expired,
untrusted, unreachable, plus the empty states.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from gloomon.clock import fixed_clock
from gloomon.domain.model import (
    AdminFetch,
    CertInfo,
    ClustersReport,
    ClusterStatus,
    Component,
    CronJobState,
    Finding,
    FleetSnapshot,
    ForwardState,
    ForwardStatus,
    HostStatus,
    LogEvent,
    LogKind,
    Phase,
    PhaseVerdict,
    PodInfo,
    SecretState,
    SecretStatus,
    Severity,
    Subjects,
    TargetRef,
    TargetStatus,
    TrustBundle,
    XdsLink,
)

NOW = datetime(2026, 11, 25, 21, 0, 0, tzinfo=UTC)
CLOCK = fixed_clock(NOW)
CONTEXT = "gloomon-lab"
NAMESPACE = "gloo-system"
DAY = timedelta(days=1)

PODS: tuple[tuple[Component, str], ...] = (
    (Component.GLOO, "gloo-5b8d7c9f4-k2x7q"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-x2k4p"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-m9v3z"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-q4t8w"),
    (Component.EXTAUTH, "extauth-6f7c8d9b5-p3n6r"),
    (Component.RATE_LIMIT, "rate-limit-84c9d7f6b-h5j2l"),
)


def _sha(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


@cache
def _real_der(common_name: str) -> bytes:
    """A real, deterministic certificate (Ed25519 signatures are deterministic; the key is fixed)."""
    key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(common_name.encode()).digest())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1A2B3C4D5E6F)
        .not_valid_before(datetime(2026, 1, 10, tzinfo=UTC))
        .not_valid_after(datetime(2027, 1, 10, tzinfo=UTC))
        .sign(key, None)
    )
    return cert.public_bytes(serialization.Encoding.DER)


def ca(name: str, serial: str, not_before: datetime, days: int = 365) -> CertInfo:
    return CertInfo(
        serial=serial,
        not_before=not_before,
        not_after=not_before + days * DAY,
        subject="O=solo.io",
        issuer="O=solo.io",
        common_name=name,
        sha256=_sha(name),
        key_type="RSA",
        key_bits=2048,
        is_ca=True,
    )


def leaf(seed: str, serial: str, signer: CertInfo, not_after: datetime | None = None) -> CertInfo:
    return CertInfo(
        serial=serial,
        not_before=signer.not_before,
        not_after=not_after or signer.not_before + 365 * DAY,
        sans=("gloo.gloo-system.svc", "gloo.gloo-system.svc.cluster.local"),
        subject="CN=gloo.gloo-system.svc,O=solo.io",
        issuer="O=solo.io",
        common_name="gloo.gloo-system.svc",
        sha256=_sha(seed),
        key_type="RSA",
        key_bits=2048,
        is_ca=False,
        der=_real_der(seed),
    )


CA_OLD = ca("gloo-ca-2026-01", "5f3a9c21e7d04b18", datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
CA_NEW = ca("gloo-ca-2026-11", "b81e4d7f02a9c635", datetime(2026, 11, 25, 20, 58, tzinfo=UTC))
CA_FOREIGN = ca("someone-elses-ca", "0c11d2e3f4a5b6c7", datetime(2026, 6, 1, tzinfo=UTC))
LEAF_OLD = leaf("leaf-old", "7c2e91f0a4b35d68", CA_OLD)
LEAF_NEW = leaf("leaf-new", "e49a0c37b1d8f256", CA_NEW)
LEAF_FOREIGN = leaf("leaf-foreign", "3d5f7b9a1c2e4f60", CA_FOREIGN)
LEAF_EXPIRED = leaf("leaf-expired", "91ab23cd45ef6789", CA_OLD, not_after=NOW - 3 * DAY)

CRONJOB = CronJobState(
    name="gloo-mtls-certgen-cronjob",
    schedule="0 */6 * * *",
    suspended=False,
    last_schedule_time=NOW - 2 * timedelta(hours=3),
    rotation_duration_seconds=65.0,
)
CLUSTERS = ClustersReport(
    (
        ClusterStatus(
            "xds_cluster", "xds_cluster", (HostStatus("10.244.0.12:9977", (), cx_active=1, cx_total=3),)
        ),
        ClusterStatus("gloo.gloo-system.svc.cluster.local:9977", None, (HostStatus("10.244.0.12:9977", ()),)),
    )
)

Pair = tuple[TrustBundle, CertInfo | None]
STEADY: Pair = (TrustBundle((CA_OLD,)), LEAF_OLD)
CA_ADDED: Pair = (TrustBundle((CA_OLD, CA_NEW)), LEAF_OLD)
LEAF_ROTATED: Pair = (TrustBundle((CA_OLD, CA_NEW)), LEAF_NEW)
NEW_STEADY: Pair = (TrustBundle((CA_NEW,)), LEAF_NEW)


def _verdict(pair: Pair) -> PhaseVerdict:
    bundle, the_leaf = pair
    if the_leaf is None:
        return PhaseVerdict(Phase.UNKNOWN, "no leaf delivered")
    signer = next((i for i, c in enumerate(bundle.cas) if c.not_before == the_leaf.not_before), None)
    if signer is None:
        return PhaseVerdict(Phase.BROKEN, "leaf signed by no CA of the bundle", len(bundle))
    if the_leaf.not_after <= NOW:
        return PhaseVerdict(Phase.BROKEN, "leaf expired", len(bundle), signer)
    if len(bundle) == 1:
        return PhaseVerdict(Phase.STEADY, "1 CA, leaf signed by it", 1, signer)
    if signer == 0:
        return PhaseVerdict(Phase.CA_ADDED, "2 CAs, leaf signed by the older", 2, 0)
    return PhaseVerdict(Phase.LEAF_ROTATED, "2 CAs, leaf signed by the newer", 2, 1)


def target(
    component: Component,
    pod: str,
    pair: Pair,
    secret_pair: Pair | None,
    *,
    now: datetime = NOW,
    index: int = 0,
    error: str | None = None,
    lag_seconds: float | None = None,
    tls_errors: int = 0,
    xds_healthy: bool = True,
) -> TargetStatus:
    port = 40100 + index
    forward = (
        ForwardState(ForwardStatus.DOWN, None, now - timedelta(seconds=40), error)
        if error
        else ForwardState(ForwardStatus.UP, f"127.0.0.1:{port}", now - timedelta(minutes=30))
    )
    ref = TargetRef(
        CONTEXT,
        NAMESPACE,
        component,
        pod,
        None if error else f"http://127.0.0.1:{port}",
        forward,
        PodInfo(
            pod,
            NAMESPACE,
            component,
            "Running",
            True,
            0,
            containers=("envoy-sidecar", "sds", component.value),
        ),
    )
    fetch = AdminFetch(ref, now, 0.012, error=error, clusters=None if error else CLUSTERS)
    if error:
        return TargetStatus(ref=ref, fetch=fetch)
    bundle, the_leaf = pair
    verdict = _verdict(pair)
    in_sync = None if secret_pair is None else pair == secret_pair
    return TargetStatus(
        ref=ref,
        fetch=fetch,
        leaf=the_leaf,
        bundle=bundle,
        verdict=verdict,
        in_sync_with_secret=in_sync,
        lag_since=now - timedelta(seconds=lag_seconds) if lag_seconds else None,
        lag_seconds=lag_seconds if in_sync is False else None,
        sds_version=f"{(len(bundle) * 7 + int((the_leaf or LEAF_OLD).serial[:2], 16)):08x}",
        xds=XdsLink("xds_cluster", xds_healthy, 0 if xds_healthy else 14, 1 if xds_healthy else 0),
        tls_errors=tls_errors,
        envoy_version="1.40.0",
    )


def secret(pair: Pair, *, content_since: datetime) -> SecretStatus:
    bundle, the_leaf = pair
    verdict = _verdict(pair)
    state = SecretState(
        CONTEXT, NAMESPACE, bundle=bundle, leaf=the_leaf, resource_version="48213", read_at=NOW
    )
    return SecretStatus(state, verdict, content_since)


def finding(severity: Severity, code: str, pod: str | None, message: str, hint: str) -> Finding:
    component = next((c for c, p in PODS if p == pod), None)
    return Finding(severity, code, component, pod, message, hint)


def snapshot(
    pair: Pair = STEADY,
    *,
    now: datetime = NOW,
    content_since: datetime | None = None,
    overrides: dict[str, TargetStatus] | None = None,
    findings: tuple[Finding, ...] = (),
    errors: tuple[str, ...] = (),
    generation: int = 1,
) -> FleetSnapshot:
    """All pods hold ``pair`` (the secret's), except the ``overrides`` by pod name."""
    targets = tuple(
        (overrides or {}).get(pod) or target(component, pod, pair, pair, now=now, index=i)
        for i, (component, pod) in enumerate(PODS)
    )
    return FleetSnapshot(
        taken_at=now - timedelta(seconds=2),
        namespace=NAMESPACE,
        contexts=(CONTEXT,),
        secrets=(secret(pair, content_since=content_since or now - 3 * timedelta(hours=3)),),
        cronjob=CRONJOB,
        targets=targets,
        findings=tuple(sorted(findings, key=lambda f: -f.severity.rank)),
        errors=errors,
        generation=generation,
    )


# ------------------------------------------------------------------------------------------ scenarios

LAGGING_POD = PODS[3][1]
BAD_POD = PODS[4][1]


def steady() -> FleetSnapshot:
    return snapshot(STEADY)


def ca_added() -> FleetSnapshot:
    return snapshot(CA_ADDED, content_since=NOW - timedelta(seconds=41))


def leaf_rotated() -> FleetSnapshot:
    return snapshot(LEAF_ROTATED, content_since=NOW - timedelta(seconds=41))


def lagging() -> FleetSnapshot:
    lagger = target(Component.GATEWAY_PROXY, LAGGING_POD, CA_ADDED, LEAF_ROTATED, index=3, lag_seconds=80)
    return snapshot(
        LEAF_ROTATED,
        content_since=NOW - timedelta(seconds=80),
        overrides={LAGGING_POD: lagger},
        findings=(
            finding(
                Severity.WARNING,
                "target-lagging",
                LAGGING_POD,
                "holds an older leaf than the secret for 1m20s",
                "SDS should pick up the secret within rotationDuration; check the sds container's logs",
            ),
        ),
    )


def expired() -> FleetSnapshot:
    """Every pod holds the secret's expired leaf: the domain reports it once, for the secret (pod=None)."""
    pair: Pair = (TrustBundle((CA_OLD,)), LEAF_EXPIRED)
    return snapshot(
        pair,
        findings=(
            Finding(
                Severity.CRITICAL,
                "leaf-expired",
                None,
                None,
                f"secret gloo-mtls-certs ({CONTEXT}): leaf expired 3d ago "
                f"(serial {LEAF_EXPIRED.short_serial})",
                "certgen replaces an expired secret in one step: kubectl -n gloo-system create job "
                "--from=cronjob/gloo-mtls-certgen-cronjob certgen-now",
                Subjects(certs=(LEAF_EXPIRED,)),
            ),
        ),
    )


def untrusted() -> FleetSnapshot:
    bad = target(
        Component.EXTAUTH,
        BAD_POD,
        (TrustBundle((CA_OLD,)), LEAF_FOREIGN),
        STEADY,
        index=4,
        lag_seconds=300,
        tls_errors=37,
        xds_healthy=False,
    )
    return snapshot(
        STEADY,
        overrides={BAD_POD: bad},
        findings=(
            finding(
                Severity.CRITICAL,
                "leaf-untrusted",
                BAD_POD,
                "leaf is signed by no CA of its bundle",
                "the pod serves a certificate from another issuer; restart it to reload gloo-mtls-certs",
            ),
            finding(
                Severity.CRITICAL,
                "xds-link-failing",
                BAD_POD,
                "xDS link to gloo failing (14 connect fails)",
                "TLS handshakes to gloo fail: compare the bundles",
            ),
        ),
    )


def unreachable() -> FleetSnapshot:
    down = target(
        Component.EXTAUTH,
        BAD_POD,
        STEADY,
        STEADY,
        index=4,
        error="port-forward: connection refused (pod restarting)",
    )
    return snapshot(
        STEADY,
        overrides={BAD_POD: down},
        findings=(
            finding(
                Severity.WARNING,
                "target-unreachable",
                BAD_POD,
                "admin endpoint unreachable",
                "the pod may be restarting; gloomon re-targets the new pod by label",
            ),
        ),
    )


def api_down() -> FleetSnapshot:
    return replace(steady(), errors=("Kubernetes API unreachable: connection refused (127.0.0.1:6443)",))


def no_gloo() -> FleetSnapshot:
    return FleetSnapshot(
        taken_at=NOW - timedelta(seconds=2),
        namespace="default",
        contexts=(CONTEXT,),
        secrets=(
            SecretStatus(
                SecretState(CONTEXT, "default", missing=True), PhaseVerdict(Phase.UNKNOWN, "no secret")
            ),
        ),
        missing_components=tuple(Component),
    )


def no_mtls() -> FleetSnapshot:
    gateway = PODS[1]
    ref = TargetRef(
        CONTEXT,
        NAMESPACE,
        gateway[0],
        gateway[1],
        "http://127.0.0.1:40101",
        ForwardState(ForwardStatus.UP, "127.0.0.1:40101"),
        PodInfo(gateway[1], NAMESPACE, gateway[0], "Running", True, 0, containers=("gateway-proxy",)),
    )
    plain = TargetStatus(ref=ref, fetch=AdminFetch(ref, NOW, 0.01), envoy_version="1.40.0")
    return FleetSnapshot(
        taken_at=NOW - timedelta(seconds=2),
        namespace=NAMESPACE,
        contexts=(CONTEXT,),
        secrets=(
            SecretStatus(
                SecretState(CONTEXT, NAMESPACE, missing=True), PhaseVerdict(Phase.UNKNOWN, "no secret")
            ),
        ),
        targets=(plain,),
    )


def rotation_series(end: datetime = NOW) -> list[FleetSnapshot]:
    """A full rotation in 10 s polls: steady → ca-added → leaf-rotated → new steady, pods lagging a bit."""
    start = end - timedelta(seconds=300)
    phases = [(0, STEADY), (60, CA_ADDED), (140, LEAF_ROTATED), (220, NEW_STEADY)]
    delays = {pod: 10 * (i % 4) for i, (_, pod) in enumerate(PODS)}
    delays[LAGGING_POD] = 70
    series = []
    for step in range(0, 301, 10):
        at = start + timedelta(seconds=step)
        current = max(i for i, (offset, _) in enumerate(phases) if offset <= step)
        since = start + timedelta(seconds=phases[current][0])
        overrides = {}
        for i, (component, pod) in enumerate(PODS):
            held = max(
                i2 for i2, (offset, _) in enumerate(phases) if offset + (delays[pod] if i2 else 0) <= step
            )
            overrides[pod] = target(
                component,
                pod,
                phases[held][1],
                phases[current][1],
                now=at,
                index=i,
                lag_seconds=(at - since).total_seconds() if held != current else None,
            )
        snap = snapshot(
            phases[current][1],
            now=at + timedelta(seconds=2),
            content_since=since,
            overrides=overrides,
            generation=step // 10 + 1,
        )
        series.append(snap)
    return series


def certgen_events(end: datetime = NOW) -> list[LogEvent]:
    start = end - timedelta(seconds=300)
    lines = [
        (60, "updating to both ca bundles"),
        (140, "updating to new server cert"),
        (220, "updating to new ca bundle"),
    ]
    return [
        LogEvent(
            start + timedelta(seconds=offset),
            "info",
            None,
            "gloo-mtls-certgen-x7k2p",
            "certgen",
            text,
            LogKind.CERTGEN_PHASE,
        )
        for offset, text in lines
    ]


HOSTILE = "[bold red]x[/] \x1b[31mred\x1b[0m \x07bell"


def log_events(count: int = 12, *, start: datetime = NOW - timedelta(seconds=60)) -> list[LogEvent]:
    """A deterministic mix of known kinds, levels and one hostile line."""
    templates = [
        (
            Component.GATEWAY_PROXY,
            "sds",
            "info",
            LogKind.SDS_UPDATE,
            "Updating SDS config. sdsClient: gateway-proxy. Snapshot version is 3618394587",
        ),
        (
            Component.GLOO,
            "envoy-sidecar",
            "info",
            LogKind.PLAIN,
            "cds: add 3 cluster(s), remove 0 cluster(s)",
        ),
        (None, "certgen", "info", LogKind.CERTGEN_PHASE, "updating to new server cert"),
        (
            Component.EXTAUTH,
            "envoy-sidecar",
            "warning",
            LogKind.XDS_STREAM_CLOSED,
            "StreamAggregatedResources gRPC config stream to xds_cluster closed: 14, upstream connect error",
        ),
        (
            Component.EXTAUTH,
            "envoy-sidecar",
            "error",
            LogKind.TLS_VERIFY_FAILED,
            "TLS error: 268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED",
        ),
        (Component.RATE_LIMIT, "sds", "debug", LogKind.PLAIN, "file watch event: /etc/envoy/ssl/..data"),
    ]
    events = []
    for index in range(count):
        component, container, level, kind, message = templates[index % len(templates)]
        pod = next(p for c, p in PODS if c == component) if component else "gloo-mtls-certgen-x7k2p"
        events.append(
            LogEvent(start + timedelta(seconds=index * 4), level, component, pod, container, message, kind)
        )
    events.append(
        LogEvent(
            start + timedelta(seconds=count * 4),
            "info",
            Component.GATEWAY_PROXY,
            PODS[1][1],
            "sds",
            HOSTILE,
            LogKind.PLAIN,
        )
    )
    return events
