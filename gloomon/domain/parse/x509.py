"""Certificates from PEM bundles and DER, and which CA of a bundle signed a leaf.

Every Gloo CA has the same CN (``supergloo-webhook-cert-ca``), so the signer is found by verifying the
leaf's signature with each CA's public key, never by comparing names. Private key blocks in the input
are skipped unread: nothing of them reaches a model, a repr or an error message.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

from gloomon.domain.model import CertInfo, ParseError, TrustBundle
from gloomon.domain.text import inert, one_line
from gloomon.domain.words import counted

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----(.*?)-----END ([A-Z0-9 ]{1,64})-----", re.S)
_CERT_LABELS = {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"}
#: what ``rb"\s"`` matches: the bytes a PEM body may wrap with
_WHITESPACE = b" \t\n\r\f\v"
_B64 = re.compile(rb"[A-Za-z0-9+/=]+")
#: the longest subject, issuer or SAN kept, and the longest note (remote text, clipped with "…")
_NAME_CHARS, _NOTE_CHARS = 1024, 200


def envoy_serial(serial: int) -> str:
    """The serial as Envoy prints it (BoringSSL ``BN_bn2hex``): lowercase hex of whole bytes, "0" for 0."""
    if serial < 0:
        return "-" + envoy_serial(-serial)
    if serial == 0:
        return "0"
    text = format(serial, "x")
    return "0" + text if len(text) % 2 else text


def parse_pem_bundle(data: bytes | str, *, source: str = "pem") -> tuple[CertInfo, ...] | ParseError:
    """Every CERTIFICATE block of ``data``, in order.

    Tolerates text between blocks, CRLF line ends and, when there is no PEM armour at all, bare base64
    (or raw) DER of one certificate. Private key and other blocks are skipped. No certificate at all, or
    a certificate block that does not decode, is a ParseError.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    if not isinstance(data, bytes | bytearray | memoryview):
        return ParseError(source, f"expected bytes or text, got {type(data).__name__}")
    data = bytes(data)
    certs: list[CertInfo] = []
    skipped_keys = 0
    saw_block = False
    for index, (label, body) in enumerate(_blocks(data), start=1):
        saw_block = True
        if b"PRIVATE KEY" in label:
            skipped_keys += 1
            continue
        if label not in _CERT_LABELS:
            continue
        der = _b64decode(body)
        if der is None:
            return ParseError(source, f"block #{index} (CERTIFICATE) is not valid base64")
        info = cert_info_from_der(der)
        if isinstance(info, ParseError):
            return ParseError(source, f"block #{index} (CERTIFICATE): {info.message}")
        certs.append(info)
    if certs:
        return tuple(certs)
    if not saw_block:
        bare = _bare_der(data)
        if bare is not None:
            info = cert_info_from_der(bare)
            if isinstance(info, CertInfo):
                return (info,)
            return ParseError(source, f"not PEM, and not a DER certificate: {info.message}")
    note = f" ({counted(skipped_keys, 'private key block')} ignored)" if skipped_keys else ""
    return ParseError(source, f"no CERTIFICATE found{note}")


def _blocks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    for match in _BLOCK.finditer(data):
        if match.group(1) != match.group(3):
            continue
        yield match.group(1), match.group(2)


def _b64decode(body: bytes) -> bytes | None:
    compact = body.translate(None, _WHITESPACE)
    if not compact or not _B64.fullmatch(compact):
        return None
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _bare_der(data: bytes) -> bytes | None:
    if data[:1] == b"\x30" and len(data) > 64:
        return data
    der = _b64decode(data.strip())
    if der is not None and der[:1] == b"\x30":
        return der
    return None


def cert_info_from_der(der: bytes) -> CertInfo | ParseError:
    """A :class:`CertInfo` with every field filled from one DER certificate, or why it is not one.

    The certificate is remote input: its names and SANs are made inert (:mod:`gloomon.domain.text`), and
    what the library warns about while reading it (``Attribute's length must be >= 1 and <= 64``, a
    negative serial …) becomes the certificate's ``notes`` instead of a line on stderr. The same DER
    gives the same instance while anything holds it (:data:`_PARSED`).
    """
    try:
        der = bytes(der)
    except (TypeError, ValueError) as exc:
        return ParseError("x509", f"not a DER certificate ({_short(exc)})")
    known = _PARSED.get(der)
    if known is not None:
        return known
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = _cert_info(der)
    notes = tuple(dict.fromkeys(one_line(str(item.message), _NOTE_CHARS) for item in caught))
    if notes and isinstance(info, CertInfo):
        info = replace(info, notes=notes)
    if isinstance(info, CertInfo):
        _PARSED[der] = info
    return info


