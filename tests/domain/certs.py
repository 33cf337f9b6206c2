"""Test certificates made the way Gloo's certgen makes them (reference/gloo-mtls.md §4.3), plus odd ones.

Every CA has the CN ``supergloo-webhook-cert-ca``, so tests prove the signer is found by signature. Keys
live only in memory, in these objects; ``pem`` helpers emit public certificates only.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gloomon.domain.model import CertInfo, TrustBundle
from gloomon.domain.parse.x509 import cert_info_from_der

CA_CN = "supergloo-webhook-cert-ca"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KeyKind = Literal["rsa", "ecdsa", "ed25519"]

_KEY_CACHE: dict[tuple[str, int], list[object]] = {}


def _new_key(kind: KeyKind) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


@dataclass(frozen=True)
class Made:
    """A generated certificate and the key that can sign with it (CAs only use it)."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def info(self) -> CertInfo:
        info = cert_info_from_der(self.der)
        assert isinstance(info, CertInfo)
        return info

    def key_pem(self) -> str:
        """The private key as PEM: only for tests proving keys are dropped."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL
            if isinstance(self.key, rsa.RSAPrivateKey)
            else serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def _hash_for(key: object) -> hashes.HashAlgorithm | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make_ca(
    *,
    kind: KeyKind = "rsa",
    not_before: datetime = NOW - timedelta(days=30),
    lifetime: timedelta = timedelta(days=3650),
    serial: int | None = None,
    cn: str = CA_CN,
) -> Made:
    """A CA like certgen's: CN supergloo-webhook-cert-ca, 10 years, CertSign, DNSNames=[CN]."""
    key = _new_key(kind)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else secrets.randbits(127) + 1)
        .not_valid_before(not_before)
        .not_valid_after(not_before + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, True, False, False, False), critical=True
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
    )
    return Made(builder.sign(key, _hash_for(key)), key)


def make_leaf(
    ca: Made,
    *,
    kind: KeyKind = "rsa",
    namespace: str = "gloo-system",
    not_before: datetime | None = None,
    lifetime: timedelta = timedelta(days=365),
    not_after: datetime | None = None,
    serial: int | None = None,
    pss: bool = False,
) -> Made:
    """A server/client leaf like certgen's: CN gloo.<ns>.svc, O solo.io, four DNS SANs, NotBefore = CA's."""
    key = _new_key(kind)
    start = not_before if not_before is not None else ca.cert.not_valid_before_utc
    end = not_after if not_after is not None else start + lifetime
    svc = f"gloo.{namespace}.svc"
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "solo.io"),
                    x509.NameAttribute(NameOID.COMMON_NAME, svc),
                ]
            )
        )
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(serial if serial is not None else secrets.randbits(127) + 1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("gloo"),
                    x509.DNSName(f"gloo.{namespace}"),
                    x509.DNSName(svc),
                    x509.DNSName(f"{svc}.cluster.local"),
                ]
            ),
            critical=False,
        )
    )
    if pss:
        from cryptography.hazmat.primitives.asymmetric import padding

        assert isinstance(ca.key, rsa.RSAPrivateKey)
        cert = builder.sign(
            ca.key,
            hashes.SHA256(),
            rsa_padding=padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        )
    else:
        cert = builder.sign(ca.key, _hash_for(ca.key))
    return Made(cert, key)


def bundle(*cas: Made, complete: bool = True) -> TrustBundle:
    return TrustBundle(tuple(ca.info for ca in cas), complete=complete)


def pem_bundle(*made: Made) -> str:
    return "".join(m.pem for m in made)


@dataclass(frozen=True)
class Rotation:
    """The certificates of one certgen rotation: old CA/leaf and new CA/leaf (plus a stale third CA)."""

    ca_old: Made
    leaf_old: Made
    ca_new: Made
    leaf_new: Made


_ROTATION: Rotation | None = None


def rotation() -> Rotation:
    """One shared rotation (RSA keys are slow to make; tests only read these)."""
    global _ROTATION
    if _ROTATION is None:
        ca_old = make_ca(not_before=NOW - timedelta(days=200))
        ca_new = make_ca(not_before=NOW - timedelta(hours=1))
        _ROTATION = Rotation(ca_old, make_leaf(ca_old), ca_new, make_leaf(ca_new))
    return _ROTATION
