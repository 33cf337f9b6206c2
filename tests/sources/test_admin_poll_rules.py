"""AdminPoller's request-saving rules, on models (no Envoy): when ``/certs`` and ``/ready`` are needed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gloomon.domain.model import (
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    CertInfo,
    ParseError,
    SdsSecret,
    SecretsDump,
)
from gloomon.domain.parse.x509 import parse_pem_bundle
from gloomon.sources.admin import poller as admin
from tests.domain.certs import make_ca


def _cert() -> CertInfo:
    parsed = parse_pem_bundle(make_ca(kind="ecdsa").pem.encode())
    assert not isinstance(parsed, ParseError)
    return parsed[0]


def _dump(version: str, *, with_validation: bool = True) -> SecretsDump:
    when = datetime(2026, 11, 25, 20, 52, 32, tzinfo=UTC)
    cert = _cert()
    secrets = [SdsSecret(SERVER_CERT_SECRET, "tls_certificate", version, when, (cert,))]
    if with_validation:
        secrets.append(SdsSecret(VALIDATION_CONTEXT_SECRET, "validation_context", version, when, (cert,)))
    return SecretsDump(tuple(secrets))


def test_certs_key_follows_the_sds_versions() -> None:
    assert admin.certs_key(_dump("1")) == admin.certs_key(_dump("1"))
    assert admin.certs_key(_dump("1")) != admin.certs_key(_dump("2"))


@pytest.mark.parametrize(
    "secrets",
    [ParseError("/config_dump", "bad"), SecretsDump(()), _dump("1", with_validation=False)],
)
def test_certs_key_is_none_when_config_dump_cannot_stand_in_for_certs(
    secrets: SecretsDump | ParseError,
) -> None:
    assert admin.certs_key(secrets) is None
