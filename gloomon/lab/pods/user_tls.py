"""A gateway-proxy's own HTTPS listener, as Gloo makes one for a VirtualService with ``sslConfig``.

Real gateway-proxies carry user TLS beside Gloo's internal mTLS: ``listener-::-8443`` bound to
``[::]:8443`` (stats ``listener.[__]_8443.ssl.*``) with the user's certificate, where scanners and HTTP
sent to HTTPS make ``ssl.connection_error`` grow all day (reference/real-clusters.md §3). The lab binds it
to a loopback port (the pod's port map names it 8443) with a self-signed certificate made for the pod.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

#: the pod port of the user's HTTPS listener (Gloo's default ``httpsGateway`` port)
USER_HTTPS_PORT = 8443
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"


def self_signed(host: str = "shop.example.com") -> tuple[str, str]:
    """``(certificate PEM, key PEM)`` of a self-signed user certificate valid a year."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC) - timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


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
