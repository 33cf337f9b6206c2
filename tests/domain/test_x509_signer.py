"""Finding a leaf's signer in a big bundle: CAs named as its issuer, with the right key type, first; the
signature still decides."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

import gloomon.domain.parse.x509 as x509_module
from gloomon.domain.parse.x509 import find_signer
from tests.domain.certs import Made, bundle, make_ca, make_leaf


def _renamed(ca: Made, cn: str) -> Made:
    """``ca``'s key under another name: it verifies what ``ca`` signed, though no name says so."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(ca.key.public_key())
        .serial_number(ca.cert.serial_number + 1)
        .not_valid_before(ca.cert.not_valid_before_utc)
        .not_valid_after(ca.cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    )
    return Made(builder.sign(ca.key, None), ca.key)


def test_the_ca_named_as_the_issuer_is_verified_first(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    signer = make_ca(kind="ed25519")
    others = [make_ca(kind="ed25519", cn=f"other-{index}") for index in range(30)]
    rsa_same_name = make_ca(kind="rsa")  # the issuer's name, but an RSA key cannot make an Ed25519 signature
    leaf = make_leaf(signer, kind="ed25519")
    tried: list[bytes] = []
    verifies = x509_module._verifies

    def counting(signed, ca_der):  # type: ignore[no-untyped-def]
        tried.append(ca_der)
        return verifies(signed, ca_der)

    monkeypatch.setattr(x509_module, "_verifies", counting)
    assert find_signer(leaf.info, bundle(rsa_same_name, *others, signer)) == 31
    assert tried == [signer.der]


def test_a_name_only_orders_the_work() -> None:
    signer = make_ca(kind="ed25519")
    leaf = make_leaf(signer, kind="ed25519")
    impostor = make_ca(kind="ed25519")  # the issuer's name and key type, another key
    assert find_signer(leaf.info, bundle(impostor, _renamed(signer, "renamed"))) == 1
    assert find_signer(leaf.info, bundle(impostor)) is None
