"""Kubernetes JSON → models: the secret (its key dropped), pods, the certgen CronJob and its jobs. No lab."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from gloomon.domain.model import Component
from gloomon.sources.kube import objects as kube_objects
from tests.domain.certs import make_ca


def _pem_pair() -> tuple[bytes, bytes]:
    """A certificate and its private key, as PEM (the secret's ``tls.crt`` and ``tls.key``)."""
    made = make_ca(kind="ecdsa", serial=4242)  # Envoy spells serial 4242 "1092"
    return made.pem.encode(), made.key_pem().encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_secret_state_keeps_certificates_and_drops_the_key() -> None:
    cert_pem, key_pem = _pem_pair()
    obj = {
        "metadata": {"name": "gloo-mtls-certs", "resourceVersion": "77"},
        "data": {"ca.crt": _b64(cert_pem), "tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem)},
    }
    state = kube_objects.secret_state(obj, context="c", namespace="gloo-system", read_at=datetime.now(UTC))
    assert "tls.key" not in obj["data"]
    assert state.bundle is not None and len(state.bundle) == 1
    assert state.leaf is not None and state.leaf.serial == "1092"
    assert state.resource_version == "77" and state.error is None
    assert "PRIVATE KEY" not in repr(state) and _b64(key_pem)[:40] not in repr(state)


def test_secret_state_reports_undecodable_entries() -> None:
    obj = {"metadata": {}, "data": {"ca.crt": "!!!", "tls.key": "x"}}
    state = kube_objects.secret_state(obj, context="c", namespace="n", read_at=datetime.now(UTC))
    assert state.bundle is None and state.leaf is None
    assert state.error == (
        "unreadable ca.crt: not base64; tls.crt missing (every pod's sds exits: could not find file)"
    )


def test_secret_state_tells_an_absent_key_from_an_empty_one() -> None:
    """An absent key is a file missing from every pod's volume (sds exits); an empty one is not."""
    obj = {"metadata": {}, "data": {"ca.crt": "", "tls.key": "x"}}
    state = kube_objects.secret_state(obj, context="c", namespace="n", read_at=datetime.now(UTC))
    assert state.error == "ca.crt is empty; tls.crt missing (every pod's sds exits: could not find file)"


def test_secret_state_names_the_absent_keys() -> None:
    """The keys absent from the data (not empty, not undecodable) are a field of the state: what the
    judge reads to tell a secret made with kubectl create secret tls, which has no ca.crt."""
    cert_pem, key_pem = _pem_pair()
    by_hand = {"metadata": {}, "data": {"tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem)}}
    state = kube_objects.secret_state(by_hand, context="c", namespace="n", read_at=datetime.now(UTC))
    assert state.absent_keys == ("ca.crt",)
    garbled = {"metadata": {}, "data": {"ca.crt": "!!!", "tls.crt": ""}}
    present = kube_objects.drop_private_key(garbled)  # as the client reads it: the key dropped first
    state = kube_objects.secret_state(
        garbled, context="c", namespace="n", read_at=datetime.now(UTC), key_present=present
    )
    assert state.absent_keys == ("tls.key",)
    whole = {"metadata": {}, "data": {"ca.crt": _b64(cert_pem), "tls.crt": _b64(cert_pem), "tls.key": "x"}}
    state = kube_objects.secret_state(whole, context="c", namespace="n", read_at=datetime.now(UTC))
    assert state.absent_keys == ()


def test_pod_info_from_api_json() -> None:
    obj = {
        "metadata": {"name": "gateway-proxy-1", "namespace": "gloo-system", "deletionTimestamp": None},
        "spec": {"containers": [{"name": "gateway-proxy"}, {"name": "sds"}]},
        "status": {
            "phase": "Running",
            "startTime": "2026-11-25T20:52:32Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"restartCount": 2}, {"restartCount": 1}],
        },
    }
    pod = kube_objects.pod_info(obj, Component.GATEWAY_PROXY)
    assert pod.ready and pod.restarts == 3 and not pod.deleting
    assert pod.containers == ("gateway-proxy", "sds")
    assert pod.started_at == datetime(2026, 11, 25, 20, 52, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--secret-name=gloo-mtls-certs", "--rotation-duration=65s", "--force-rotation=true"], (65.0, True)),
        (["--rotation-duration", "2m"], (120.0, False)),
        (["--force-rotation=false"], (None, False)),
        (["--force-rotation"], (None, True)),
    ],
)
def test_certgen_flags(args: list[str], expected: tuple[float | None, bool]) -> None:
    assert kube_objects.certgen_flags(args) == expected


def test_cronjob_state_with_jobs() -> None:
    cron = {
        "metadata": {"name": "gloo-mtls-certgen-cronjob"},
        "spec": {
            "schedule": "*/5 * * * *",
            "suspend": False,
            "jobTemplate": {
                "spec": {"template": {"spec": {"containers": [{"args": ["--rotation-duration=65s"]}]}}}
            },
        },
        "status": {"lastScheduleTime": "2026-11-25T20:50:00Z"},
    }
    jobs_list = {
        "items": [
            {
                "metadata": {
                    "name": "gloo-mtls-certgen-cronjob-29000",
                    "labels": {"gloo": "gloo-mtls-certs"},
                },
                "status": {"active": 1, "startTime": "2026-11-25T20:50:01Z"},
            },
            {"metadata": {"name": "unrelated"}, "status": {"succeeded": 1}},
        ]
    }
    state = kube_objects.cronjob_state(cron, kube_objects.certgen_jobs(jobs_list), fallback_args=[])
    assert state.schedule == "*/5 * * * *" and not state.suspended and not state.missing
    assert state.rotation_duration_seconds == 65.0 and state.force_rotation is False
    assert [job.name for job in state.active_jobs] == ["gloo-mtls-certgen-cronjob-29000"]
    assert state.last_schedule_time == datetime(2026, 11, 25, 20, 50, tzinfo=UTC)


def test_missing_cronjob_still_lists_hook_jobs() -> None:
    jobs = kube_objects.certgen_jobs({"items": [{"metadata": {"name": "gloo-mtls-certgen"}, "status": {}}]})
    state = kube_objects.cronjob_state(None, jobs, fallback_args=["--force-rotation=true"])
    assert state.missing and state.force_rotation and [j.name for j in state.jobs] == ["gloo-mtls-certgen"]


def test_secret_updated_at_is_the_latest_managed_fields_time() -> None:
    cert_pem, _ = _pem_pair()
    obj = {
        "metadata": {
            "name": "gloo-mtls-certs",
            "creationTimestamp": "2026-11-01T08:00:00Z",
            "managedFields": [
                {"manager": "helm", "operation": "Update", "time": "2026-11-20T10:00:00Z"},
                {"manager": "certgen", "operation": "Update", "time": "2026-11-25T20:52:32Z"},
                {"manager": "kubectl", "operation": "Update", "time": "not a time"},
                {"manager": "no-time", "operation": "Apply"},
            ],
        },
        "data": {"ca.crt": _b64(cert_pem), "tls.crt": _b64(cert_pem)},
    }
    state = kube_objects.secret_state(obj, context="c", namespace="n", read_at=datetime.now(UTC))
    assert state.updated_at == datetime(2026, 11, 25, 20, 52, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"creationTimestamp": "2026-11-01T08:00:00Z"}, datetime(2026, 11, 1, 8, tzinfo=UTC)),
        (
            {"creationTimestamp": "2026-11-01T08:00:00Z", "managedFields": [{"time": "garbage"}]},
            datetime(2026, 11, 1, 8, tzinfo=UTC),
        ),
        ({"managedFields": "not a list"}, None),
        ({}, None),
    ],
)
def test_secret_updated_at_falls_back_to_creation(
    metadata: dict[str, object], expected: datetime | None
) -> None:
    assert kube_objects.secret_updated_at({"metadata": metadata}) == expected


def test_one_pod_list_is_split_by_component_and_certgen() -> None:
    def pod(name: str, gloo: str) -> dict[str, object]:
        return {"metadata": {"name": name, "labels": {"gloo": gloo}}, "status": {"phase": "Running"}}

    listed = {
        "items": [
            pod("gateway-proxy-b", "gateway-proxy"),
            pod("gloo-1", "gloo"),
            pod("gateway-proxy-a", "gateway-proxy"),
            pod("gloo-mtls-certgen-x", "gloo-mtls-certs"),
            pod("stranger", "something-else"),
        ]
    }
    by_component, certgen = kube_objects.split_pods(listed)
    assert [p.name for p in by_component[Component.GATEWAY_PROXY]] == ["gateway-proxy-a", "gateway-proxy-b"]
    assert [p.name for p in by_component[Component.GLOO]] == ["gloo-1"]
    assert by_component[Component.EXTAUTH] == [] and set(by_component) == set(Component)
    assert [(p.name, p.component) for p in certgen] == [("gloo-mtls-certgen-x", None)]
    assert kube_objects.POD_SELECTORS == ("gloo", "gateway.networking.k8s.io/gateway-name")