#: every certificate parsed and still held somewhere, by its DER. Each Envoy and the secret hold the
#: same CAs (with a rotation that never finished, thousands: five Envoys and the secret would keep six
#: copies of each alive, and parse each six times per change); a certificate is parsed once and held
#: once, for as long as anything holds it. A CertInfo is immutable and follows from its DER alone.
_PARSED: weakref.WeakValueDictionary[bytes, CertInfo] = weakref.WeakValueDictionary()


def _cert_info(der: bytes) -> CertInfo | ParseError:
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return ParseError("x509", f"not a DER certificate ({_short(exc)})")
    try:
        serial = envoy_serial(cert.serial_number)
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
        sha256 = cert.fingerprint(hashes.SHA256()).hex()
    except (ValueError, TypeError, OverflowError) as exc:
        return ParseError("x509", f"unreadable certificate ({_short(exc)})")
    key_type, key_bits = _key(cert)
    sans = _sans(cert)
    subject, issuer, common_name = _names(cert)
    return CertInfo(
        serial=serial,
        not_before=not_before,
        not_after=not_after,
        sans=sans,
        subject=subject,
        issuer=issuer,
        common_name=common_name,
        sha256=sha256,
        key_type=key_type,
        key_bits=key_bits,
        is_ca=_is_ca(cert),
        der=der,
    )


def _short(exc: BaseException) -> str:
    return one_line(str(exc), 120) or type(exc).__name__


#: names already read, by their DER (issuer, subject): every CA of a Gloo bundle has the same name, and
#: reading one costs more than the rest of the certificate. Cleared when full; a pure cache.
_NAMES: dict[tuple[bytes, bytes], tuple[tuple[str | None, str | None, str | None], tuple[Warning, ...]]] = {}
_NAMES_KEPT = 1024


def _names(cert: x509.Certificate) -> tuple[str | None, str | None, str | None]:
    """The subject, the issuer and the subject's CN, inert; a name seen before costs a lookup.

    What the library warned about while reading the names (a CN longer than 64 characters …) is warned
    again on a cached read, so the certificate's notes are the same either way.
    """
    key = _raw_names(cert)
    cached = _NAMES.get(key) if key is not None else None
    if cached is None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            names = (_name(cert, issuer=False), _name(cert, issuer=True), _common_name(cert))
        cached = names, tuple(item.message for item in caught if isinstance(item.message, Warning))
        if key is not None:
            if len(_NAMES) >= _NAMES_KEPT:
                _NAMES.clear()
            _NAMES[key] = cached
    for message in cached[1]:
        warnings.warn(message, stacklevel=2)
    return cached[0]


def _raw_names(cert: x509.Certificate) -> tuple[bytes, bytes] | None:
    """The DER of the issuer and the subject as they stand in the certificate's TBS, None when it does not
    walk as RFC 5280 says (then the names are read without the cache)."""
    try:
        tbs = cert.tbs_certificate_bytes
        pos, _ = _element(tbs, 0)
        if tbs[pos] == 0xA0:  # [0] version
            pos = _element(tbs, pos)[1]
        pos = _element(tbs, pos)[1]  # serialNumber
        pos = _element(tbs, pos)[1]  # signature
        issuer_end = _element(tbs, pos)[1]
        issuer = tbs[pos:issuer_end]
        subject_at = _element(tbs, issuer_end)[1]  # after validity
        subject = tbs[subject_at : _element(tbs, subject_at)[1]]
    except (IndexError, ValueError):
        return None
    return issuer, subject


def _element(der: bytes, pos: int) -> tuple[int, int]:
    """Where the content of the DER element at ``pos`` starts and where the element ends."""
    length, start = der[pos + 1], pos + 2
    if length & 0x80:
        size = length & 0x7F
        if not 0 < size <= 4:
            raise ValueError("unsupported DER length")
        length, start = int.from_bytes(der[start : start + size], "big"), start + size
    if start + length > len(der):
        raise ValueError("DER element past the end")
    return start, start + length


def _name(cert: x509.Certificate, *, issuer: bool) -> str | None:
    try:
        return inert((cert.issuer if issuer else cert.subject).rfc4514_string(), _NAME_CHARS)
    except (ValueError, TypeError):
        return None


def _common_name(cert: x509.Certificate) -> str | None:
    try:
        attrs = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except (ValueError, TypeError):
        return None
    if not attrs:
        return None
    value = attrs[0].value
    return inert(value if isinstance(value, str) else bytes(value).decode("utf-8", "replace"), _NAME_CHARS)


