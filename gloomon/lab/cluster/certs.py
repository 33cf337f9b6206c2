"""Certificates made exactly as Gloo's certgen makes them, and the ``gloo-mtls-certs`` secret's content.

Gloo's certgen (``jobs/pkg/certgen/gen_certs.go`` on top of ``k8s-utils certutils`` and client-go's
``util/cert``) makes, on every run, a fresh RSA 2048 CA ``supergloo-webhook-cert-ca`` valid 10 years with
``DNSNames=[CN]`` and a random serial, and one leaf ``gloo.<ns>.svc`` (O ``solo.io``, four DNS SANs,
server+client usage) whose NotBefore equals the CA's and whose NotAfter is now + 365 days. The lab is the
one place in gloomon that *makes* certificates; the domain only parses them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_COMMON_NAME = "supergloo-webhook-cert-ca"
CA_VALIDITY = timedelta(days=3650)
LEAF_VALIDITY = timedelta(days=365)
CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True, slots=True)
class SecretData:
    """The three keys of ``gloo-mtls-certs`` as PEM bytes (``ca.crt`` may hold several CAs, in order).

    ``tls_key`` is left out of the repr (and so of every repr that contains this object): a failed
    assertion or a traceback must never print the private key.
    """

    ca_crt: bytes
    tls_crt: bytes
    tls_key: bytes = field(default=b"", repr=False)

    def as_dict(self) -> dict[str, bytes]:
        return {"ca.crt": self.ca_crt, "tls.crt": self.tls_crt, "tls.key": self.tls_key}


@dataclass(frozen=True, slots=True)
class GeneratedCerts:
    """One ``GenCerts`` result: a new CA and the leaf it signed (PEM bytes; the key kept out of the repr)."""

    ca_pem: bytes
    leaf_pem: bytes
    key_pem: bytes = field(repr=False)

    def secret(self) -> SecretData:
        return SecretData(ca_crt=self.ca_pem, tls_crt=self.leaf_pem, tls_key=self.key_pem)


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _random_serial() -> int:
    """A random non-zero serial, like client-go >= v0.28 (``rand.Int`` below 2^128 … we keep it positive)."""
    return secrets.randbits(127) | 1


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    """``keyutil.MarshalPrivateKeyToPEM`` writes RSA keys as PKCS#1 ``RSA PRIVATE KEY``."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def service_dns_names(svc: str, namespace: str, cluster_domain: str = CLUSTER_DOMAIN) -> list[str]:
    """The leaf's four DNS SANs: ``svc``, ``svc.ns``, ``svc.ns.svc``, ``svc.ns.svc.<domain>``."""
    return [svc, f"{svc}.{namespace}", f"{svc}.{namespace}.svc", f"{svc}.{namespace}.svc.{cluster_domain}"]


def generate(
    namespace: str,
    *,
    now: datetime | None = None,
    svc: str = "gloo",
    ca_common_name: str = CA_COMMON_NAME,
    leaf_validity: timedelta = LEAF_VALIDITY,
) -> GeneratedCerts:
    """Make one CA and its leaf for ``<svc>.<namespace>.svc``, as of ``now`` (default: the real now).

    ``now`` in the past yields certificates that are valid today but nearer their end (``expiring``).
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    ca_key = _rsa_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ca_common_name)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(_random_serial())
        .not_valid_before(now)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(ca_common_name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = _rsa_key()
    common_name = f"{svc}.{namespace}.svc"
    leaf_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "solo.io"),
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                ]
            )
        )
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(_random_serial())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(now + leaf_validity)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in service_dns_names(svc, namespace)]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return GeneratedCerts(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        leaf_pem=leaf_cert.public_bytes(serialization.Encoding.PEM),
        key_pem=_key_pem(leaf_key),
    )


@dataclass(frozen=True, slots=True)
class ServerTls:
    """The lab API endpoint's own CA, certificate and key (PEM; the key kept out of the repr)."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)


def tls_server_pair(hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> ServerTls:
    """A CA and a server cert for the lab's own API endpoint.

    Unrelated to Gloo's certificates; it only makes the façade speak HTTPS like a real apiserver.
    """
    import ipaddress

    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = _rsa_key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gloomon-lab-apiserver-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(_random_serial())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = _rsa_key()
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(_random_serial())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return ServerTls(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=_key_pem(key),
    )
