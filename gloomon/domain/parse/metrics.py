"""Envoy ``/clusters`` (JSON or text) and ``/stats`` (text or JSON) as models.

Both forms are detected from the body. Stats values may be strings or numbers, zero stats may be
missing (= 0), cluster names may contain ``:`` (``gloo.gloo-system.svc.cluster.local:9977``), so text
lines are split from the right. Secret names in stat names may contain dots: matched by regex.
"""

from __future__ import annotations

import re
from typing import Any

from gloomon.domain.model import (
    ClustersReport,
    ClusterStatus,
    EnvoyStats,
    HostStatus,
    ParseError,
    SdsStats,
    TlsStats,
    UpstreamStats,
)
from gloomon.domain.parse.wire import as_int, as_str, decode_text, from_unix, load_json

#: The RE2 regex gloomon passes as ``/stats?filter=``: SDS subscriptions (their own stream state too),
#: TLS counters, certificate expiry gauges, the ADS stream state, the server state, and the connection
#: counters of the link's clusters: the xDS cluster (stat name ``xds_cluster``), gloo's hop to its own
#: process (``gloo_xds_cluster``) and the SDS clusters (reference/real-clusters.md §1-2), and the xDS
#: cluster's passed health checks where any are configured (production configures none; the lab does).
STATS_FILTER = (
    r"^sds\.|^control_plane\.connected_state$|\.ssl\.(handshake|connection_error|fail_verify_error"
    r"|fail_verify_no_cert)$|ssl\.certificate\..*expiration|^server\.(state|live|uptime"
    r"|days_until_first_cert_expiring)$|_context_secrets_not_ready$"
    r"|^cluster\.(xds_cluster|gloo_xds_cluster|gateway_proxy_sds|gloo_sds|gloo_client_sds)"
    r"\.upstream_cx_(connect_fail|active|total)$|^cluster\.xds_cluster\.health_check\.success$"
)
#: the stat names of the clusters whose ``upstream_cx_*`` counters :data:`STATS_FILTER` asks for
LINK_CLUSTERS = ("xds_cluster", "gloo_xds_cluster", "gateway_proxy_sds", "gloo_sds", "gloo_client_sds")

_HOST_STATS = ("cx_active", "cx_connect_fail", "cx_total", "rq_error", "rq_success", "rq_total", "rq_timeout")
_HOST_KEYS = frozenset(
    (
        *_HOST_STATS,
        "rq_active",
        "rq_pending_active",
        "hostname",
        "health_flags",
        "weight",
        "region",
        "zone",
        "sub_zone",
        "canary",
        "priority",
        "success_rate",
        "local_origin_success_rate",
    )
)
_JSON_FLAGS = {
    "failed_active_health_check": "failed_active_hc",
    "failed_outlier_check": "failed_outlier_check",
    "failed_active_degraded_check": "degraded_active_hc",
    "pending_dynamic_removal": "pending_dynamic_removal",
    "pending_active_hc": "pending_active_hc",
    "excluded_via_immediate_hc_fail": "excluded_via_immediate_hc_fail",
    "active_hc_timeout": "active_hc_timeout",
}
_EDS_FLAGS = {
    "UNHEALTHY": "failed_eds_health",
    "DEGRADED": "degraded_eds_health",
    "DRAINING": "eds_status_draining",
}
_MAX_ITEMS = 100_000

# ------------------------------------------------------------------------------------------ /clusters


def parse_clusters(body: bytes) -> ClustersReport | ParseError:
    """``/clusters`` in either form: per cluster its hosts with health flags and connection counters."""
    if not isinstance(body, bytes | bytearray | memoryview | str):
        return ParseError("/clusters", f"expected bytes, got {type(body).__name__}")
    text = decode_text(body if isinstance(body, str) else bytes(body))
    if text.lstrip()[:1] in ("{", "["):
        return _clusters_json(text)
    return _clusters_text(text)


class _ClusterBuilder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.observability_name: str | None = None
        self.hosts: dict[str, dict[str, Any]] = {}

    def host(self, address: str) -> dict[str, Any]:
        return self.hosts.setdefault(address, {"flags": (), "stats": {}, "hostname": ""})

    def build(self) -> ClusterStatus:
        hosts = tuple(
            HostStatus(
                address=address,
                health_flags=tuple(data["flags"]),
                hostname=data["hostname"],
                **{k: v for k, v in data["stats"].items() if k in _HOST_STATS},
            )
            for address, data in self.hosts.items()
        )
        return ClusterStatus(name=self.name, observability_name=self.observability_name, hosts=hosts)