def _sans(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return ()
    out: list[str] = []
    out.extend(f"DNS:{name}" for name in ext.get_values_for_type(x509.DNSName))
    out.extend(f"IP:{addr}" for addr in ext.get_values_for_type(x509.IPAddress))
    out.extend(f"URI:{uri}" for uri in ext.get_values_for_type(x509.UniformResourceIdentifier))
    return tuple(inert(san, _NAME_CHARS) for san in out)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError, TypeError):
        return False


def _key(cert: x509.Certificate) -> tuple[str | None, int | None]:
    try:
        key = cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECDSA", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def find_signer(leaf: CertInfo, bundle: TrustBundle) -> int | None:
    """Index in ``bundle`` of the CA whose public key verifies the leaf's signature, or None.

    Needs DER for the leaf and the CAs (PEM-backed data); ``/certs``-only data has none and gives None.
    The CAs whose subject is the leaf's issuer and whose key type can have made the leaf's signature are
    tried first, in bundle order, then the rest: a name only orders the work, the signature decides.
    """
    if leaf.der is None:
        return None
    signed = _signed_parts(leaf.der)
    if signed is None:
        return None
    likely = tuple(
        index
        for index, ca in enumerate(bundle.cas)
        if ca.subject == leaf.issuer and signed.key_type in (None, ca.key_type)
    )
    return _signer_index(leaf.der, tuple(ca.der for ca in bundle.cas), likely)


@lru_cache(maxsize=16)
def _signer_index(leaf_der: bytes, ca_ders: tuple[bytes | None, ...], likely: tuple[int, ...]) -> int | None:
    """:func:`find_signer` once per distinct (leaf, bundle): a bundle of thousands of CAs (a rotation
    that never finished) costs its signature checks on the first poll, not on every poll and target."""
    signed = _signed_parts(leaf_der)
    if signed is None:
        return None
    tried = set(likely)
    for index in (*likely, *(index for index in range(len(ca_ders)) if index not in tried)):
        ca_der = ca_ders[index]
        if ca_der is not None and _verifies(signed, ca_der):
            return index
    return None


#: the key type (as :attr:`CertInfo.key_type` names it) that makes signatures of each algorithm
_SIGNING_KEY = {
    getattr(SignatureAlgorithmOID, name).dotted_string: key_type
    for key_type, names in (
        ("RSA", ("RSA_WITH_SHA1", "RSA_WITH_SHA224", "RSA_WITH_SHA256", "RSA_WITH_SHA384")),
        ("RSA", ("RSA_WITH_SHA512", "RSASSA_PSS")),
        ("ECDSA", ("ECDSA_WITH_SHA1", "ECDSA_WITH_SHA224", "ECDSA_WITH_SHA256", "ECDSA_WITH_SHA384")),
        ("ECDSA", ("ECDSA_WITH_SHA512",)),
        ("Ed25519", ("ED25519",)),
        ("Ed448", ("ED448",)),
    )
    for name in names
}


@dataclass(frozen=True)
class _Signed:
    """What verifying a certificate's signature needs of it, read once however many CAs are tried.

    ``algorithm`` and ``padding`` are None when the library cannot read them (no RSA or ECDSA key can
    verify then); ``key_type`` is the key type its signature algorithm needs, None when unknown.
    """

    tbs: bytes
    signature: bytes
    algorithm: hashes.HashAlgorithm | None
    padding: padding.PSS | padding.PKCS1v15 | None
    key_type: str | None


@lru_cache(maxsize=64)
def _signed_parts(cert_der: bytes) -> _Signed | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_der_x509_certificate(cert_der)
        tbs, signature = cert.tbs_certificate_bytes, cert.signature
        key_type = _SIGNING_KEY.get(cert.signature_algorithm_oid.dotted_string)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    try:
        algorithm = cert.signature_hash_algorithm
    except (ValueError, TypeError, UnsupportedAlgorithm):
        algorithm = None
    try:
        params = cert.signature_algorithm_parameters
        pad = params if isinstance(params, padding.PSS | padding.PKCS1v15) else padding.PKCS1v15()
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pad = None
    return _Signed(tbs, signature, algorithm, pad, key_type)


def _verifies(signed: _Signed, ca_der: bytes) -> bool:
    """Whether the certificate ``ca_der``'s key verifies ``signed``. The library's warnings about this
    (remote) certificate are its notes already (:func:`cert_info_from_der`): silenced here, not printed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            key = x509.load_der_x509_certificate(ca_der).public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if signed.algorithm is None or signed.padding is None:
                return False
            key.verify(signed.signature, signed.tbs, signed.padding, signed.algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if signed.algorithm is None:
                return False
            key.verify(signed.signature, signed.tbs, ec.ECDSA(signed.algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signed.signature, signed.tbs)
        else:
            return False
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True
