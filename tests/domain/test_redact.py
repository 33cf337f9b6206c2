"""What a support bundle may carry (gloomon.domain.redact): real Envoy config_dumps and /certs keep their
certificates, names and versions; key material put anywhere in them, in every form Envoy or a Secret can
hold it, is replaced; Kubernetes Secrets become metadata."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from gloomon.domain.parse.x509 import envoy_serial
from gloomon.domain.redact import redact_envoy, redact_object, redact_text, secret_metadata
from tests.domain.certs import NOW, make_ca, make_leaf

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG_DUMPS = sorted(FIXTURES.glob("envoy140_*_secrets_active.json"))
CERTS = sorted(FIXTURES.glob("envoy140_*_certs.json")) + sorted(FIXTURES.glob("reference/*_certs_*.json"))

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC = ec.generate_private_key(ec.SECP256R1())
ED = ed25519.Ed25519PrivateKey.generate()


def _pem(key: Any, fmt: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def _der(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def pieces(key: Any) -> list[bytes]:
    """Recognisable pieces of ``key`` in every form it could travel in: PEM body, base64 of PEM, base64 of
    DER, raw DER."""
    pem = _pem(key)
    body = b"".join(pem.splitlines()[1:-1])
    der = _der(key)
    return [body[:48], base64.b64encode(pem)[:48], base64.b64encode(der)[16:64], der[8:40], b"PRIVATE KEY"]


def leaks(document: Any, key: Any) -> list[bytes]:
    text = json.dumps(document).encode()
    return [piece for piece in pieces(key) if piece in text]


def strings(document: Any) -> set[str]:
    """Every string value in ``document``."""
    if isinstance(document, dict):
        return set().union(*(strings(v) for v in document.values()))
    if isinstance(document, list):
        return set().union(*(strings(v) for v in document))
    return {document} if isinstance(document, str) else set()


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CONFIG_DUMPS + CERTS, ids=lambda p: p.name)
def test_a_real_admin_document_keeps_its_certificates_names_and_versions(path: Path) -> None:
    original = _load(path)
    result = redact_envoy(original)
    assert result.count == 0  # Envoy already redacted its key; nothing else in it is secret
    assert original == _load(path), "the input is not changed"
    text, before = json.dumps(result.value), json.dumps(original)
    assert text.count("BEGIN CERTIFICATE") == before.count("BEGIN CERTIFICATE")
    if "configs" in original:
        for was, now in zip(original["configs"], result.value["configs"], strict=True):
            assert (now["name"], now["version_info"], now["last_updated"]) == (
                was["name"],
                was["version_info"],
                was["last_updated"],
            )
    else:
        assert result.value == original


def _server_cert(doc: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in doc["configs"] if c["name"] == "server_cert")["secret"]["tls_certificate"]


def _validation(doc: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in doc["configs"] if c["name"] == "validation_context")["secret"]


def _p12(key: Any) -> str:
    blob = pkcs12.serialize_key_and_certificates(b"x", key, None, None, serialization.NoEncryption())
    return base64.b64encode(blob).decode()


Inject = Callable[[dict[str, Any], Any], None]

INJECTIONS: list[tuple[str, Inject]] = [
    (
        "private_key inline_string PKCS#8 PEM",
        lambda d, k: _server_cert(d).update(private_key={"inline_string": _pem(k).decode()}),
    ),
    (
        "private_key inline_bytes (base64 of PEM)",
        lambda d, k: _server_cert(d).update(private_key={"inline_bytes": base64.b64encode(_pem(k)).decode()}),
    ),
    (
        "inline_bytes of a DER key outside private_key",
        lambda d, k: _validation(d).update(custom={"inline_bytes": base64.b64encode(_der(k)).decode()}),
    ),
    (
        "pkcs12 in tls_certificate",
        lambda d, k: _server_cert(d).update(pkcs12={"inline_bytes": _p12(k)}),
    ),
    (
        "an unknown field of tls_certificate",
        lambda d, k: _server_cert(d).update(future_key_field={"inline_string": _pem(k).decode()}),
    ),
    (
        "password and session ticket keys",
        lambda d, k: d["configs"].append(
            {
                "name": "server_cert",
                "password": {"inline_string": "hunter2"},
                "session_ticket_keys": {"keys": [{"inline_bytes": base64.b64encode(_der(k)).decode()}]},
            }
        ),
    ),
    (
        "tls_certificates list of a static listener",
        lambda d, k: d["configs"].append(
            {
                "common_tls_context": {
                    "tls_certificates": [{"private_key": {"filename": "/k", "x": _pem(k).decode()}}]
                }
            }
        ),
    ),
    (
        "a PEM key inside unrelated text (a Lua script)",
        lambda d, k: d["configs"].append(
            {"lua": {"inline_string": "local k = [[\n" + _pem(k).decode() + "]]\nreturn k\n"}}
        ),
    ),
    (
        "a bare base64 DER key in a string field",
        lambda d, k: d["configs"].append({"note": "key=" + base64.b64encode(_der(k)).decode()}),
    ),
    (
        "traditional OpenSSL PEM",
        lambda d, k: _server_cert(d).update(
            private_key={"inline_string": _pem(k, serialization.PrivateFormat.TraditionalOpenSSL).decode()}
        ),
    ),
]


#: Every (injection, key) pair that exists: Ed25519 has no traditional OpenSSL PEM format.
KEY_CASES = [
    pytest.param(what, inject, key, id=f"{what}-{name}")
    for what, inject in INJECTIONS
    for key, name in ((RSA, "rsa"), (EC, "ecdsa"), (ED, "ed25519"))
    if not ("traditional" in what and isinstance(key, ed25519.Ed25519PrivateKey))
]


@pytest.mark.parametrize(("what", "inject", "key"), KEY_CASES)
def test_key_material_anywhere_in_a_config_dump_is_replaced(what: str, inject: Inject, key: Any) -> None:
    original = _load(CONFIG_DUMPS[0])
    document = copy.deepcopy(original)
    inject(document, key)
    injected = strings(document) - strings(original)
    assert injected, "the injection put something in"
    result = redact_envoy(document)
    assert leaks(result.value, key) == []
    assert injected & strings(result.value) == set()
    assert result.count >= 1
    assert json.dumps(result.value).count("BEGIN CERTIFICATE") == json.dumps(document).count(
        "BEGIN CERTIFICATE"
    ), "the certificates stay"


def test_public_inline_data_stays() -> None:
    leaf = make_leaf(make_ca())
    pem = leaf.pem
    document = {
        "trusted_ca": {"inline_bytes": base64.b64encode(pem.encode()).decode()},
        "certificate_chain": {"inline_string": pem},
        "lua": {"inline_string": "function envoy_on_request(h) h:logInfo('private key rotation') end"},
        "body": {"inline_bytes": base64.b64encode(b"hello").decode()},
    }
    result = redact_envoy(document)
    assert result.value == document and result.count == 0


def test_log_text_loses_key_blocks_and_base64_keys_and_keeps_the_rest() -> None:
    pem_lines = _pem(RSA).decode().splitlines()
    stamped = "\n".join(f"2026-12-01T13:00:0{i % 10}.000Z {line}" for i, line in enumerate(pem_lines))
    der64 = base64.b64encode(_der(EC)).decode()
    text = (
        "2026-12-01T12:59:59.000Z sds: updating server_cert version 42\n"
        + stamped
        + f"\n2026-12-01T13:00:10.000Z loaded key {der64} ok\n"
        "2026-12-01T13:00:11.000Z sds: done\n"
    )
    result = redact_text(text)
    assert leaks(result.value, RSA) == [] and leaks(result.value, EC) == []
    assert "updating server_cert version 42" in result.value and "sds: done" in result.value
    assert result.count == 2


def _secret() -> tuple[dict[str, Any], Any, list[str]]:
    ca = make_ca()
    leaf = make_leaf(ca)
    data = {"ca.crt": ca.pem.encode(), "tls.crt": leaf.pem.encode(), "tls.key": _pem(leaf.key)}
    encoded = {name: base64.b64encode(value).decode() for name, value in data.items()}
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {
            "name": "gloo-mtls-certs",
            "namespace": "gloo-system",
            "resourceVersion": "1234",
            "uid": "u-1",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": encoded})
            },
            "managedFields": [{"manager": "certgen"}],
        },
        "data": encoded,
    }
    return obj, leaf, list(encoded.values())


def test_a_secret_is_metadata_keys_and_public_certificates_only() -> None:
    obj, leaf, values = _secret()
    before = copy.deepcopy(obj)
    meta = secret_metadata(obj, NOW)
    assert obj == before
    text = json.dumps(meta)
    assert [v for v in values if v[:40] in text] == [] and leaks(meta, leaf.key) == []
    assert [k["key"] for k in meta["keys"]] == ["ca.crt", "tls.crt", "tls.key"]
    assert all(k["bytes"] > 0 for k in meta["keys"])
    assert meta["metadata"]["resourceVersion"] == "1234" and meta["metadata"]["name"] == "gloo-mtls-certs"
    assert meta["certificates"]["tls.crt"][0]["serial"] == envoy_serial(leaf.cert.serial_number)
    assert "data" not in meta and "managedFields" not in meta["metadata"]


def test_a_secrets_metadata_says_who_made_it_without_its_field_sets() -> None:
    """A kube-gateway's copy is rendered by gloo's Gateway deployer: owner and writer are kept (who made
    the copy), the managed field sets are not (they name every key, and a bundle needs none of them)."""
    obj, leaf, _ = _secret()
    obj["metadata"]["ownerReferences"] = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": "http", "uid": "u-1",
         "controller": True}
    ]  # fmt: skip
    obj["metadata"]["managedFields"] = [
        {"manager": "solo.io/gloo-gateway", "operation": "Apply", "time": "2026-11-25T20:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:tls.key": {}}}}
    ]  # fmt: skip
    meta = secret_metadata(obj, NOW)["metadata"]
    assert meta["ownerReferences"] == [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "name": "http", "controller": True}
    ]
    assert meta["managers"] == [
        {"manager": "solo.io/gloo-gateway", "operation": "Apply", "time": "2026-11-25T20:00:00Z"}
    ]
    assert "managedFields" not in meta and "fieldsV1" not in json.dumps(meta)
    assert leaks(meta, leaf.key) == []


def test_kubernetes_objects_lose_secret_values_and_secrets_in_lists_become_metadata() -> None:
    secret, leaf, values = _secret()
    listed = {k: v for k, v in secret.items() if k not in ("kind", "apiVersion")}  # items carry no kind
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "gloo-1",
            "managedFields": [{"manager": "kubectl"}],
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": '{"env": "DB_PASSWORD=s3cret"}',
                "team": "edge",
            },
        },
        "spec": {
            "containers": [
                {
                    "name": "gloo",
                    "env": [
                        {"name": "DB_PASSWORD", "value": "s3cret"},
                        {"name": "API_TOKEN", "value": "t0ken"},
                        {"name": "POD_NAMESPACE", "value": "gloo-system"},
                        {
                            "name": "TLS",
                            "valueFrom": {"secretKeyRef": {"name": "gloo-mtls-certs", "key": "tls.key"}},
                        },
                    ],
                    "args": ["--key", _pem(RSA).decode()],
                }
            ]
        },
    }
    result = redact_object({"kind": "List", "items": [pod, listed, secret]}, NOW)
    text = json.dumps(result.value)
    assert "s3cret" not in text and "t0ken" not in text and leaks(result.value, RSA) == []
    assert [v for v in values if v[:40] in text] == [] and leaks(result.value, leaf.key) == []
    assert "gloo-system" in text and "secretKeyRef" in text and '"team": "edge"' in text
    assert "managedFields" not in text
    items = result.value["items"]
    assert items[1]["kind"] == "Secret" and items[2]["keys"][2]["key"] == "tls.key"
