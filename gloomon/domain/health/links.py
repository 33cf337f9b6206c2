"""Findings about a target's link to gloo, from what its Envoy shows (:mod:`gloomon.domain.link`).

- ``xds-disconnected``: an ADS client's (gateway-proxy, kube-gateway) stream to gloo is closed
  (``control_plane.connected_state`` 0). It keeps serving its last configuration but gets no update, and
  would come up empty after a restart: a warning, critical once it lasted :data:`DOWN_CRITICAL_SECONDS`.
- ``xds-connect-failing``: connects to gloo failed in the last minute, or its health checks fail where
  any are configured, without an ADS stream state to say more (extauth and rate-limit sidecars): a warning.
- ``gloo-process-down``: gloo's own ``envoy-sidecar`` cannot reach the gloo process behind it
  (``gloo_xds_cluster`` connects fail): no client gets config; critical after :data:`DOWN_CRITICAL_SECONDS`.

All are ``info`` while the Envoy settles (its first minute, or the minute after new certificates). A link
with no open connection and no failure is "no recent connection attempt": no finding, no "healthy".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from gloomon.domain.compare.carry import down_for
from gloomon.domain.health.policy import Context, TargetHints, rose_recently, settling
from gloomon.domain.model import Component, Finding, LinkState, Severity, TargetStatus, XdsLink
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import one_line
from gloomon.domain.words import counted

__all__ = ["DOWN_CRITICAL_SECONDS", "close_reason", "down_seconds", "link_findings"]

#: A link down this long is critical: past a few ADS retries at Envoy's 30 s backoff cap, and past a
#: rolling restart of gloo (its new pod is serving within a minute or two), so not a blip.
DOWN_CRITICAL_SECONDS = 180.0
#: what Envoy logs when a TLS handshake with a peer fails
_TLS_ERRORS = "CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|TLS_error"


#: what a ``gRPC config stream … closed`` line says before its reason, and Envoy's boilerplate in it
_CLOSED = re.compile(r"^.*? gRPC config stream (?:to \S+ )?closed[^:]*: ")
_BOILERPLATE = "upstream connect error or disconnect/reset before headers. "


def close_reason(message: str) -> str:
    """``14, reset reason: connection termination{…}`` of a logged stream close: its gRPC status and
    why, without the words every such line repeats."""
    return _CLOSED.sub("", message, count=1).replace(_BOILERPLATE, "")


def down_seconds(target: TargetStatus, now: datetime) -> float | None:
    """How long its link to gloo has been down, counted from its Envoy's start at the latest (a
    restarted Envoy starts a new link); None while it is up or idle."""
    return down_for(target.xds_down_since, target.envoy_started_at, now)


def link_findings(
    target: TargetStatus, ctx: Context, hints: TargetHints, gloo_contexts: Sequence[str] = ()
) -> list[Finding]:
    """The findings of its link; ``gloo_contexts``: where the gloo it talks to runs
    (:func:`gloomon.domain.compare.planes.gloo_contexts`), when that is not its own context (split
    planes): the hint's commands about gloo name those contexts, its own ones are the client's."""
    link = target.xds
    if link is None or link.state in (LinkState.CONNECTED, LinkState.IDLE):
        return []
    component, pod = target.ref.component, target.ref.pod
    down = down_seconds(target, ctx.now) or 0.0
    soft = settling(target, ctx) and down < DOWN_CRITICAL_SECONDS
    long = down >= DOWN_CRITICAL_SECONDS
    severity = Severity.INFO if soft else Severity.CRITICAL if long else Severity.WARNING
    if link.state is LinkState.FAILING:
        severity = Severity.INFO if soft else Severity.WARNING
    seen = _seen(link, target, ctx)
    lasted = f" for {human_duration(down)}" if down >= 1 else ""
    if component is Component.GLOO:
        return [
            Finding(
                severity,
                "gloo-process-down",
                component,
                pod,
                f"gloo's envoy-sidecar cannot reach the gloo process behind it{lasted} ({seen}): no "
                f"gateway-proxy, kube-gateway, extauth or rate-limit gets config from this pod",
                (
                    f"kubectl -n {hints.ns} logs {hints.pod} -c gloo --previous --tail=50; "
                    f"kubectl -n {hints.ns} describe pod {hints.pod}"
                    if hints.url is None
                    else f"is the gloo process running next to the Envoy at {hints.url}? "
                    f"{hints.curl('/stats')}"
                ),
            )
        ]
    logs = hints.logs(hints.envoy, "| grep 'gRPC config stream'")
    gloo = _gloo_pods(ctx.namespace, [c for c in gloo_contexts if c != target.ref.context], hints)
    tls = rose_recently(target.tls_errors_last_rise, ctx.now) or "TLS_error" in (link.stream_closed or "")
    then = (
        f"; TLS fails: compare this pod's bundle with gloo's and grep {_TLS_ERRORS}"
        if tls
        else "; is gloo running and its Service reachable?"
    )
    if link.state is LinkState.DISCONNECTED:
        empty = " and would come up empty after a restart" if not soft and long else ""
        return [
            Finding(
                severity,
                "xds-disconnected",
                component,
                pod,
                f"ADS stream to gloo closed{lasted} ({seen}): it keeps its last config but receives no "
                f"update{empty}",
                f"{logs}; {gloo}{then}",
            )
        ]
    # a sidecar is a TCP proxy with no ADS stream of its own: its process's logs tell why it reconnects
    process = hints.logs(component.value, "--tail=30") if link.connected is None else logs
    return [
        Finding(
            severity,
            "xds-connect-failing",
            component,
            pod,
            f"connections to gloo fail{lasted} ({seen})",
            f"{process}; {gloo}{then}",
        )
    ]


def _gloo_pods(namespace: str, elsewhere: Sequence[str], hints: TargetHints) -> str:
    """The command that shows gloo's pods: in the contexts named (another cluster's gloo), else in the
    client's own (its context is added with the others, :func:`gloomon.domain.health.judge.in_context`)."""
    if hints.url is not None:
        return hints.curl("/stats")
    command = f"-n {namespace} get pods -l gloo=gloo"
    if not elsewhere:
        return f"kubectl {command}"
    return "; ".join(f"kubectl --context {context} {command}" for context in elsewhere)


def _seen(link: XdsLink, target: TargetStatus, ctx: Context) -> str:
    """What showed it, in words: the stream state, failed connects, TLS failures, health checks, logs."""
    parts: list[str] = []
    if link.connected is False:
        parts.append("control_plane.connected_state 0")
    if rose_recently(target.xds_connect_fail_last_rise, ctx.now):
        where = "gloo_xds_cluster" if target.ref.component is Component.GLOO else "xds_cluster"
        parts.append(f"{counted(link.cx_connect_fail, 'failed connect')} on {where}, rising")
    if rose_recently(target.tls_errors_last_rise, ctx.now):
        parts.append("TLS handshakes failing")
    if link.health_checks_fail:
        parts.append("its health checks fail")
    if link.stream_closed is not None and link.stream_closed_at is not None:
        ago = human_duration(max((ctx.now - link.stream_closed_at).total_seconds(), 0.0))
        parts.append(f"Envoy logged {ago} ago: {one_line(close_reason(link.stream_closed), 160)}")
    return "; ".join(parts) or "no connection open"
