"""``webhook-sans-missing`` names a service the certificate is really not valid for, matched as the API
server's TLS client (Go's crypto/x509) matches: DNS names case-insensitively, and a wildcard SAN
``*.gloo-system.svc`` covering exactly one leftmost label. A certificate that is valid is no finding."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gloomon.domain import fleet
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import WebhookConfig, WebhookEntry, WebhookState
from tests.domain.certs import NOW, bundle, make_ca, make_leaf

NS = "gloo-system"
CA = make_ca()
LEAF = make_leaf(CA)


def _codes(sans: tuple[str, ...]) -> list[str]:
    served = replace(LEAF.info, sans=sans)
    entry = WebhookEntry(f"gloo.{NS}.svc", bundle(CA), "Fail", "gloo", NS, "/validation", 443)
    webhook = WebhookState(
        "c1",
        NS,
        NOW,
        secret_bundle=bundle(CA),
        secret_leaf=served,
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", (entry,)),
        served=served,
    )
    snapshot = fleet.build_snapshot(
        taken_at=NOW,
        namespace=NS,
        contexts=("c1",),
        fetches=[],
        secrets=[],
        cronjob=None,
        policy=HealthPolicy(),
        webhooks=[webhook],
    )
    return [finding.code for finding in snapshot.findings]


@pytest.mark.parametrize(
    "sans",
    [("DNS:gloo.gloo-system.svc",), ("DNS:*.gloo-system.svc",), ("DNS:Gloo.Gloo-System.SVC",)],
    ids=["exact", "wildcard", "other-case"],
)
def test_a_certificate_valid_for_the_service_is_no_finding(sans: tuple[str, ...]) -> None:
    assert "webhook-sans-missing" not in _codes(sans)


@pytest.mark.parametrize(
    "sans",
    [("DNS:gloo.gateway.svc",), ("DNS:*.svc",), ("DNS:*.gloo.gloo-system.svc",), ("DNS:g*.gloo-system.svc",)],
    ids=["other-service", "wildcard-two-labels", "wildcard-deeper", "partial-wildcard"],
)
def test_a_certificate_not_valid_for_the_service_is_found(sans: tuple[str, ...]) -> None:
    assert "webhook-sans-missing" in _codes(sans)