def _clusters_json(text: str) -> ClustersReport | ParseError:
    doc = load_json(text, "/clusters")
    if isinstance(doc, ParseError):
        return doc
    if not isinstance(doc, dict) or not isinstance(doc.get("cluster_statuses", []), list):
        return ParseError("/clusters", "expected an object with a 'cluster_statuses' list")
    builders: dict[str, _ClusterBuilder] = {}
    for item in doc.get("cluster_statuses", [])[:_MAX_ITEMS]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        builder = builders.setdefault(item["name"], _ClusterBuilder(item["name"]))
        builder.observability_name = as_str(item.get("observability_name")) or builder.observability_name
        hosts = item.get("host_statuses")
        for host in hosts if isinstance(hosts, list) else []:
            if not isinstance(host, dict):
                continue
            data = builder.host(_address(host.get("address")))
            data["flags"] = _json_flags(host.get("health_status"))
            data["hostname"] = (as_str(host.get("hostname")) or "")[:253]
            stats = host.get("stats")
            for stat in stats if isinstance(stats, list) else []:
                if isinstance(stat, dict) and isinstance(stat.get("name"), str):
                    data["stats"][stat["name"]] = as_int(stat.get("value", 0)) or 0
    return ClustersReport(tuple(b.build() for b in builders.values()))


def _address(value: object) -> str:
    if not isinstance(value, dict):
        return "?"
    sock = value.get("socket_address")
    if isinstance(sock, dict):
        host = as_str(sock.get("address")) or "?"
        port = as_int(sock.get("port_value"))
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{port}" if port is not None else host
    pipe = value.get("pipe")
    if isinstance(pipe, dict):
        return as_str(pipe.get("path")) or "?"
    return "?"


def _json_flags(status: object) -> tuple[str, ...]:
    if not isinstance(status, dict):
        return ()
    flags = [flag for key, flag in _JSON_FLAGS.items() if status.get(key) is True]
    eds = as_str(status.get("eds_health_status"))
    if eds in _EDS_FLAGS:
        flags.append(_EDS_FLAGS[eds])
    return tuple(flags)


def _clusters_text(text: str) -> ClustersReport | ParseError:
    builders: dict[str, _ClusterBuilder] = {}
    recognised = 0
    for line in text.splitlines()[:_MAX_ITEMS]:
        rest, sep, value = line.rpartition("::")
        if not sep:
            continue
        head, sep, key = rest.rpartition("::")
        if not sep:
            continue
        if key == "observability_name":
            builders.setdefault(head, _ClusterBuilder(head)).observability_name = value
            recognised += 1
            continue
        if key not in _HOST_KEYS:
            continue
        cluster, address = _split_host(head)
        if cluster is None:
            continue
        recognised += 1
        data = builders.setdefault(cluster, _ClusterBuilder(cluster)).host(address)
        if key == "health_flags":
            data["flags"] = tuple(f for f in value.split("/") if f and f != "healthy")
        elif key == "hostname":
            data["hostname"] = value[:253]
        elif key in _HOST_STATS:
            data["stats"][key] = as_int(value) or 0
    if not recognised and text.strip():
        return ParseError("/clusters", "no cluster lines found (expected 'cluster::host::stat::value')")
    return ClustersReport(tuple(b.build() for b in builders.values()))


def _split_host(head: str) -> tuple[str | None, str]:
    """``<cluster>::<address>`` split from the right; IPv6 addresses (``[::1]:80``) contain ``::``."""
    if head.endswith("]") or re.search(r"\]:\d+$", head):
        index = head.rfind("::[")
        if index > 0:
            return head[:index], head[index + 2 :]
    cluster, sep, address = head.rpartition("::")
    return (cluster, address) if sep and cluster else (None, "")


# --------------------------------------------------------------------------------------------- /stats

_SDS = re.compile(
    r"^sds\.(.+)\.(version_text|version|update_success|update_rejected|update_failure|init_fetch_timeout"
    r"|control_plane\.connected_state)$"
)
_UPSTREAM = re.compile(r"^cluster\.([^.]+)\.upstream_cx_(connect_fail|active|total)$")
_NOT_READY = re.compile(r"^(.+)\.(?:client|server)_ssl_socket_factory\.\w+_context_secrets_not_ready$")
_TLS = re.compile(
    r"^((?:listener|cluster)\..+)\.ssl\.(handshake|fail_verify_error|fail_verify_no_cert|connection_error)$"
)
_EXPIRY = re.compile(
    r"(?:^|\.)ssl\.certificate\.(.+)\.(?:expiration_unix_time_seconds|expiration_unix_time_in_seconds"
    r"|seconds_since_epoch_of_expiration)$"
)
_TEXT_STAT = re.compile(r"^([^\s:][^\s]*?): (.*)$")


