"""Snapshots of one context whose proxies run in two namespaces, built like a session's poll: gloo and
two gateway-proxies in the release namespace, a kube-gateway proxy (Gloo 1.19+ Kubernetes Gateway API)
in its Gateway's namespace ``apps``, which holds its own copy of ``gloo-mtls-certs``. The domain judges
them; nothing here states a sync, a lag or a finding.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import (
    AdminFetch,
    ClustersReport,
    ClusterStatus,
    Component,
    FleetSnapshot,
    HostStatus,
    SecretState,
)
from gloomon.lab.snapshots.certs import LEAF_ROTATED, STEADY, Pair
from gloomon.lab.snapshots.polls import (
    CONTEXT,
    CRONJOB,
    NAMESPACE,
    POLLED,
    WRITTEN,
    admin_fetch,
    secret_state,
)

#: the Gateway's namespace, where the kube-gateway proxy and its copy of the secret live
APPS = "apps"
KUBE_GATEWAY_POD = "gloo-proxy-http-6f9c7b8d5-w7k2m"
#: how the lab's copy says it is made: gloo's Gateway deployer renders it (owner, field manager)
COPIED_BY = "gloo's Gateway deployer, for Gateway apps/http"
#: a kubed sync rule on the source (the lab's source carries none: gloo renders the kube-gateway's copy)
SYNCS_BY = "kubed (config-syncer), into namespaces labelled gloo-mtls-certs=sync"

_RELEASE_PODS = (
    (Component.GLOO, "gloo-5b8d7c9f4-k2x7q"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-x2k4p"),
    (Component.GATEWAY_PROXY, "gateway-proxy-7d9f8b6c5-m9v3z"),
)


def in_namespace(fetch: AdminFetch, namespace: str) -> AdminFetch:
    """``fetch`` of a pod of ``namespace``."""
    ref = fetch.target
    info = replace(ref.pod_info, namespace=namespace) if ref.pod_info is not None else None
    return replace(fetch, target=replace(ref, namespace=namespace, pod_info=info))


def two_namespaces(
    source: Pair = STEADY,
    copy: Pair | None = STEADY,
    *,
    written: datetime = WRITTEN,
    copy_written: datetime | None = None,
    held: Pair | None = None,
    copied_by: str | None = COPIED_BY,
    syncs_by: str | None = None,
    previous: FleetSnapshot | None = None,
    at: datetime = POLLED,
    copy_read: SecretState | None = None,
    gloo_connect_fails: int = 0,
) -> FleetSnapshot:
    """certgen wrote ``source`` in the release namespace at ``written`` and its pods hold it; the copy in
    ``apps`` holds ``copy`` (None: it is missing), last written at ``copy_written``, by what
    ``copied_by`` (the copy's marks) and ``syncs_by`` (the source's sync rule) say, unless the API
    answered ``copy_read`` (e.g. a 403); the kube-gateway pod holds ``held`` (default: the copy's
    content, else the source's); gloo's sidecar failed ``gloo_connect_fails`` connects to gloo's process
    so far (a rise since ``previous``: gloo's process is down)."""
    release = [
        admin_fetch(component, pod, source, index=i, at=at, delivered=written)
        for i, (component, pod) in enumerate(_RELEASE_PODS)
    ]
    if gloo_connect_fails:
        release[0] = _gloo_process_unreachable(release[0], gloo_connect_fails)
    copy_since = copy_written or written
    gateway = in_namespace(
        admin_fetch(
            Component.KUBE_GATEWAY,
            KUBE_GATEWAY_POD,
            held or copy or source,
            index=len(release),
            at=at,
            delivered=copy_since,
        ),
        APPS,
    )
    copy_state = copy_read or (
        replace(secret_state(copy, written=copy_since, at=at), namespace=APPS, copied_by=copied_by)
        if copy is not None
        else SecretState(CONTEXT, APPS, read_at=at, missing=True, error=f"secret not found in {APPS}")
    )
    return build_snapshot(
        taken_at=at,
        namespace=NAMESPACE,
        contexts=[CONTEXT],
        fetches=[*release, gateway],
        secrets=[replace(secret_state(source, written=written, at=at), syncs_by=syncs_by), copy_state],
        cronjob=CRONJOB,
        policy=HealthPolicy(),
        previous=previous,
    )


def _gloo_process_unreachable(fetch: AdminFetch, fails: int) -> AdminFetch:
    """gloo's ``fetch`` with its sidecar's hop to gloo's own process (``gloo_xds_cluster``, 127.0.0.1:9999)
    failing ``fails`` connects so far; health flags stay healthy (no health checks in production)."""
    host = HostStatus("127.0.0.1:9999", (), cx_active=0, cx_connect_fail=fails, cx_total=fails)
    return replace(fetch, clusters=ClustersReport((ClusterStatus("gloo_xds_cluster", None, (host,)),)))


def copy_frozen() -> FleetSnapshot:
    """certgen rotated 5 minutes ago (phase 2/3: new leaf) and the release namespace's pods followed;
    the copy in ``apps`` did not (gloo did not render it again), so it and the kube-gateway pod still
    hold the old content."""
    return two_namespaces(LEAF_ROTATED, STEADY, written=POLLED - timedelta(minutes=5))


def copy_removed() -> FleetSnapshot:
    """The copy in ``apps`` was deleted; the kube-gateway pod keeps what its volume last held."""
    return two_namespaces(STEADY, None)
