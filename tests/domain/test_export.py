"""The ``check -o json`` document, schema 1: fields, ISO-8601 UTC times, no key material."""

from __future__ import annotations

import json
from dataclasses import replace

from gloomon.domain.export import snapshot_to_dict, status_of
from gloomon.domain.model import FleetSnapshot
from tests.domain.certs import NOW, make_ca, rotation
from tests.domain.fleet_helpers import CRON, fetch, secret, snap

CERT_KEYS = {"serial", "subject", "sans", "not_before", "not_after", "seconds_left", "sha256", "notes"}
TARGET_KEYS = {
    "context",
    "component",
    "pod",
    "namespace",
    "proxy",
    "envoy_container",
    "containers",
    "admin_url",
    "reachable",
    "envoy_version",
    "leaf",
    "bundle",
    "leaf_signed_by",
    "phase",
    "in_sync_with_secret",
    "lag_seconds",
    "secret_namespace",
    "copy_behind_seconds",
    "last_pickup_seconds",
    "sds_version",
    "xds",
    "tls_errors",
    "stale_since",
}


def test_schema_1() -> None:
    rot = rotation()
    leaf, cas = rot.leaf_new.info, [rot.ca_new.info]
    result = snap(
        [fetch("gloo-1", leaf, cas), fetch("gateway-proxy-1", None, [], error="refused")], [secret(leaf, cas)]
    )
    doc = snapshot_to_dict(result)
    assert json.loads(json.dumps(doc)) == doc
    assert set(doc) == {
        "schema",
        "status",
        "generated_at",
        "namespace",
        "contexts",
        "planes",
        "secret",
        "secrets",
        "cronjob",
        "cronjobs",
        "gloo_version",
        "webhook",
        "targets",
        "not_installed",
        "findings",
    }
    assert doc["webhook"] is None  # no webhook read (a fleet built without one)
    # every (context, namespace)'s secret (the control plane's is also "secret"), each naming both
    secret_ns = "gloo-system"
    assert doc["secrets"] == [
        {"context": "lab", "namespace": secret_ns, "copied_by": None, "syncs_by": None, **doc["secret"]}
    ]
    assert (doc["schema"], doc["status"], doc["namespace"], doc["contexts"]) == (
        1,
        "critical",  # the only gateway-proxy is unreachable: component-unreachable
        "gloo-system",
        ["lab"],
    )
    assert doc["generated_at"] == "2026-11-25T12:00:00Z"
    assert set(doc["secret"]) == {"phase", "bundle", "leaf"} and doc["secret"]["phase"] == "steady"
    assert set(doc["secret"]["leaf"]) == CERT_KEYS and doc["secret"]["leaf"]["not_after"].endswith("Z")
    assert (
        doc["cronjob"]["schedule"] == CRON.schedule and doc["cronjob"]["next_run"] == "2026-12-01T00:00:00Z"
    )
    assert doc["cronjobs"] == [doc["cronjob"]]  # one context: its CronJob is the only one
    gloo, proxy = doc["targets"]
    assert set(gloo) == TARGET_KEYS
    assert (gloo["component"], gloo["phase"], gloo["leaf_signed_by"], gloo["in_sync_with_secret"]) == (
        "gloo",
        "steady",
        0,
        True,
    )
    assert set(gloo["xds"]) == {"cluster", "healthy", "cx_connect_fail", "state", "connected", "down_since"}
    assert gloo["leaf"]["seconds_left"] == (leaf.not_after - NOW).total_seconds()
    assert (proxy["reachable"], proxy["leaf"], proxy["bundle"], proxy["phase"]) == (
        False,
        None,
        [],
        "unknown",
    )
    assert doc["findings"][0]["code"] == "component-unreachable"
    assert doc["findings"][1] == {
        "severity": "warning",
        "code": "admin-unreachable",
        "context": "lab",
        "namespace": None,
        "component": "gateway-proxy",
        "pod": "gateway-proxy-1",
        "message": "Envoy admin API unreachable: refused",
        "hint": doc["findings"][1]["hint"],
        "subjects": {"pods": [], "serials": []},
    }


def test_status_values_and_nulls() -> None:
    empty = FleetSnapshot(taken_at=NOW, namespace="ns", contexts=())
    assert status_of(empty) == "ok"
    assert snapshot_to_dict(empty)["secret"] is None and snapshot_to_dict(empty)["cronjob"] is None
    assert status_of(replace(empty, errors=("API unreachable",))) == "error"
    rot = rotation()
    bad = snap([fetch("gloo-1", rot.leaf_new.info, [make_ca(kind="ecdsa").info])], [])
    assert status_of(bad) == "critical"


def test_no_key_material() -> None:
    rot = rotation()
    result = snap(
        [fetch("gloo-1", rot.leaf_new.info, [rot.ca_new.info])],
        [secret(rot.leaf_new.info, [rot.ca_new.info])],
    )
    text = json.dumps(snapshot_to_dict(result))
    for secret_line in rot.leaf_new.key_pem().splitlines()[1:3]:
        assert secret_line not in text
    assert "PRIVATE" not in text and "BEGIN" not in text
    assert rot.leaf_new.pem.splitlines()[1] not in text  # not even the public PEM


def test_direct_targets_get_curl_hints_not_kubectl() -> None:
    """A --target URL has no pod to port-forward to: hints curl the URL the user gave."""
    from dataclasses import replace

    from gloomon.domain.model import ForwardState, ForwardStatus

    dead = fetch("gateway-proxy-1", None, [], error="connection refused")
    direct_ref = replace(
        dead.target, admin_url="http://127.0.0.1:19000", forward=ForwardState(ForwardStatus.DIRECT)
    )
    result = snap([replace(dead, target=direct_ref)])
    unreachable = next(f for f in result.findings if f.code == "admin-unreachable")
    assert unreachable.hint.startswith("curl http://127.0.0.1:19000/ready")
    assert "kubectl" not in unreachable.hint
