"""Envoy bootstraps that mirror Gloo's (reference/gloo-mtls.md §2); the processes live in ``process.py``.

Differences from a cluster, all forced by running on one loopback interface: every address is
``127.0.0.1`` with a free port (the pod's port numbers live in the API façade's port map, and the TLS
listeners' ``stat_prefix`` gives their stats Gloo's names, ``listener.0.0.0.0_9977``), SDS is
file-based (``path_config_source`` + ``watched_directory``, one secret per file, inline PEM) instead of a
gRPC SDS cluster, and the xDS clusters are STATIC with the service hostname on the endpoint instead of
STRICT_DNS. Names (listeners, clusters, ``alt_stat_name``, secrets, node ids) are Gloo's. Clients reach
gloo's TLS listener with an active TCP health check every second, so real mTLS handshakes happen and
``/clusters``, ``ssl.*`` and ``health_check.*`` are Envoy's own.
"""

from __future__ import annotations

from typing import Any

from gloomon.domain.model import SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET, Component
from gloomon.domain.parse.envoy import xds_cluster_names
from gloomon.lab.pods.process import EnvoyProcess, EnvoyUnavailableError, envoy_binary
from gloomon.lab.pods.user_tls import UserTls, user_tls_config

__all__ = ["EnvoyProcess", "EnvoyUnavailableError", "bootstrap", "envoy_binary"]

TLS_SOCKET = "envoy.transport_sockets.tls"
_DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
_UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
_TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
_HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_HC_INTERVAL = "1s"


#: each component's SDS cluster, the gRPC SecretDiscoveryService of its pod's ``sds`` (127.0.0.1:8234)
SDS_CLUSTERS = {
    Component.GLOO: "gloo_sds",
    Component.GATEWAY_PROXY: "gateway_proxy_sds",
    Component.EXTAUTH: "gloo_client_sds",
    Component.RATE_LIMIT: "gloo_client_sds",
}


def _sds(name: str, sds_cluster: str) -> dict[str, Any]:
    return {
        "name": name,
        "sds_config": {
            "resource_api_version": "V3",
            "api_config_source": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": sds_cluster}}],
            },
        },
    }


def _common_tls(sds_cluster: str) -> dict[str, Any]:
    return {
        "tls_certificate_sds_secret_configs": [_sds(SERVER_CERT_SECRET, sds_cluster)],
        "validation_context_sds_secret_config": _sds(VALIDATION_CONTEXT_SECRET, sds_cluster),
    }


def _http2() -> dict[str, Any]:
    """``http2_protocol_options: {}`` as Envoy 1.40 spells it (the cluster field is deprecated)."""
    return {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
            "@type": _HTTP_OPTIONS,
            "explicit_http_config": {"http2_protocol_options": {}},
        }
    }


def _sds_cluster(name: str, port: int) -> dict[str, Any]:
    cluster = _static_cluster(name, port, connect_timeout="0.25s")
    cluster["typed_extension_protocol_options"] = _http2()
    return cluster


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _static_cluster(
    name: str, port: int, *, hostname: str = "", connect_timeout: str = "5s"
) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"address": _address(port)}
    if hostname:
        endpoint["hostname"] = hostname
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}]},
    }


def _tls_listener(
    name: str, port: int, cluster: str, sds_cluster: str, stat_prefix: str, *, pod_port: int
) -> dict[str, Any]:
    """A tcp_proxy listener terminating mTLS. Its stats are named as Gloo's ``0.0.0.0:<pod_port>`` names
    them (``listener.0.0.0.0_9977.ssl.*``), not by the loopback port it really binds."""
    return {
        "name": name,
        "address": _address(port),
        "stat_prefix": f"0.0.0.0_{pod_port}",
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.tcp_proxy",
                        "typed_config": {"@type": _TCP_PROXY, "stat_prefix": stat_prefix, "cluster": cluster},
                    }
                ],
                "transport_socket": {
                    "name": TLS_SOCKET,
                    "typed_config": {
                        "@type": _DOWNSTREAM_TLS,
                        "common_tls_context": _common_tls(sds_cluster),
                    },
                },
            }
        ],
    }


def _upstream_tls_cluster(
    name: str, port: int, hostname: str, sds_cluster: str, *, alt_stat_name: str, health_check: bool
) -> dict[str, Any]:
    cluster = _static_cluster(name, port, hostname=hostname, connect_timeout="1s")
    cluster["alt_stat_name"] = alt_stat_name
    cluster["typed_extension_protocol_options"] = _http2()
    cluster["upstream_connection_options"] = {"tcp_keepalive": {"keepalive_time": 60}}
    cluster["transport_socket"] = {
        "name": TLS_SOCKET,
        "typed_config": {"@type": _UPSTREAM_TLS, "common_tls_context": _common_tls(sds_cluster)},
    }
    if health_check:
        cluster["health_checks"] = [
            {
                "timeout": "1s",
                "interval": _HC_INTERVAL,
                "no_traffic_interval": _HC_INTERVAL,
                "unhealthy_threshold": 1,
                "healthy_threshold": 1,
                "tcp_health_check": {},
            }
        ]
    return cluster


