"""certgen's decision logic, the secret's metadata and key hygiene, without Envoy (fast, in-process)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.api import objects
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import ClusterStore, NamespaceStore
from gloomon.lab.pods.certgen_job import CertgenConfig, CertgenRunner

NS = "gloo-system"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_no_repr_shows_the_private_key(key_leaks: Callable[..., list[str]]) -> None:
    made = certgen.generate(NS)
    assert b"PRIVATE KEY" in made.key_pem and b"PRIVATE KEY" in made.secret().tls_key
    store = ClusterStore().add_namespace(NS)
    store.write_secret(made.secret())
    server = certgen.tls_server_pair()
    for obj in (made, made.secret(), server, store.secret):
        assert "PRIVATE KEY" not in repr(obj) and "PRIVATE KEY" not in str(obj), type(obj).__name__
    assert key_leaks({"store": store, "made": made, "server": server}, held=True) == []


def test_secret_metadata_tracks_creation_and_last_write() -> None:
    store = ClusterStore().add_namespace(NS)
    first = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    second = first + timedelta(hours=5, seconds=7)
    store.write_secret(certgen.generate(NS).secret(), at=first)
    secret = store.write_secret(certgen.generate(NS).secret(), at=second)
    meta = objects.secret_json(store, secret)["metadata"]
    assert meta["name"] == SECRET_NAME
    assert meta["creationTimestamp"] == "2026-01-02T03:04:05Z"
    assert [f["time"] for f in meta["managedFields"]] == ["2026-01-02T08:04:12Z"]
    assert (
        RFC3339.match(meta["managedFields"][0]["time"]) and meta["managedFields"][0]["manager"] == "certgen"
    )


async def _run(store: NamespaceStore) -> list[str]:
    runner = CertgenRunner(store, CertgenConfig(force_rotation=False, ttl_after_finished=60.0))
    try:
        before = set(store.jobs)
        await runner.run_now()
        (job,) = (j for name, j in store.jobs.items() if name not in before)
        pod = store.pods[job.pod_name]
        return [json.loads(line.text)["msg"] for line in pod.containers[0].log.snapshot()[0]]
    finally:
        await runner.stop()


def _leaf(secret: SecretData) -> str:
    from cryptography import x509

    return f"{x509.load_pem_x509_certificate(secret.tls_crt).serial_number:x}"


async def test_certgen_creates_a_missing_secret() -> None:
    store = ClusterStore().add_namespace(NS)
    msgs = await _run(store)
    assert msgs[2:5] == [
        "failed to retrieve existing secret",
        "no existing valid secret, generating a new one...",
        "creating TLS secret",
    ]
    assert "existing TLS secret found, attempting to update" not in msgs
    assert store.secret is not None and store.secret.created == store.secret.updated


async def test_certgen_replaces_a_secret_for_another_service_in_one_update() -> None:
    store = ClusterStore().add_namespace(NS)
    created = datetime.now(UTC) - timedelta(days=3)
    store.write_secret(certgen.generate(NS, svc="not-gloo").secret(), at=created)
    before, rv = _leaf(store.secret.data), store.secret.resource_version  # type: ignore[union-attr]
    msgs = await _run(store)
    assert msgs[2:8] == [
        "found 1 certs",
        "cert is not valid for given service",
        "no existing valid secret, generating a new one...",
        "creating TLS secret",
        "existing TLS secret found, attempting to update",
        "no ValidatingWebhookConfiguration provided. finished successfully.",
    ]
    secret = store.secret
    assert secret is not None and _leaf(secret.data) != before and secret.resource_version > rv
    assert secret.created == created and secret.updated > created + timedelta(days=2)


async def test_certgen_overwrites_an_expired_secret_and_keeps_a_valid_one() -> None:
    store = ClusterStore().add_namespace(NS)
    store.write_secret(certgen.generate(NS, now=datetime.now(UTC) - timedelta(days=400)).secret())
    msgs = await _run(store)
    assert "cert is expired or not yet valid" in msgs and "creating TLS secret" in msgs
    written = store.secret.updated  # type: ignore[union-attr]
    msgs = await _run(store)
    assert msgs[3:5] == [
        "existing cert is valid!",
        "existing TLS secret found, skipping update to TLS secret since the old TLS secret is still valid",
    ]
    assert store.secret.updated == written  # type: ignore[union-attr]
