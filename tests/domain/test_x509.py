"""PEM bundles, Envoy's serial spelling, and finding the signer by signature (never by name)."""

from __future__ import annotations

import base64
import gc
import weakref
from datetime import UTC

import pytest

from gloomon.domain.model import CertInfo, ParseError, TrustBundle
from gloomon.domain.parse.x509 import cert_info_from_der, envoy_serial, find_signer, parse_pem_bundle
from tests.domain.certs import CA_CN, bundle, make_ca, make_leaf, rotation


@pytest.mark.parametrize(
    ("serial", "text"),
    [
        (0, "0"),
        (1, "01"),
        (0xB0A, "0b0a"),
        (0x0B0A79907BEBE65CC94560070A0E8DCD, "0b0a79907bebe65cc94560070a0e8dcd"),
        (255, "ff"),
        (256, "0100"),
        (-1, "-01"),
    ],
)
def test_envoy_serial(serial: int, text: str) -> None:
    assert envoy_serial(serial) == text


def test_gloo_leaf_fields() -> None:
    rot = rotation()
    info = rot.leaf_old.info
    assert info.subject == "CN=gloo.gloo-system.svc,O=solo.io"
    assert info.issuer == f"CN={CA_CN}"
    assert info.common_name == "gloo.gloo-system.svc"
    assert info.sans == (
        "DNS:gloo",
        "DNS:gloo.gloo-system",
        "DNS:gloo.gloo-system.svc",
        "DNS:gloo.gloo-system.svc.cluster.local",
    )
    assert info.serial == envoy_serial(rot.leaf_old.cert.serial_number)
    assert (info.key_type, info.key_bits, info.is_ca) == ("RSA", 2048, False)
    assert info.not_before == rot.ca_old.info.not_before  # certgen: leaf NotBefore = CA NotBefore
    assert info.not_after.tzinfo is UTC
    assert info.sha256 is not None and len(info.sha256) == 64
    ca = rot.ca_old.info
    assert (ca.is_ca, ca.common_name, ca.sans) == (True, CA_CN, (f"DNS:{CA_CN}",))


def test_other_key_types_and_sans() -> None:
    ca = make_ca(kind="ecdsa")
    leaf = make_leaf(ca, kind="ed25519")
    assert (ca.info.key_type, ca.info.key_bits) == ("ECDSA", 256)
    assert leaf.info.key_type == "Ed25519"


def test_bundle_with_junk_crlf_and_keys() -> None:
    rot = rotation()
    text = (
        "junk before\n"
        + rot.ca_old.pem.replace("\n", "\r\n")
        + "# comment\n"
        + rot.leaf_old.key_pem()
        + "more junk\n"
        + rot.ca_new.pem
        + "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
    )
    parsed = parse_pem_bundle(text)
    assert isinstance(parsed, tuple)
    assert [c.sha256 for c in parsed] == [rot.ca_old.info.sha256, rot.ca_new.info.sha256]
    assert parse_pem_bundle(text.encode()) == parsed


def test_a_certificate_is_held_once_however_many_bundles_carry_it() -> None:
    """Every Envoy and the secret carry the same CAs: parsed from each one's own bytes, they are one
    instance per certificate while any is held, and a certificate nobody holds any more is let go."""
    old, new = make_ca(kind="ec"), make_ca(kind="ec")  # certificates no other test holds
    text = old.pem + new.pem
    first, second = parse_pem_bundle(text), parse_pem_bundle(text.encode())
    assert isinstance(first, tuple) and isinstance(second, tuple)
    assert all(one is other for one, other in zip(first, second, strict=True))
    assert cert_info_from_der(bytearray(new.der)) is first[1]
    held = weakref.ref(first[0])
    del first, second
    gc.collect()
    assert held() is None


def test_bare_base64_der_and_raw_der() -> None:
    rot = rotation()
    b64 = base64.b64encode(rot.ca_old.der).decode()
    assert parse_pem_bundle(b64) == (rot.ca_old.info,)
    wrapped = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
    assert parse_pem_bundle(wrapped) == (rot.ca_old.info,)
    assert parse_pem_bundle(rot.ca_old.der) == (rot.ca_old.info,)


def test_private_key_never_leaks() -> None:
    rot = rotation()
    key_pem = rot.leaf_old.key_pem()
    key_body = key_pem.splitlines()[1]
    only_key = parse_pem_bundle(key_pem, source="tls.key?")
    assert isinstance(only_key, ParseError)
    assert "private key" in only_key.message
    assert key_body not in str(only_key)
    with_cert = parse_pem_bundle(key_pem + rot.leaf_old.pem)
    assert isinstance(with_cert, tuple) and len(with_cert) == 1
    assert key_body not in repr(with_cert)
    der_key = base64.b64decode("".join(key_pem.splitlines()[1:-1]))
    assert der_key.hex()[:40] not in repr(with_cert)
    bare_key = parse_pem_bundle("".join(key_pem.splitlines()[1:-1]))
    assert isinstance(bare_key, ParseError) and key_body[:20] not in str(bare_key)


@pytest.mark.parametrize(
    "data",
    [
        "",
        "hello",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"\xff\xfe\x00garbage",
        b"\x30\x82" + b"\x00" * 80,
    ],
)
def test_bad_input_is_a_parse_error(data: str | bytes) -> None:
    assert isinstance(parse_pem_bundle(data), ParseError)


def test_cert_info_from_der_garbage() -> None:
    assert isinstance(cert_info_from_der(b"nope"), ParseError)


def test_find_signer_by_signature_not_name() -> None:
    rot = rotation()
    assert rot.ca_old.info.subject == rot.ca_new.info.subject  # same CN: names cannot tell
    both = bundle(rot.ca_old, rot.ca_new)
    assert find_signer(rot.leaf_old.info, both) == 0
    assert find_signer(rot.leaf_new.info, both) == 1
    assert find_signer(rot.leaf_new.info, bundle(rot.ca_old)) is None
    impostor = make_ca(kind="ecdsa")  # same CN, different key
    assert find_signer(make_leaf(impostor, kind="ecdsa").info, both) is None


@pytest.mark.parametrize(("ca_kind", "pss"), [("rsa", True), ("ecdsa", False), ("ed25519", False)])
def test_find_signer_algorithms(ca_kind: str, pss: bool) -> None:
    ca = make_ca(kind=ca_kind) if ca_kind != "rsa" else rotation().ca_new  # type: ignore[arg-type]
    leaf = make_leaf(ca, kind="ecdsa", pss=pss)
    assert find_signer(leaf.info, bundle(make_ca(kind="ecdsa"), ca)) == 1


def test_find_signer_without_der() -> None:
    rot = rotation()
    info = rot.leaf_old.info
    partial = CertInfo(serial=info.serial, not_before=info.not_before, not_after=info.not_after)
    assert find_signer(partial, bundle(rot.ca_old)) is None
    assert find_signer(info, TrustBundle()) is None
