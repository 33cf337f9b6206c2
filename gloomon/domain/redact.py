"""What a support bundle may carry: Envoy admin documents and Kubernetes objects → redacted copies.

Pure rules, no IO, so the ones that keep key material out of a ticket read in one place and are tested
table-driven. Every function returns a new value and a count of what it replaced; the inputs are never
changed. What goes:

- Envoy (``/config_dump`` and any other admin JSON): the value of every field that holds key material
  wherever it appears (:data:`SECRET_FIELDS`: ``private_key``, ``password``, ``pkcs12``, session ticket
  keys, generic secrets, …); inside ``tls_certificate`` everything but the public parts
  (:data:`PUBLIC_TLS_FIELDS`: the certificate chain, OCSP staple, SCTs, watched directory); any
  ``inline_bytes``/``inline_string`` whose content is key material.
- Everywhere (admin bodies, YAML, logs): PEM ``PRIVATE KEY`` blocks, any text still naming
  ``PRIVATE KEY``, and base64 runs that decode to a PEM or DER private key.
- Kubernetes: a Secret keeps its metadata only (name, resourceVersion, which keys it has and their sizes,
  its certificates' public metadata), never ``data``/``stringData``; other objects lose ``managedFields``,
  the ``last-applied-configuration`` annotation (it repeats the spec) and the values of environment
  variables whose names say they are secret.

Certificates (PEM ``CERTIFICATE`` blocks), names, versions and ``last_updated`` stay: they are public and
they are what a ticket is about.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.serialization import load_der_private_key

from gloomon.domain.export import cert_to_dict
from gloomon.domain.model import ParseError
from gloomon.domain.parse.x509 import parse_pem_bundle

REDACTED = "[redacted]"

#: fields whose whole value is key material (or a password for it) wherever they appear in Envoy config
SECRET_FIELDS = frozenset(
    {
        "private_key",
        "private_key_provider",
        "password",
        "pkcs12",
        "session_ticket_keys",
        "generic_secret",
        "hmac_secret",
        "client_secret",
        "token_secret",
    }
)
#: the parts of a ``tls_certificate`` that are public; every other field of it is redacted
PUBLIC_TLS_FIELDS = frozenset(
    {"certificate_chain", "ocsp_staple", "signed_certificate_timestamp", "watched_directory"}
)
#: a Secret's keys that hold private keys: their sizes are listed, their content never read
KEY_DATA_FIELDS = frozenset({"tls.key", "key.pem", "tls-key", "ssh-privatekey"})
#: annotations that repeat an object's spec (env values included) and so are redacted whole
_REPEATING_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
#: environment variable names whose values are secrets
_SECRET_ENV = re.compile(r"(?i)(pass|secret|token|private|credential|api_?key|auth)")
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(-----END \1PRIVATE KEY-----|\Z)", re.DOTALL
)
#: base64 long enough to hold the smallest DER private key (an Ed25519 PKCS#8 is 48 bytes, 64 chars)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{64,}={0,2}")
_KEY_WORDS = "PRIVATE KEY"


@dataclass(frozen=True, slots=True)
class Redacted:
    """A redacted copy and how many values were replaced in making it."""

    value: Any
    count: int


def is_key_material(data: bytes) -> bool:
    """Whether ``data`` is (or contains) a private key: PEM armour naming one, or a DER private key."""
    if _KEY_WORDS.encode() in data:
        return True
    if not data.startswith(b"\x30") or len(data) < 48:  # DER keys are SEQUENCEs
        return False
    try:
        load_der_private_key(data, password=None)
    except TypeError:  # encrypted: still a key
        return True
    except Exception:  # not a key: a certificate, random bytes, an algorithm this build cannot load
        return False
    return True


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def redact_text(text: str) -> Redacted:
    """``text`` with every PEM private key block, and every base64 run that decodes to key material,
    replaced by ``[redacted]``; text still naming ``PRIVATE KEY`` after that (a block cut short, a
    mangled armour) is replaced whole."""
    count = 0

    def block(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return REDACTED

    def run(match: re.Match[str]) -> str:
        nonlocal count
        decoded = _b64(match.group())
        if decoded is None or not is_key_material(decoded):
            return match.group()
        count += 1
        return REDACTED

    if "PRIVATE" in text:
        text = _PEM_KEY.sub(block, text)
    if len(text) >= 64:
        text = _BASE64_RUN.sub(run, text)
    if _KEY_WORDS in text:
        return Redacted(REDACTED, count + 1)
    return Redacted(text, count)


def _inline_is_key(field: str, value: Any) -> bool:
    """Whether a DataSource's ``inline_bytes`` (base64) or ``inline_string`` holds key material."""
    if not isinstance(value, str):
        return False
    if field == "inline_bytes":
        decoded = _b64(value)
        return decoded is None or is_key_material(decoded)  # undecodable bytes: not kept, unknown
    return is_key_material(value.encode("utf-8", "replace"))


