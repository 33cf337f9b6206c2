"""Deterministic certificates for the snapshot fixtures: real X.509, the same bytes on every run.

Each certificate is signed with an Ed25519 key derived from a fixed seed (Ed25519 signatures are
deterministic), with fixed serials and dates, and read back with the parser a poll uses
(:func:`cert_info_from_der`), so fingerprints are real and the domain finds each leaf's signer by its
signature, as it does for an Envoy's certificates. The keys exist only while a certificate is made.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from gloomon.domain.model import CertInfo, TrustBundle
from gloomon.domain.parse.x509 import cert_info_from_der

#: the fixtures' clock
NOW = datetime(2026, 11, 25, 21, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
LEAF_SANS = ("gloo.gloo-system.svc", "gloo.gloo-system.svc.cluster.local")


def _key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def _ca_name(name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "solo.io"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )


@cache
def _certificate(
    seed: str, subject: x509.Name, issuer: tuple[str, x509.Name], serial: str, start: datetime, end: datetime
) -> CertInfo:
    signer_seed, issuer_name = issuer
    is_ca = seed == signer_seed
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(_key(seed).public_key())
        .serial_number(int(serial, 16))
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in LEAF_SANS]), critical=False
        )
    der = builder.sign(_key(signer_seed), None).public_bytes(serialization.Encoding.DER)
    info = cert_info_from_der(der)
    assert isinstance(info, CertInfo), info
    return info


def ca(name: str, serial: str, not_before: datetime, days: int = 365) -> CertInfo:
    """A self-signed CA named ``name`` (its key's seed too)."""
    subject = _ca_name(name)
    return _certificate(name, subject, (name, subject), serial, not_before, not_before + days * DAY)


def leaf(seed: str, serial: str, signer: CertInfo, not_after: datetime | None = None) -> CertInfo:
    """certgen's server certificate for gloo, signed by ``signer``, valid from the signer's start."""
    assert signer.common_name is not None
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "solo.io"),
            x509.NameAttribute(NameOID.COMMON_NAME, LEAF_SANS[0]),
        ]
    )
    issuer = (signer.common_name, _ca_name(signer.common_name))
    end = not_after or signer.not_before + 365 * DAY
    return _certificate(seed, subject, issuer, serial, signer.not_before, end)


CA_OLD = ca("gloo-ca-2026-01", "5f3a9c21e7d04b18", datetime(2026, 1, 10, 9, 30, tzinfo=UTC))
CA_NEW = ca("gloo-ca-2026-11", "b81e4d7f02a9c635", datetime(2026, 11, 25, 20, 58, tzinfo=UTC))
CA_FOREIGN = ca("someone-elses-ca", "0c11d2e3f4a5b6c7", datetime(2026, 6, 1, tzinfo=UTC))
LEAF_OLD = leaf("leaf-old", "7c2e91f0a4b35d68", CA_OLD)
LEAF_NEW = leaf("leaf-new", "e49a0c37b1d8f256", CA_NEW)
LEAF_EXPIRED = leaf(
    "leaf-expired", "91ab23cd45ef6789", CA_OLD, not_after=NOW - 3 * DAY - timedelta(minutes=5)
)

#: what a pod (or the secret) holds: the trust bundle and the server certificate
Pair = tuple[TrustBundle, CertInfo | None]
STEADY: Pair = (TrustBundle((CA_OLD,)), LEAF_OLD)
CA_ADDED: Pair = (TrustBundle((CA_OLD, CA_NEW)), LEAF_OLD)
LEAF_ROTATED: Pair = (TrustBundle((CA_OLD, CA_NEW)), LEAF_NEW)
NEW_STEADY: Pair = (TrustBundle((CA_NEW,)), LEAF_NEW)