def parse_stats(body: bytes) -> EnvoyStats | ParseError:
    """``/stats`` text (``name: value``) or ``format=json``: SDS, TLS, cert expiry, control plane."""
    if not isinstance(body, bytes | bytearray | memoryview | str):
        return ParseError("/stats", f"expected bytes, got {type(body).__name__}")
    text = decode_text(body if isinstance(body, str) else bytes(body))
    raw: dict[str, int | str] = {}
    if text.lstrip()[:1] == "{":
        doc = load_json(text, "/stats")
        if isinstance(doc, ParseError):
            return doc
        if not isinstance(doc, dict) or not isinstance(doc.get("stats", []), list):
            return ParseError("/stats", "expected an object with a 'stats' list")
        for item in doc.get("stats", [])[:_MAX_ITEMS]:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                value = item.get("value")
                if isinstance(value, str):  # text readouts; counters and gauges are JSON numbers
                    raw[item["name"]] = value
                elif (number := as_int(value)) is not None:
                    raw[item["name"]] = number
    else:
        seen = 0
        for line in text.splitlines()[:_MAX_ITEMS]:
            match = _TEXT_STAT.match(line.strip())
            if match is None:
                continue
            seen += 1
            name, value = match.groups()
            if value.startswith('"') and value.endswith('"') and len(value) >= 2:
                raw[name] = value[1:-1]
            else:
                number = as_int(value)
                if number is not None:
                    raw[name] = number
        if not seen and text.strip():
            return ParseError("/stats", "no 'name: value' lines found")
    return _stats_from_raw(raw)


def _stats_from_raw(raw: dict[str, int | str]) -> EnvoyStats:
    sds: dict[str, dict[str, int | str]] = {}
    tls: dict[str, dict[str, int]] = {}
    expiry: dict[str, Any] = {}
    upstream: dict[str, dict[str, int]] = {}
    not_ready: dict[str, int] = {}
    for name, value in raw.items():
        if (m := _SDS.match(name)) is not None:
            sds.setdefault(m.group(1), {})[m.group(2)] = value
        elif (m := _UPSTREAM.match(name)) is not None:
            if isinstance(value, int) and m.group(1) in LINK_CLUSTERS:
                upstream.setdefault(m.group(1), {})[f"cx_{m.group(2)}"] = value
        elif name.endswith("_secrets_not_ready") and (m := _NOT_READY.match(name)) is not None:
            if isinstance(value, int):
                not_ready[m.group(1)] = not_ready.get(m.group(1), 0) + value
        elif (m := _TLS.match(name)) is not None:
            if isinstance(value, int):
                tls.setdefault(m.group(1), {})[m.group(2)] = value
        elif (m := _EXPIRY.search(name)) is not None:
            when = from_unix(value)
            if when is not None and (m.group(1) not in expiry or when < expiry[m.group(1)]):
                expiry[m.group(1)] = when
    connected = raw.get("control_plane.connected_state")
    return EnvoyStats(
        sds=tuple(_sds_stats(secret, values) for secret, values in sorted(sds.items())),
        tls=tuple(TlsStats(scope=scope, **values) for scope, values in sorted(tls.items())),
        cert_expiry=expiry,
        control_plane_connected=None if not isinstance(connected, int) else connected == 1,
        upstream=tuple(UpstreamStats(cluster=name, **values) for name, values in sorted(upstream.items())),
        secrets_not_ready=not_ready,
        raw=raw,
    )


def _sds_stats(secret: str, values: dict[str, int | str]) -> SdsStats:
    text = values.get("version_text")
    version = str(text) if text not in (None, "") else None
    if version is None:
        number = values.get("version")
        version = str(number) if number is not None else None

    def counter(key: str) -> int:
        value = values.get(key, 0)
        return value if isinstance(value, int) else (as_int(value) or 0)

    state = values.get("control_plane.connected_state")
    return SdsStats(
        secret=secret,
        version=version,
        update_success=counter("update_success"),
        update_rejected=counter("update_rejected"),
        update_failure=counter("update_failure"),
        connected=None if not isinstance(state, int) else state == 1,
        init_fetch_timeout=counter("init_fetch_timeout"),
    )


#: Envoy's ``server.state`` gauge (envoy.admin.v3.ServerInfo.State) → the state name ``/ready`` gives
SERVER_STATES = {0: "LIVE", 1: "DRAINING", 2: "PRE_INITIALIZING", 3: "INITIALIZING"}


def server_state(stats: EnvoyStats | ParseError) -> str | None:
    """The ``server.state`` gauge as ``/ready`` would name it, or None when it cannot be trusted.

    Envoy sets the gauge at each stats flush (every 5 s by default), and it reads 0 (LIVE) before the
    first flush: so it counts only once ``server.uptime`` shows a flush has happened (uptime > 0).
    """
    if not isinstance(stats, EnvoyStats):
        return None
    gauge, uptime = stats.raw.get("server.state"), stats.raw.get("server.uptime")
    if not isinstance(gauge, int) or not isinstance(uptime, int) or uptime <= 0:
        return None
    return SERVER_STATES.get(gauge)
