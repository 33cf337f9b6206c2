"""A name read before is looked up by its DER: the same fields and notes as reading it afresh."""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

import gloomon.domain.parse.x509 as x509_module
from gloomon.domain.model import CertInfo
from gloomon.domain.parse.x509 import cert_info_from_der
from tests.domain.certs import make_ca


def _with_cn(cn: str, serial: int) -> bytes:
    ca = make_ca(kind="ed25519")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the builder warns about the long CN as the parser will
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(ca.cert.subject)
        .public_key(ca.key.public_key())
        .serial_number(serial)
        .not_valid_before(ca.cert.not_valid_before_utc)
        .not_valid_after(ca.cert.not_valid_after_utc)
    )
    return builder.sign(ca.key, None).public_bytes(serialization.Encoding.DER)


def test_a_repeated_name_has_the_same_fields_and_notes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    long_cn = "x" * 70
    first, second = _with_cn(long_cn, 1), _with_cn(long_cn, 2)
    monkeypatch.setattr(x509_module, "_NAMES", {})
    read = [cert_info_from_der(der) for der in (first, second)]
    assert len(x509_module._NAMES) == 1  # the second certificate's names came from the first's
    monkeypatch.setattr(x509_module, "_raw_names", lambda cert: None)
    fresh = cert_info_from_der(second)
    for info in (*read, fresh):
        assert isinstance(info, CertInfo)
        assert (info.subject, info.common_name) == (f"CN={long_cn}", long_cn)
        assert any("length must be >= 1 and <= 64, but it was 70" in note for note in info.notes), info.notes
    assert isinstance(read[1], CertInfo) and isinstance(fresh, CertInfo) and read[1].notes == fresh.notes
