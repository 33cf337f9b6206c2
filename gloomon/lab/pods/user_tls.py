"""A gateway-proxy's own TLS, as Gloo makes it for VirtualServices and Upstreams: none of it is Gloo's mTLS.

Real gateway-proxies carry user TLS beside Gloo's internal mTLS (reference/real-clusters.md §3), where
scanners and HTTP sent to HTTPS make ``ssl.connection_error`` grow all day:

* ``listener-::-8443`` on ``[::]:8443`` (stats ``listener.[__]_8443.ssl.*``): a VirtualService with
  ``sslConfig``, the user's certificate (self-signed here, made for the pod);
* ``listener-::-8444`` (``listener.[__]_8444.ssl.*``): a second HTTPS Gateway whose VirtualService
  requires client certificates (``sslConfig`` with a root CA, ``oneWayTls: false``): the user's own mTLS,
  with its own client CA, unrelated to ``gloo-mtls-certs``; untrusted clients make
  ``ssl.fail_verify_error`` grow there;
* ``default-shop-443_gloo-system`` (``cluster.default-shop-443_gloo-system.ssl.*``): an Upstream with
  ``sslConfig``, named as Gloo names an Upstream's cluster (``<upstream>_<namespace>``); the 8444
  listener routes to it. Loopback forces its backend: it is this Envoy's own 8443 listener, verified
  against the user's certificate.

The lab binds the listeners to loopback ports (the pod's port map names them 8443 and 8444). Key
material lives in :class:`UserTls`, whose repr leaves the keys out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: the pod port of the user's HTTPS listener (Gloo's default ``httpsGateway`` port)
USER_HTTPS_PORT = 8443
#: the pod port of the user's mTLS listener (a second HTTPS Gateway, client certificates required)
USER_MTLS_PORT = 8444
#: the user's TLS Upstream's cluster, as Gloo names it (``<upstream>_<namespace>``)
USER_UPSTREAM_CLUSTER = "default-shop-443_{namespace}"
USER_HOST = "shop.example.com"
_UPSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"


def _issue(
    subject: str, issuer: tuple[str, ec.EllipticCurvePrivateKey] | None = None, *, ca: bool = False
) -> tuple[str, str, ec.EllipticCurvePrivateKey]:
    """``(certificate PEM, key PEM, key)`` for ``subject``, valid a year: self-signed, or signed by
    ``issuer`` (its name and key); a CA certificate with ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signer = (
        (name, key)
        if issuer is None
        else (x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]), issuer[1])
    )
    now = datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    cert = builder.sign(signer, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode(), key


def self_signed(host: str = USER_HOST) -> tuple[str, str]:
    """``(certificate PEM, key PEM)`` of a self-signed user certificate valid a year."""
    cert, key, _ = _issue(host)
    return cert, key


@dataclass(frozen=True)
class UserTls:
    """A gateway-proxy's user TLS material: its server certificate and the user's own client CA."""

    cert_pem: str
    key_pem: str = field(repr=False)
    client_ca_pem: str
    _client_ca_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @classmethod
    def make(cls, host: str = USER_HOST) -> UserTls:
        cert, key, _ = _issue(host)
        ca_pem, _, ca_key = _issue("shop-clients-ca", ca=True)
        return cls(cert, key, ca_pem, ca_key)

    def client_certificate(self, name: str = "checkout.shop.example.com") -> tuple[str, str]:
        """``(certificate PEM, key PEM)`` of a client the user's mTLS listener trusts."""
        cert, key, _ = _issue(name, ("shop-clients-ca", self._client_ca_key))
        return cert, key


def user_https(port: int, cert_pem: str, key_pem: str) -> dict[str, Any]:
    """The listener (``listener-::-8443``, stats named as on ``[::]:8443``): an HTTP connection manager
    answering every request itself, as a VirtualService's direct response would (no upstream to dial)."""
    pair = {"certificate_chain": {"inline_string": cert_pem}, "private_key": {"inline_string": key_pem}}
    route = {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": {"inline_string": "ok"}}}
    manager = {
        "@type": _HCM,
        "stat_prefix": "https",
        "route_config": {"virtual_hosts": [{"name": "shop", "domains": ["*"], "routes": [route]}]},
        "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}],
    }
    return {
        "name": f"listener-::-{USER_HTTPS_PORT}",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "stat_prefix": f"[__]_{USER_HTTPS_PORT}",
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                ],
                "transport_socket": {
                    "name": "envoy.transport_sockets.tls",
                    "typed_config": {
                        "@type": _DOWNSTREAM_TLS,
                        "common_tls_context": {"tls_certificates": [pair]},
                    },
                },
            }
        ],
    }


def _tls_socket(kind: str, context: dict[str, Any]) -> dict[str, Any]:
    return {"name": "envoy.transport_sockets.tls", "typed_config": {"@type": kind, **context}}


def user_mtls(port: int, tls: UserTls, upstream: str) -> dict[str, Any]:
    """The user's mTLS listener (``listener-::-8444``): client certificates from the user's CA required,
    every request routed to the user's TLS Upstream ``upstream``."""
    listener = user_https(port, tls.cert_pem, tls.key_pem)
    listener["name"] = f"listener-::-{USER_MTLS_PORT}"
    listener["stat_prefix"] = f"[__]_{USER_MTLS_PORT}"
    chain = listener["filter_chains"][0]
    manager = chain["filters"][0]["typed_config"]
    manager["stat_prefix"] = "https_mtls"
    manager["route_config"]["virtual_hosts"][0]["routes"] = [
        {"match": {"prefix": "/"}, "route": {"cluster": upstream}}
    ]
    pair = {
        "certificate_chain": {"inline_string": tls.cert_pem},
        "private_key": {"inline_string": tls.key_pem},
    }
    chain["transport_socket"] = _tls_socket(
        _DOWNSTREAM_TLS,
        {
            "require_client_certificate": True,
            "common_tls_context": {
                "tls_certificates": [pair],
                "validation_context": {"trusted_ca": {"inline_string": tls.client_ca_pem}},
            },
        },
    )
    return listener


def upstream_tls_cluster(name: str, port: int, tls: UserTls) -> dict[str, Any]:
    """The user's TLS Upstream: ``sni`` and server verification against the user's certificate."""
    context = {
        "sni": USER_HOST,
        "common_tls_context": {"validation_context": {"trusted_ca": {"inline_string": tls.cert_pem}}},
    }
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "5s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {
                            "endpoint": {
                                "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}
                            }
                        }
                    ]
                }
            ],
        },
        "transport_socket": _tls_socket(_UPSTREAM_TLS, context),
    }


def user_tls_config(
    local_ports: dict[int, int], tls: UserTls, namespace: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(listeners, clusters)`` of a gateway-proxy's user TLS, bound to the loopback ports ``local_ports``
    gives its 8443 and 8444."""
    upstream = USER_UPSTREAM_CLUSTER.format(namespace=namespace)
    https = local_ports[USER_HTTPS_PORT]
    listeners = [
        user_https(https, tls.cert_pem, tls.key_pem),
        user_mtls(local_ports[USER_MTLS_PORT], tls, upstream),
    ]
    return listeners, [upstream_tls_cluster(upstream, https, tls)]
