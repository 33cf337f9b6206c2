"""Findings about a target's gRPC SDS streams (reference/real-clusters.md §2).

- ``sds-stream-down``: the Envoy holds certificates but its SDS stream to the pod's ``sds`` container is
  closed (``sds.<secret>.control_plane.connected_state`` 0, ``update_failure`` rising): it keeps serving
  what it holds, and will miss the next rotation. ``info`` for :data:`SDS_SETTLE_SECONDS` (a restarted
  sds container is back within Envoy's 30 s retry cap), then a warning, long before ``target-lagging``.
- ``sds-initial-fetch-timeout``: the initial fetch of the mTLS secrets timed out
  (``sds.<secret>.init_fetch_timeout``) and they have not arrived: they sit in
  ``dynamic_warming_secrets``, and connections needing them are refused (``*_context_secrets_not_ready``).
  It stands in for ``sds-not-delivered`` (same severity: ``info`` in the Envoy's first minute), with why.
"""

from __future__ import annotations

from gloomon.domain.compare.carry import down_for
from gloomon.domain.health.policy import Context, TargetHints, envoy_young
from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    EnvoyStats,
    Finding,
    SecretsDump,
    Severity,
    TargetStatus,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.tls_scopes import is_mtls_scope
from gloomon.domain.words import counted

__all__ = ["SDS_CLUSTERS", "SDS_SETTLE_SECONDS", "initial_fetch_timeout", "sds_stream_down", "warming"]

#: Envoy's ADS/SDS retry backoff cap: a restarted sds container is reconnected within it
SDS_SETTLE_SECONDS = 30.0
#: the SDS clusters of Gloo's bootstraps: gloo's sidecar, gateway-proxy, extauth/rate-limit sidecars
SDS_CLUSTERS = ("gloo_sds", "gateway_proxy_sds", "gloo_client_sds")
_SECRETS = (SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET)


def warming(target: TargetStatus) -> tuple[str, ...]:
    """The secrets its ``/config_dump`` lists in ``dynamic_warming_secrets`` (requested, never arrived)."""
    secrets = target.fetch.secrets if target.fetch is not None else None
    if not isinstance(secrets, SecretsDump):
        return ()
    return tuple(sorted({secret.name for secret in secrets.secrets if secret.warming}))


def _sds_connect_fails(stats: EnvoyStats) -> str:
    for name in SDS_CLUSTERS:
        cluster = stats.upstream_for(name)
        if cluster is not None and cluster.cx_connect_fail:
            return f"; {counted(cluster.cx_connect_fail, 'failed connect')} to {name}"
    return ""


def sds_stream_down(
    target: TargetStatus, stats: EnvoyStats, ctx: Context, hints: TargetHints
) -> Finding | None:
    """``sds-stream-down`` while certificates are held and an SDS stream of them is closed."""
    if target.sds_down_since is None or target.leaf is None:
        return None
    closed = [s for s in (stats.sds_for(name) for name in _SECRETS) if s is not None and s.connected is False]
    if not closed:
        return None
    down = down_for(target.sds_down_since, target.envoy_started_at, ctx.now) or 0.0
    soft = down < SDS_SETTLE_SECONDS or bool(envoy_young(target, ctx))
    failures = sum(item.update_failure for item in closed)
    names = ", ".join(item.secret for item in closed)
    lasted = f" for {human_duration(down)}" if down >= 1 else ""
    return Finding(
        Severity.INFO if soft else Severity.WARNING,
        "sds-stream-down",
        target.ref.component,
        target.ref.pod,
        f"its SDS stream is closed{lasted} ({names}: control_plane.connected_state 0, "
        f"{counted(failures, 'failed update')}{_sds_connect_fails(stats)}): Envoy keeps serving the "
        f"certificates it holds, but this pod will miss the next rotation",
        (
            f"is the sds container running? kubectl -n {hints.ns} get pod {hints.pod}; "
            f"{hints.logs('sds', '--previous --tail=30')}; if it does not come back: {hints.restart()}"
            if hints.url is None
            else f"is the SDS server feeding {hints.url} running? {hints.curl('/stats')}"
        ),
    )


def initial_fetch_timeout(
    target: TargetStatus, stats: EnvoyStats | None, ctx: Context, hints: TargetHints
) -> Finding | None:
    """``sds-initial-fetch-timeout`` when a secret not delivered had its initial fetch time out."""
    if stats is None:
        return None
    timed_out = [
        item
        for item in (stats.sds_for(name) for name in _SECRETS)
        if item is not None and item.init_fetch_timeout > 0 and item.update_success == 0
    ]
    if not timed_out:
        return None
    young = envoy_young(target, ctx)
    severity = Severity.INFO if young else (Severity.WARNING if young is None else Severity.CRITICAL)
    names = ", ".join(item.secret for item in timed_out)
    held = warming(target)
    still = f"; still warming: {', '.join(held)}" if held else ""
    refused = sum(
        n for scope, n in stats.secrets_not_ready.items() if is_mtls_scope(scope, target.ref.component)
    )
    refusals = f"; {counted(refused, 'connection')} refused for want of them" if refused else ""
    return Finding(
        severity,
        "sds-initial-fetch-timeout",
        target.ref.component,
        target.ref.pod,
        f"SDS initial fetch of {names} timed out (init_fetch_timeout){still}{refusals}"
        f"{_sds_connect_fails(stats)}: mTLS to and from this pod fails until they arrive",
        f"{hints.logs('sds', '--tail=30')}; "
        + (
            f"is the sds container running and the secret mounted? kubectl -n {hints.ns} describe pod "
            f"{hints.pod}"
            if hints.url is None
            else f"what waits: {hints.curl('/config_dump')} (resource=dynamic_warming_secrets)"
        ),
    )
