"""Log events for the snapshot fixtures: certgen's three phase lines of a rotation, and a deterministic mix
of the kinds the log pane highlights, with one hostile line (markup, an escape sequence, a bell)."""

from __future__ import annotations

from datetime import datetime, timedelta

from gloomon.domain.model import Component, LogEvent, LogKind
from gloomon.domain.parse.logs import parse_log_line
from gloomon.lab.snapshots.certs import NOW
from gloomon.lab.snapshots.polls import PODS


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
    at = start + timedelta(seconds=count * 4)
    kubelet = at.isoformat().replace("+00:00", "Z")
    # Remote lines become events only through the parser, which makes them inert once.
    events.append(
        parse_log_line(
            f"{kubelet} {HOSTILE}", component=Component.GATEWAY_PROXY, pod=PODS[1][1], container="sds"
        )
    )
    return events