def bootstrap(
    component: Component,
    *,
    pod: str,
    namespace: str,
    sds_port: int,
    gloo_ports: dict[int, int],
    local_ports: dict[int, int],
    user_tls: UserTls | None = None,
    proxy: str | None = None,
) -> dict[str, Any]:
    """The bootstrap of ``component``'s Envoy in pod ``pod`` (``proxy``: a kube-gateway's Gateway).

    ``gloo_ports`` maps gloo's pod ports (9977, 9976) to the loopback ports of gloo's TLS listeners;
    ``local_ports`` maps this pod's own ports (gloo: 9999/9998 xDS stand-in; extauth/rate-limit: 9955,
    8083, 8084) to loopback ports. The admin port is always chosen by Envoy (port 0). ``user_tls``
    gives a gateway-proxy the user's TLS: listeners on its 8443 and 8444, a TLS Upstream (``user_tls.py``).
    """
    host = f"gloo.{namespace}.svc.cluster.local"
    # The cluster carrying the link to gloo, named as gloomon's domain looks it up (name, then stat name).
    xds, *xds_stat = xds_cluster_names(component, namespace)
    sds = SDS_CLUSTERS[component]
    admin: dict[str, Any] = {"address": _address(0)}
    listeners: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    node: dict[str, Any]
    if component is Component.GLOO:
        node = {"id": "sds_client", "cluster": "sds_client"}
        config["layered_runtime"] = {
            "layers": [
                {
                    "name": "static_layer",
                    "static_layer": {"overload": {"global_downstream_max_connections": 250000}},
                },
                {"name": "admin_layer", "admin_layer": {}},
            ]
        }
        listeners.append(
            _tls_listener("envoy_xds_mtls_listener", gloo_ports[9977], xds, sds, "ingress_tcp", pod_port=9977)
        )
        listeners.append(
            _tls_listener(
                "envoy_rest_xds_mtls_listener",
                gloo_ports[9976],
                "gloo_rest_xds_cluster",
                sds,
                "ingress_tcp",
                pod_port=9976,
            )
        )
        clusters.append(_static_cluster(xds, local_ports[9999]))
        clusters.append(_static_cluster("gloo_rest_xds_cluster", local_ports[9998]))
    elif component in (Component.GATEWAY_PROXY, Component.KUBE_GATEWAY):
        node = {
            "id": f"{pod}.{namespace}",
            "cluster": "gateway",
            "metadata": {"role": f"{namespace}~gateway-proxy"},
        }
        if component is Component.KUBE_GATEWAY:  # the gateway2 chart's node, xds_cluster only
            gateway = proxy or "gateway"
            node = {
                "id": f"{pod}.{namespace}",
                "cluster": f"gloo-proxy-{gateway}.{namespace}",
                "metadata": {"role": f"gloo-kube-gateway-api~{namespace}~{namespace}-{gateway}"},
            }
        clusters.append(
            _upstream_tls_cluster(
                xds,
                gloo_ports[9977],
                host,
                sds,
                alt_stat_name=xds_stat[0] if xds_stat else xds,
                health_check=True,
            )
        )
        if component is Component.GATEWAY_PROXY:
            clusters.append(
                _upstream_tls_cluster(
                    "rest_xds_cluster",
                    gloo_ports[9976],
                    host,
                    sds,
                    alt_stat_name="rest_xds_cluster",
                    health_check=False,
                )
            )
        if user_tls is not None:
            user_listeners, user_clusters = user_tls_config(local_ports, user_tls, namespace)
            listeners += user_listeners
            clusters += user_clusters
    else:
        node = {"id": "sds_client", "cluster": "sds_client"}
        listeners.append(
            {
                "name": "gloo_xds_mtls_listener",
                "address": _address(local_ports[9955]),
                "filter_chains": [
                    {
                        "filters": [
                            {
                                "name": "envoy.filters.network.tcp_proxy",
                                "typed_config": {
                                    "@type": _TCP_PROXY,
                                    "stat_prefix": "gloo_mtls",
                                    "cluster": xds,
                                },
                            }
                        ]
                    }
                ],
            }
        )
        clusters.append(
            _upstream_tls_cluster(
                xds, gloo_ports[9977], host, sds, alt_stat_name=xds_stat[0], health_check=True
            )
        )
        if component is Component.EXTAUTH:
            listeners.append(
                _tls_listener(
                    "envoy_extauth_mtls_listener",
                    local_ports[8083],
                    "extauth_cluster",
                    sds,
                    "ingress_tcp",
                    pod_port=8083,
                )
            )
            clusters.append(_static_cluster("extauth_cluster", local_ports[8084]))
    clusters.append(_sds_cluster(sds, sds_port))
    config.update(
        {
            "node": node,
            "admin": admin,
            "static_resources": {"listeners": listeners, "clusters": clusters},
        }
    )
    return config
