"""The webhook configuration and Job lists are remote JSON: any shape decodes to a state (never an
exception), and a real-shaped configuration gives each webhook's caBundle, policy and service."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st

from gloomon.sources.kube.webhook import webhook_entries, webhook_jobs
from tests.domain.certs import make_ca

KEYS = [
    "metadata", "name", "webhooks", "clientConfig", "service", "namespace", "path", "port", "caBundle",
    "failurePolicy", "items", "labels", "gloo", "ownerReferences", "status", "startTime", "conditions",
    "active", "succeeded", "completionTime", "type",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_configuration_json_decodes_without_raising(obj: object) -> None:
    config = webhook_entries(obj)
    for entry in config.webhooks:
        assert entry.ca_bundle.cas == () or entry.ca_bundle_error is None


def test_a_configuration_as_gloos_chart_renders_it() -> None:
    ca = make_ca()
    hook = {
        "name": "gloo.gloo-system.svc",
        "clientConfig": {
            "service": {"name": "gloo", "namespace": "gloo-system", "path": "/validation", "port": 443},
            "caBundle": base64.b64encode(ca.pem.encode()).decode(),
        },
        "failurePolicy": "Fail",
    }
    empty = {**hook, "name": "kube.gloo-system.svc", "clientConfig": {**hook["clientConfig"], "caBundle": ""}}
    bad = {**hook, "name": "x.svc", "clientConfig": {"caBundle": "not base64!"}}
    obj = {
        "metadata": {"name": "gloo-gateway-validation-webhook-gloo-system"},
        "webhooks": [hook, empty, bad],
    }
    config = webhook_entries(obj)
    first, second, third = config.webhooks
    assert config.name == "gloo-gateway-validation-webhook-gloo-system"
    assert first.service_host == "gloo.gloo-system.svc" and first.fails_closed and first.port == 443
    assert [c.serial for c in first.ca_bundle.cas] == [ca.info.serial]
    assert second.ca_bundle.cas == () and second.ca_bundle_error is None
    assert third.ca_bundle_error == "is not base64" and third.service_host is None


def test_only_the_webhooks_certgen_jobs_are_kept() -> None:
    jobs = {
        "items": [
            {"metadata": {"name": "gateway-certgen", "labels": {"gloo": "gateway-certgen"}}, "status": {}},
            {"metadata": {"name": "x-1", "ownerReferences": [{"name": "gateway-certgen-cronjob"}]}},
            {"metadata": {"name": "gloo-mtls-certgen", "labels": {"gloo": "gloo-mtls-certgen"}}},
            "not a job",
        ]
    }
    assert [job.name for job in webhook_jobs(jobs)] == ["gateway-certgen", "x-1"]


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_job_list_json_decodes_without_raising(obj: object) -> None:
    jobs = webhook_jobs({"items": [obj, {"metadata": {"name": "gateway-certgen"}, "status": obj}]})
    assert "gateway-certgen" in [job.name for job in jobs]