def redact_envoy(document: Any) -> Redacted:
    """An Envoy admin document (``/config_dump``, ``/certs``…) with its key material replaced."""
    count = 0

    def walk(value: Any, tls: bool = False) -> Any:
        """``tls``: ``value`` is a TlsCertificate (or a list of them), whose non-public fields go."""
        nonlocal count
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                secret = key in SECRET_FIELDS or (tls and key not in PUBLIC_TLS_FIELDS)
                if secret or (key in ("inline_bytes", "inline_string") and _inline_is_key(key, item)):
                    if item != {"inline_string": REDACTED} and item != REDACTED:  # Envoy's own: not counted
                        count += 1
                    out[key] = REDACTED
                else:
                    out[key] = walk(item, key in ("tls_certificate", "tls_certificates"))
            return out
        if isinstance(value, list):
            return [walk(item, tls) for item in value]
        if isinstance(value, str):
            result = redact_text(value)
            count += result.count
            return result.value
        return value

    return Redacted(walk(document), count)


def secret_metadata(obj: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """A Secret as metadata only: name, namespace, uid, resourceVersion, creation time, labels, its
    owners and writers (``ownerReferences``; each ``managedFields`` entry's manager, operation, time), type,
    the keys it holds with their decoded sizes, and each certificate key's public metadata (serial,
    subject, SANs, validity, fingerprint). Private key entries are sized from their base64 length, never
    decoded; no ``data`` or ``stringData`` value is copied."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kept_meta = {
        name: meta[name]
        for name in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "labels")
        if name in meta
    }
    owners = meta.get("ownerReferences")
    if isinstance(owners, list):  # who made it (a kube-gateway's copy: its Gateway)
        kept_meta["ownerReferences"] = [
            {k: _text(o[k]) for k in ("apiVersion", "kind", "name", "controller") if k in o}
            for o in owners
            if isinstance(o, Mapping)
        ]
    fields = meta.get("managedFields")
    if isinstance(fields, list):  # who wrote it and when; the field sets themselves are left out
        kept_meta["managers"] = [
            {k: _text(f[k]) for k in ("manager", "operation", "time") if k in f}
            for f in fields
            if isinstance(f, Mapping)
        ]
    annotations = meta.get("annotations")
    if isinstance(annotations, Mapping):
        kept_meta["annotations"] = {
            key: REDACTED if key in _REPEATING_ANNOTATIONS else _text(value)
            for key, value in annotations.items()
        }
    keys: list[dict[str, Any]] = []
    certificates: dict[str, Any] = {}
    for section in ("data", "stringData"):
        data = obj.get(section)
        if not isinstance(data, Mapping):
            continue
        for key in sorted(data, key=str):
            value = data[key]
            if not isinstance(value, str):
                continue
            if key in KEY_DATA_FIELDS:
                size = len(value) * 3 // 4 if section == "data" else len(value)
                keys.append({"key": key, "bytes": size, "content": "private key (not read)"})
                continue
            raw = _b64(value) if section == "data" else value.encode("utf-8", "replace")
            keys.append({"key": key, "bytes": len(raw) if raw is not None else None})
            if raw is not None and b"-----BEGIN CERTIFICATE-----" in raw and not is_key_material(raw):
                parsed = parse_pem_bundle(raw, source=key)
                certificates[key] = (
                    parsed.message
                    if isinstance(parsed, ParseError)
                    else [cert_to_dict(cert, now) for cert in parsed]
                )
    return {
        "apiVersion": obj.get("apiVersion", "v1"),
        "kind": "Secret",
        "metadata": kept_meta,
        "type": obj.get("type"),
        "keys": keys,
        "certificates": certificates,
        "note": "data removed by gloomon bundle: metadata, key names and certificates' public metadata only",
    }


def _text(value: Any) -> Any:
    return redact_text(value).value if isinstance(value, str) else value


def redact_object(obj: Any, now: datetime) -> Redacted:
    """A Kubernetes object (or a List of them) as it may go into a bundle: Secrets as
    :func:`secret_metadata`, everything else without ``managedFields``, repeating annotations and
    secret-named environment values, and with :func:`redact_text` applied to every string."""
    count = 0

    def walk(value: Any, parent: str = "") -> Any:
        nonlocal count
        if isinstance(value, Mapping):
            has_data = "data" in value or "stringData" in value
            if (value.get("kind") == "Secret" and has_data) or (parent == "items" and _secretish(value)):
                count += 1
                return secret_metadata(value, now)
            out: dict[Any, Any] = {}
            for key, item in value.items():
                if key == "managedFields":
                    continue
                if key in _REPEATING_ANNOTATIONS:
                    count += 1
                    out[key] = REDACTED
                    continue
                out[key] = walk(item, key)
            if parent == "env" and "value" in out and _SECRET_ENV.search(str(value.get("name", ""))):
                count += 1
                out["value"] = REDACTED
            return out
        if isinstance(value, list):
            return [walk(item, parent) for item in value]
        if isinstance(value, str):
            result = redact_text(value)
            count += result.count
            return result.value
        return value

    return Redacted(walk(obj), count)


def _secretish(item: Mapping[str, Any]) -> bool:
    """A List item without ``kind`` (the API omits it in lists) that looks like a Secret: ``type`` and
    ``data`` and no ``spec``."""
    return "data" in item and "type" in item and "spec" not in item
