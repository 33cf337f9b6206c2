"""Envoy bootstraps equal to Gloo's chart output for mTLS; the processes live in ``process.py``.

Read from ``solo-io/gloo`` ``install/helm/gloo/templates/9-gateway-proxy-configmap.yaml`` (gateway-proxy)
and ``19-gloo-mtls-configmap.yaml`` (gloo's ``envoy-sidecar``), the EE sidecar configs for extauth and
rate-limit (real-clusters.md §1–2). Names (listeners, clusters, ``alt_stat_name``, secrets, node ids,
the ``role`` metadata), connect timeouts (xDS 5 s, SDS 0.25 s), TCP keepalive 60 s, HTTP/2 on the xDS and
SDS clusters, the layered runtime, ``dynamic_resources`` (ADS over the xDS cluster, CDS and LDS over ADS)
and SDS over gRPC (``api_config_source`` GRPC, Envoy's default 15 s ``initial_fetch_timeout``) are
Gloo's. No cluster has health checks or outlier detection, as in Gloo.

Every difference, each forced by running every pod on one loopback interface:

* every address is ``127.0.0.1`` with a free port; the pod's port numbers (9977, 9976, 8234, 8080,
  9955, …) live in the API façade's port map;
* the TLS listeners' ``stat_prefix`` gives their stats Gloo's names (``listener.0.0.0.0_9977``), as the
  ``0.0.0.0:<port>`` address would;
* the admin binds port 0 (Envoy's pick, read back from ``--admin-address-path``), not 19000/8001, and has
  no ``access_log_path`` (removed from Envoy's API);
* the clusters to gloo are STATIC with the service hostname on the endpoint, instead of STRICT_DNS with
  ``respect_dns_ttl`` (no DNS);
* ``http2_protocol_options`` is spelled ``typed_extension_protocol_options`` (Envoy 1.40 refuses the
  deprecated cluster field);
* gateway-proxy's ``wasm-cache`` cluster is left out (gloo's wasm cache is not served; nothing dials it).
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


#: each component's SDS cluster, the gRPC SecretDiscoveryService of its pod's ``sds`` (127.0.0.1:8234)
SDS_CLUSTERS = {
    Component.GLOO: "gloo_sds",
    Component.GATEWAY_PROXY: "gateway_proxy_sds",
    Component.KUBE_GATEWAY: "gateway_proxy_sds",  # Gloo's SdsClusterName, shared by gateway2's proxies
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
    name: str, port: int, hostname: str, sds_cluster: str, *, alt_stat_name: str, http2: bool = True
) -> dict[str, Any]:
    cluster = _static_cluster(name, port, hostname=hostname, connect_timeout="5s")
    cluster["alt_stat_name"] = alt_stat_name
    if http2:
        cluster["typed_extension_protocol_options"] = _http2()
    cluster["upstream_connection_options"] = {"tcp_keepalive": {"keepalive_time": 60}}
    cluster["transport_socket"] = {
        "name": TLS_SOCKET,
        "typed_config": {"@type": _UPSTREAM_TLS, "common_tls_context": _common_tls(sds_cluster)},
    }
    return cluster


def _layered_runtime(static: dict[str, Any]) -> dict[str, Any]:
    return {
        "layers": [
            {"name": "static_layer", "static_layer": static},
            {"name": "admin_layer", "admin_layer": {}},
        ]
    }


def bootstrap(
    component: Component,
    *,
    pod: str,
    namespace: str,
    gloo_namespace: str | None = None,
    sds_port: int,
    gloo_ports: dict[int, int],
    local_ports: dict[int, int],
    user_tls: UserTls | None = None,
    proxy: str | None = None,
) -> dict[str, Any]:
    """The bootstrap of ``component``'s Envoy in pod ``pod`` of ``namespace`` (``proxy``: a kube-gateway's
    Gateway); gloo's Service is in ``gloo_namespace`` (default: the pod's; a kube-gateway in its Gateway's
    namespace, or a classic proxy moved by ``gatewayProxies.<name>.namespace``, still dials the release
    namespace's gloo).

    ``gloo_ports`` maps gloo's pod ports (9977, 9976) to the loopback ports of gloo's TLS listeners;
    ``local_ports`` maps this pod's own ports (gloo: 9999/9998 xDS stand-in; extauth/rate-limit: 9955,
    8083, 8084) to loopback ports. The admin port is always chosen by Envoy (port 0). ``user_tls``
    gives a gateway-proxy the user's TLS: listeners on its 8443 and 8444, a TLS Upstream (``user_tls.py``).
    """
    gloo_namespace = gloo_namespace or namespace
    host = f"gloo.{gloo_namespace}.svc.cluster.local"
    # The cluster carrying the link to gloo, named as gloomon's domain looks it up (name, then stat name).
    xds, *xds_stat = xds_cluster_names(component, gloo_namespace)
    sds = SDS_CLUSTERS[component]
    admin: dict[str, Any] = {"address": _address(0)}
    listeners: list[dict[str, Any]] = []
    clusters: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    node: dict[str, Any]
    if component is Component.GLOO:
        node = {"id": "sds_client", "cluster": "sds_client"}
        config["layered_runtime"] = _layered_runtime(
            {"overload": {"global_downstream_max_connections": 250000}}
        )
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
            # the chart's ``{writeNamespace | default .Release.Namespace}~{name}``
            "metadata": {"role": f"{gloo_namespace}~{proxy or 'gateway-proxy'}"},
        }
        if component is Component.KUBE_GATEWAY:  # the gateway2 chart's node, xds_cluster only
            gateway = proxy or "gateway"
            node = {
                "id": f"{pod}.{namespace}",
                "cluster": f"gloo-proxy-{gateway}.{namespace}",
                "metadata": {"role": f"gloo-kube-gateway-api~{namespace}~{namespace}-{gateway}"},
            }
        config["layered_runtime"] = _layered_runtime(
            {
                "overload": {"global_downstream_max_connections": 250000},
                "upstream": {"healthy_panic_threshold": {"value": 50}},
            }
        )
        config["dynamic_resources"] = {
            "ads_config": {
                "transport_api_version": "V3",
                "api_type": "GRPC",
                "rate_limit_settings": {},
                "grpc_services": [{"envoy_grpc": {"cluster_name": xds}}],
            },
            "cds_config": {"resource_api_version": "V3", "ads": {}},
            "lds_config": {"resource_api_version": "V3", "ads": {}},
        }
        clusters.append(
            _upstream_tls_cluster(
                xds,
                gloo_ports[9977],
                host,
                sds,
                alt_stat_name=xds_stat[0] if xds_stat else xds,
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
                    http2=False,
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
        clusters.append(_upstream_tls_cluster(xds, gloo_ports[9977], host, sds, alt_stat_name=xds_stat[0]))
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
