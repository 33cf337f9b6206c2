"""`gloomon check --demo --scenario X -o json` for the validation webhook: each broken scenario gives its
finding and a `webhook` object; the healthy scenarios give none of the webhook's findings."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_check import assert_no_key_material, codes, gloomon_check

pytestmark = pytest.mark.lab

WEBHOOK_CODES = ("webhook-", "cabundle-")


async def demo_check(scenario: str) -> tuple[int, dict]:
    rc, out, err = await gloomon_check("--demo", "--scenario", scenario, "-o", "json", timeout=180)
    assert rc in (0, 1, 2), err
    assert_no_key_material(out)
    return rc, json.loads(out)


@pytest.mark.parametrize(
    ("scenario", "code", "severity", "rc"),
    [
        ("webhook-expired", "webhook-cert-expired", "critical", 2),
        ("cabundle-stale", "cabundle-untrusted", "critical", 2),
        ("cabundle-stale", "cabundle-stale", "warning", 2),
        ("webhook-wrong-sans", "webhook-sans-missing", "warning", 1),
        ("certgen-every-sync", "webhook-certgen-every-sync", "warning", 1),
    ],
)
async def test_each_webhook_scenario_gives_its_finding(
    scenario: str, code: str, severity: str, rc: int
) -> None:
    status, report = await demo_check(scenario)
    assert status == rc
    found = [f for f in report["findings"] if f["code"] == code]
    assert found, codes(report)
    assert {f["severity"] for f in found} >= {severity}
    assert all(f["hint"] for f in found)
    webhook = report["webhook"]
    assert webhook["secret"]["name"] == "gateway-validation-certs"
    assert webhook["served"]["cert"] is not None
    assert webhook["configuration"]["name"] == "gloo-gateway-validation-webhook-gloo-system"


@pytest.mark.parametrize("scenario", ["healthy", "rotating"])
async def test_healthy_scenarios_give_no_webhook_finding(scenario: str) -> None:
    _, report = await demo_check(scenario)
    assert not {c for c in codes(report) if c.startswith(WEBHOOK_CODES)}
    webhook = report["webhook"]
    served, secret = webhook["served"]["cert"], webhook["secret"]["leaf"]
    assert served is not None and served["serial"] == secret["serial"]
    assert "DNS:gloo.gloo-system.svc" in served["sans"]
    (gloo, kube) = webhook["configuration"]["webhooks"]
    assert gloo["name"] == "gloo.gloo-system.svc" and gloo["service"] == "gloo.gloo-system.svc"
    assert gloo["ca_bundle"] == webhook["secret"]["bundle"] == kube["ca_bundle"]
    assert gloo["failure_policy"] == "Ignore"  # Helm's gateway.validation.failurePolicy default


async def test_the_table_report_shows_the_webhook_rows() -> None:
    rc, out, err = await gloomon_check("--demo", "--scenario", "cabundle-stale", timeout=180)
    assert rc == 2, err
    assert "Validation webhook" in out
    assert "caBundle gloo: does not verify the served certificate; failurePolicy Fail" in out
    assert "served: by gloo-" in out and "the secret's" in out
    assert_no_key_material(out)
