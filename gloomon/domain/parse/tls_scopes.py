"""Which ``ssl.*`` stat scopes of an Envoy carry Gloo's internal mTLS link (reference/real-clusters.md §3).

A real gateway-proxy's ``/stats`` also carries the user's TLS: HTTPS listeners from VirtualServices
(``listener.[__]_8443.ssl.connection_error`` grows all day from scanners, HTTP sent to HTTPS, bad
ciphers) and TLS upstreams. Those say nothing about the link to gloo, so only these scopes count as mTLS:

- xDS clients (gateway-proxy, extauth, rate-limit, kube-gateway): the clusters with Gloo's stat names
  ``cluster.xds_cluster`` and ``cluster.rest_xds_cluster`` (``alt_stat_name`` in every Gloo bootstrap);
- gloo's ``envoy-sidecar``: its listeners on 9977 and 9976 (``envoy_xds_mtls_listener``,
  ``envoy_rest_xds_mtls_listener``), named by address: ``listener.0.0.0.0_9977``, ``listener.[__]_9977``;
- extauth's sidecar also: ``envoy_extauth_mtls_listener`` on 8083 (``listener.0.0.0.0_8083``), where
  gateway-proxies reach the extauth server through Gloo's mTLS.

Everything else is user TLS: shown as information, never judged as the mTLS link.
"""

from __future__ import annotations

import re

from gloomon.domain.model import Component, EnvoyStats, TlsStats

#: the xDS clusters of every Gloo client bootstrap, by stat name
CLIENT_SCOPES = frozenset(("cluster.xds_cluster", "cluster.rest_xds_cluster"))
#: gloo's sidecar listeners terminating mTLS: the grpc-xds and rest-xds ports
GLOO_LISTENER_PORTS = frozenset((9977, 9976))
#: extauth's sidecar listener terminating mTLS for the gateway-proxies (``extAuth.deployment.port``)
EXTAUTH_LISTENER_PORT = 8083

#: a listener scope named by its address: ``0.0.0.0_9977``, ``[__]_9977`` (``[::]:9977``), ``[::]_9977``
_LISTENER = re.compile(r"^listener\.(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:_.]*\])_(\d{1,5})$")


def _listener_port(scope: str) -> int | None:
    match = _LISTENER.match(scope)
    return int(match.group(1)) if match is not None else None


def is_mtls_scope(scope: str, component: Component) -> bool:
    """Whether ``scope`` (``cluster.xds_cluster``, ``listener.0.0.0.0_9977``) is ``component``'s mTLS link."""
    if component is Component.GLOO:
        return _listener_port(scope) in GLOO_LISTENER_PORTS
    if scope in CLIENT_SCOPES:
        return True
    return component is Component.EXTAUTH and _listener_port(scope) == EXTAUTH_LISTENER_PORT


def mtls_scopes(stats: EnvoyStats, component: Component) -> tuple[TlsStats, ...]:
    """The TLS counters of ``component``'s mTLS link, in the order ``/stats`` gave them."""
    return tuple(scope for scope in stats.tls if is_mtls_scope(scope.scope, component))


def mtls_errors(stats: EnvoyStats, component: Component) -> int:
    """TLS handshake and verify failures on the mTLS link's scopes only."""
    return sum(scope.errors for scope in mtls_scopes(stats, component))


def user_tls_errors(stats: EnvoyStats, component: Component) -> int:
    """TLS failures on every other scope: the user's listeners and upstreams (information only)."""
    return sum(scope.errors for scope in stats.tls if not is_mtls_scope(scope.scope, component))
