"""The webhook source against the lab's real API and real TLS: the certificate gloo serves, read by a
handshake through a port-forward, is the secret's tls.crt; the private key never reaches the state; a
403 on the cluster-scoped configuration is one state and the rest is still read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509 as crypto_x509
from cryptography.hazmat.primitives import serialization

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession

pytestmark = pytest.mark.lab


def _der(pem: bytes) -> bytes:
    return crypto_x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


async def test_the_served_certificate_over_the_port_forward_is_the_secrets_tls_crt(
    healthy_lab: Lab, lab_settings: Callable[..., Settings], key_leaks: Callable[..., list[str]]
) -> None:
    async with MonitorSession(lab_settings(healthy_lab)) as session:
        snapshot = await session.poll_once()
    webhook = snapshot.webhook
    assert webhook is not None and webhook.served_error is None
    secret = healthy_lab.store.webhook_secret
    assert secret is not None
    assert webhook.served is not None and webhook.served.der == _der(secret.data.tls_crt)
    assert webhook.secret_leaf is not None and webhook.secret_leaf.der == webhook.served.der
    assert webhook.served_pod == healthy_lab.pods(Component.GLOO)[0]
    assert key_leaks(snapshot, keys=(secret.data.tls_key,)) == []
    config = healthy_lab.store.cluster.webhook_config
    assert config is not None and webhook.config is not None
    assert [ca.der for ca in webhook.config.webhooks[0].ca_bundle.cas] == [_der(config.ca_bundle)]


async def test_a_forbidden_webhook_configuration_is_said_once_and_the_rest_read(
    make_lab: Callable[..., Lab], lab_settings: Callable[..., Settings]
) -> None:
    async with make_lab("cabundle-stale") as lab:
        lab.forbid_webhooks()
        async with MonitorSession(lab_settings(lab)) as session:
            first = await session.poll_once()
            second = await session.poll_once()
    for snapshot in (first, second):
        found = [f.code for f in snapshot.findings if f.code.startswith(("webhook-", "cabundle-"))]
        assert found.count("webhook-config-forbidden") == 1
        assert "cabundle-untrusted" not in found  # the caBundle was not read, so not judged
        webhook = snapshot.webhook
        assert webhook is not None and webhook.config_forbidden and webhook.served is not None
        assert not snapshot.errors


async def test_a_renewed_secret_is_served_once_gloo_restarts(
    make_lab: Callable[..., Lab], lab_settings: Callable[..., Settings], eventually: Callable[..., Any]
) -> None:
    """certgen renews the webhook secret (helm upgrade): gloo keeps serving the old certificate, a finding
    says to restart it; after the restart the new gloo pod serves the secret's, read at once."""
    async with make_lab("healthy") as lab, MonitorSession(lab_settings(lab)) as session:
        before = (await session.poll_once()).webhook
        assert before is not None and before.served is not None
        await lab.renew_webhook()
        renewed = await session.poll_once()
        assert renewed.webhook is not None and renewed.webhook.served == before.served
        codes = {f.code for f in renewed.findings}
        assert "webhook-served-stale" in codes
        await lab.restart_pod(lab.pods(Component.GLOO)[0])
        secret = lab.store.webhook_secret
        assert secret is not None
        after = await eventually(
            session.poll_once,
            lambda s: s.webhook is not None and s.webhook.served_pod in lab.pods(Component.GLOO),
            timeout=30,
            what="a poll that reads the new gloo pod's 8443",
        )
        assert after.webhook.served is not None and after.webhook.served.der == _der(secret.data.tls_crt)
        assert "webhook-served-stale" not in {f.code for f in after.findings}
