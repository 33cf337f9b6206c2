"""A fleet whose secret and every pod trust a bundle of thousands of CAs (a rotation that never finished).

Real X.509: every CA but the newest shares one Ed25519 key and the newest, with its own key, signs the
leaf, so finding the signer means trying the whole bundle, as it would in production. The PEM is cached
in the system temp directory, so a benchmark or a test makes it once; it is read back with the parser a
poll uses, once for the secret and once for each pod (a session parses each Envoy's ``config_dump`` and
the secret on their own, and keeps each parse while that body stays the same), and the snapshot comes
from :func:`poll` (``build_snapshot``), like every other fixture.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import timedelta
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from gloomon.domain.model import FleetSnapshot, ParseError, TrustBundle
from gloomon.domain.parse.x509 import parse_pem_bundle
from gloomon.lab.snapshots.certs import NOW, Pair
from gloomon.lab.snapshots.polls import PODS, POLLED, WRITTEN, admin_fetch, poll


def _key(seed: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())


def _pem(count: int) -> bytes:
    """``count`` CA certificates, oldest first, then the leaf signed by the newest, as one PEM."""
    older, newest = _key("big bundle: older CAs"), _key("big bundle: newest CA")
    start = NOW - timedelta(days=30)
    blocks = []
    for index in range(count + 1):
        is_leaf = index == count
        key = newest if index >= count - 1 else older
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf" if is_leaf else f"ca-{index:05d}")])
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"ca-{count - 1:05d}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer if is_leaf else name)
            .public_key(key.public_key())
            .serial_number(0x100000 + index)
            .not_valid_before(start + timedelta(minutes=index))
            .not_valid_after(start + timedelta(days=365, minutes=index))
            .add_extension(x509.BasicConstraints(ca=not is_leaf, path_length=None), critical=True)
            .sign(newest if is_leaf else key, None)
        )
        blocks.append(cert.public_bytes(serialization.Encoding.PEM))
    return b"".join(blocks)


@cache
def _pem_bytes(count: int) -> bytes:
    path = Path(tempfile.gettempdir()) / f"gloomon-big-bundle-{count}-v1.pem"
    if not path.exists():
        path.write_bytes(_pem(count))
    return path.read_bytes()


@cache
def big_pair(count: int, holder: str = "secret") -> Pair:
    """The ``count``-CA bundle and the leaf its newest CA signed, as ``holder`` (the secret or a pod's
    name) has it: parsed from its own copy of the bytes, as a poll parses them."""
    parsed = parse_pem_bundle(bytes(bytearray(_pem_bytes(count))))
    if isinstance(parsed, ParseError):
        raise ValueError(f"the {count}-CA bundle: {parsed.message}")
    return TrustBundle(parsed[:-1]), parsed[-1]


def big_bundle(count: int, previous: FleetSnapshot | None = None) -> FleetSnapshot:
    """One poll: the secret and every pod hold the ``count``-CA bundle (a later poll with ``previous``)."""
    at = POLLED if previous is None else previous.taken_at + timedelta(seconds=2)
    fetches = {
        pod: admin_fetch(component, pod, big_pair(count, pod), index=index, at=at, delivered=WRITTEN)
        for index, (component, pod) in enumerate(PODS)
    }
    return poll(big_pair(count), at=at, previous=previous, fetches=fetches)
