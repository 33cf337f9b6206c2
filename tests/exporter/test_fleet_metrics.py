"""The exporter's metric families, from snapshots the domain built (``build_snapshot``), read back through
prometheus_client's own parser of the text exposition."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, PodInfo, SecretState, TrustBundle
from gloomon.domain.model.webhook import WebhookConfig, WebhookEntry, WebhookState
from gloomon.exporter.exposition import Rendered
from gloomon.exporter.labels import common_name
from gloomon.exporter.metrics import FleetMetrics
from gloomon.lab.snapshots import namespaces as namespace_copies
from gloomon.lab.snapshots import states
from gloomon.lab.snapshots.contexts import two_clusters
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import CTX, NS, fetch, secret, snap

Sample = tuple[str, dict[str, str], float]


def samples(*snapshots: FleetSnapshot) -> list[Sample]:
    """Every sample of the exposition after the exporter took ``snapshots`` in order."""
    metrics = FleetMetrics()
    for snapshot in snapshots:
        metrics.update(snapshot)
    text = Rendered.of(metrics).text.decode()
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def named(rows: list[Sample], name: str) -> list[tuple[dict[str, str], float]]:
    return [(labels, value) for sample, labels, value in rows if sample == name]


def steady_fleet(*pods: str, tls_errors: int = 0) -> FleetSnapshot:
    r = rotation()
    fetches = [fetch(pod, r.leaf_old.info, [r.ca_old.info], tls_errors=tls_errors) for pod in pods]
    return snap(fetches, [secret(r.leaf_old.info, [r.ca_old.info])])


def test_secret_certificates_carry_x509_certificate_exporter_labels_and_decimal_serials() -> None:
    r = rotation()
    rows = samples(snap([], [secret(r.leaf_new.info, [r.ca_old.info, r.ca_new.info])]))
    not_after = named(rows, "x509_cert_not_after")
    expected_labels = {
        "cluster",
        "serial_number",
        "subject_CN",
        "issuer_CN",
        "secret_namespace",
        "secret_name",
        "secret_key",
    }
    assert all(set(labels) == expected_labels for labels, _ in not_after)
    by_key = {(labels["secret_key"], labels["serial_number"]): labels for labels, _ in not_after}
    leaf = r.leaf_new.cert
    assert set(by_key) == {
        ("tls.crt", str(leaf.serial_number)),
        ("ca.crt", str(r.ca_old.cert.serial_number)),
        ("ca.crt", str(r.ca_new.cert.serial_number)),
    }
    leaf_labels = by_key[("tls.crt", str(leaf.serial_number))]
    assert leaf_labels["subject_CN"] == "gloo.gloo-system.svc"
    assert leaf_labels["issuer_CN"] == "supergloo-webhook-cert-ca"
    assert leaf_labels["secret_name"] == "gloo-mtls-certs"
    assert leaf_labels["secret_namespace"] == "gloo-system"
    values = {labels["serial_number"]: value for labels, value in not_after}
    assert values[str(leaf.serial_number)] == leaf.not_valid_after_utc.timestamp()
    expired = {labels["serial_number"]: value for labels, value in named(rows, "x509_cert_expired")}
    assert set(expired.values()) == {0.0}


def test_the_webhook_secret_and_what_gloo_serves_and_the_api_server_trusts_are_exported() -> None:
    r = rotation()
    webhook = WebhookState(
        CTX,
        NS,
        NOW,
        secret_bundle=TrustBundle((r.ca_new.info,)),
        secret_leaf=r.leaf_new.info,
        config=WebhookConfig(
            "gloo-gateway-validation-webhook-gloo-system",
            (WebhookEntry("gloo.gloo-system.svc", TrustBundle((r.ca_old.info,)), "Ignore", "gloo", NS),),
        ),
        served=r.leaf_old.info,
        served_pod="gloo-1",
    )
    snapshot = build_snapshot(
        taken_at=NOW,
        namespace=NS,
        contexts=[CTX],
        fetches=[],
        secrets=[secret(r.leaf_old.info, [r.ca_old.info])],
        cronjob=None,
        policy=HealthPolicy(),
        webhooks=[webhook],
    )
    rows = samples(snapshot)
    x509 = {
        (labels["secret_name"], labels["secret_key"], labels["serial_number"])
        for labels, _ in named(rows, "x509_cert_not_after")
    }
    assert ("gateway-validation-certs", "tls.crt", str(r.leaf_new.cert.serial_number)) in x509
    assert ("gateway-validation-certs", "ca.crt", str(r.ca_new.cert.serial_number)) in x509
    held = {
        (labels["pod"], labels["role"], labels["serial"])
        for labels, _ in named(rows, "gloomon_cert_not_after_timestamp_seconds")
        if labels["source"] == "webhook"
    }
    assert held == {("gloo-1", "leaf", r.leaf_old.info.serial), ("", "ca", r.ca_old.info.serial)}


def test_an_expired_secret_certificate_is_x509_cert_expired() -> None:
    rows = samples(states.expired())
    expired = {labels["secret_key"]: value for labels, value in named(rows, "x509_cert_expired")}
    assert expired["tls.crt"] == 1.0


def test_each_envoy_certificate_is_one_series_by_source_role_and_bundle_index() -> None:
    r = rotation()
    rows = samples(
        snap(
            [fetch("gateway-proxy-1", r.leaf_old.info, [r.ca_old.info, r.ca_new.info])],
            [secret(r.leaf_old.info, [r.ca_old.info, r.ca_new.info])],
        )
    )
    held = named(rows, "gloomon_cert_not_after_timestamp_seconds")
    envoy = {
        (labels["role"], labels["bundle_index"], labels["serial"])
        for labels, _ in held
        if labels["source"] == "envoy" and labels["pod"] == "gateway-proxy-1"
    }
    assert envoy == {
        ("leaf", "", r.leaf_old.info.serial),
        ("ca", "0", r.ca_old.info.serial),
        ("ca", "1", r.ca_new.info.serial),
    }
    assert {labels["source"] for labels, _ in held} == {"envoy", "secret"}


def test_per_target_series_carry_the_proxy_name_empty_for_gloo() -> None:
    """Two proxies of one component (``gatewayProxies.public-gw`` beside the default one) are told apart
    by ``proxy``, the pod's ``gateway-proxy-id``; gloo names no proxy."""
    r = rotation()

    def proxied(pod: str, proxy: str | None):  # type: ignore[no-untyped-def]
        answer = fetch(pod, r.leaf_old.info, [r.ca_old.info])
        component = answer.target.component
        info = PodInfo(pod, NS, component, "Running", True, 0, proxy=proxy)
        return replace(answer, target=replace(answer.target, pod_info=info))

    rows = samples(
        snap(
            [
                proxied("gloo-1", None),
                proxied("gateway-proxy-1", "gateway-proxy"),
                proxied("gateway-proxy-2", "public-gw"),
            ],
            [secret(r.leaf_old.info, [r.ca_old.info])],
        )
    )
    for name in (
        "gloomon_target_up",
        "gloomon_target_in_sync",
        "gloomon_target_lag_seconds",
        "gloomon_xds_connected",
        "gloomon_tls_errors_total",
    ):
        assert {labels["pod"]: labels.get("proxy", "") for labels, _ in named(rows, name)} == {
            "gloo-1": "",
            "gateway-proxy-1": "gateway-proxy",
            "gateway-proxy-2": "public-gw",
        }, name
    envoy = named(rows, "gloomon_cert_not_after_timestamp_seconds")
    assert {labels.get("proxy", "") for labels, _ in envoy if labels["pod"] == "gateway-proxy-2"} == {
        "public-gw"
    }
    assert {labels.get("proxy", "") for labels, _ in envoy if labels["source"] == "secret"} == {""}


def test_series_of_a_gone_pod_are_removed_and_the_remaining_pods_keep_theirs() -> None:
    first = steady_fleet("gateway-proxy-1", "gateway-proxy-2", tls_errors=3)
    r = rotation()
    later = snap(
        [fetch("gateway-proxy-1", r.leaf_old.info, [r.ca_old.info], at=NOW + timedelta(seconds=5))],
        [secret(r.leaf_old.info, [r.ca_old.info])],
        at=NOW + timedelta(seconds=5),
        previous=first,
    )
    before = samples(first)
    after = samples(first, later)
    assert any(labels.get("pod") == "gateway-proxy-2" for _, labels, _ in before)
    assert not any(labels.get("pod") == "gateway-proxy-2" for _, labels, _ in after)
    assert {labels["pod"] for labels, _ in named(after, "gloomon_tls_errors_total")} == {"gateway-proxy-1"}


def test_tls_errors_total_stays_monotonic_when_the_envoy_restarts() -> None:
    polls = []
    previous = None
    for step, count in enumerate((5, 7, 2)):  # the Envoy restarted before the third poll
        r = rotation()
        at = NOW + timedelta(seconds=5 * step)
        previous = snap(
            [fetch("gateway-proxy-1", r.leaf_old.info, [r.ca_old.info], at=at, tls_errors=count)],
            [secret(r.leaf_old.info, [r.ca_old.info])],
            at=at,
            previous=previous,
        )
        polls.append(previous)
    totals = [
        next(value for _, value in named(samples(*polls[: n + 1]), "gloomon_tls_errors_total"))
        for n in range(len(polls))
    ]
    assert totals == [5.0, 7.0, 9.0]


def test_rotation_phase_is_one_for_the_current_phase_of_each_secret_and_target() -> None:
    snapshot = states.ca_added()
    rows = named(samples(snapshot), "gloomon_rotation_phase")
    current = {(labels["scope"], labels["pod"]): labels["phase"] for labels, value in rows if value == 1.0}
    assert current[("secret", "")] == snapshot.secrets[0].verdict.phase.value == "ca-added"
    assert {pod for scope, pod in current if scope == "target"} == {t.ref.pod for t in snapshot.targets}
    per_entity = {(labels["scope"], labels["pod"]) for labels, _ in rows}
    assert len(rows) == len(per_entity) * 6  # every phase value, one series each


def test_a_lagging_target_reports_its_lag_and_is_not_in_sync() -> None:
    snapshot = states.lagging()
    rows = samples(snapshot)
    lag = {labels["pod"]: value for labels, value in named(rows, "gloomon_target_lag_seconds")}
    in_sync = {labels["pod"]: value for labels, value in named(rows, "gloomon_target_in_sync")}
    lagger = next(t for t in snapshot.targets if t.ref.pod == states.LAGGING_POD)
    assert lagger.lag_seconds is not None and lagger.lag_seconds > 0
    assert lag[states.LAGGING_POD] == lagger.lag_seconds
    assert in_sync[states.LAGGING_POD] == 0.0
    assert {value for pod, value in lag.items() if pod != states.LAGGING_POD} == {0.0}


def test_findings_are_counted_by_code_severity_and_component() -> None:
    snapshot = states.unreachable()
    rows = named(samples(snapshot), "gloomon_findings")
    counted = {(labels["code"], labels["severity"], labels["component"]): value for labels, value in rows}
    expected: dict[tuple[str, str, str], float] = {}
    for item in snapshot.findings:
        key = (item.code, item.severity.value, item.component.value if item.component else "")
        expected[key] = expected.get(key, 0.0) + 1.0
    assert counted == expected and counted


def test_behind_a_down_api_targets_and_the_api_are_not_up_and_the_last_certificates_stay() -> None:
    first = steady_fleet("gateway-proxy-1")
    r = rotation()
    at = NOW + timedelta(seconds=5)
    down = replace(fetch("gateway-proxy-1", None, [], at=at, error="connection refused"), api_down=True)
    later = snap(
        [down],
        [SecretState(CTX, NS, read_at=at, observed=False, error="API unreachable")],
        at=at,
        previous=first,
        errors=["Kubernetes API unreachable: connection refused"],
    )
    assert later.targets[0].stale_since is not None  # the domain carried it
    before, after = samples(first), samples(first, later)
    assert [value for _, value in named(before, "gloomon_target_up")] == [1.0]
    assert [value for _, value in named(after, "gloomon_target_up")] == [0.0]
    up = {labels["source"]: value for labels, value in named(after, "gloomon_source_up")}
    assert up == {"kubernetes": 0.0, "secret": 0.0}
    assert {labels["serial_number"] for labels, _ in named(after, "x509_cert_not_after")} == {
        str(r.leaf_old.cert.serial_number),
        str(r.ca_old.cert.serial_number),
    }
    assert named(after, "gloomon_source_errors_total") == [({"reason": "unreachable"}, 1.0)]


def test_poll_duration_histogram_counts_every_poll() -> None:
    first = steady_fleet("gloo-1")
    rows = samples(first, first, first)
    assert named(rows, "gloomon_poll_duration_seconds_count") == [({}, 3.0)]
    assert named(rows, "gloomon_build_info")[0][0]["version"]


def test_common_name_reads_the_cn_of_an_rfc4514_name() -> None:
    assert common_name("CN=gloo.gloo-system.svc,O=solo.io") == "gloo.gloo-system.svc"
    assert common_name("O=solo.io,CN=a\\,b") == "a,b"
    assert common_name("O=solo.io") == ""
    assert common_name(None) == ""


def test_findings_carry_the_cluster_they_are_about() -> None:
    """Split planes with edge's copy missing: the finding is counted under cluster="edge"."""
    from gloomon.lab.snapshots.contexts import split_planes

    rows = named(samples(split_planes(copy=None)), "gloomon_findings")
    assert {(labels["code"], labels["cluster"]) for labels, _ in rows} >= {("secret-copy-missing", "edge")}


def test_each_namespaces_copy_of_the_secret_is_its_own_series() -> None:
    """A kube-gateway's namespace holds its own copy: one series per (cluster, namespace), none twice."""
    snapshot = namespace_copies.copy_frozen()
    rows = samples(snapshot)
    phases = {
        labels["namespace"]: labels["phase"]
        for labels, value in named(rows, "gloomon_rotation_phase")
        if labels["scope"] == "secret" and value == 1.0
    }
    assert phases == {NS: "leaf-rotated", namespace_copies.APPS: "steady"}
    up = [labels for labels, _ in named(rows, "gloomon_source_up")]
    assert sorted((u["source"], u["namespace"]) for u in up) == [
        ("kubernetes", ""),
        ("secret", namespace_copies.APPS),
        ("secret", NS),
    ]
    for name in ("gloomon_rotation_phase", "gloomon_source_up"):
        keys = [tuple(sorted(labels.items())) for labels, _ in named(rows, name)]
        assert len(keys) == len(set(keys))
    # the copy's finding is counted under the namespace of the copy it is about; others under ""
    counted = {(labels["code"], labels["namespace"]) for labels, _ in named(rows, "gloomon_findings")}
    assert ("secret-copy-stale", namespace_copies.APPS) in counted
    assert all(namespace == "" for code, namespace in counted if not code.startswith("secret-copy"))


def test_each_management_contexts_certgen_cronjob_is_its_own_series() -> None:
    """Two clusters run two certgens: one series each, by ``cluster`` (not one for the first)."""
    snapshot = two_clusters()
    east, west = snapshot.cronjobs
    ran = {"east": NOW - timedelta(hours=6), "west": NOW - timedelta(hours=1)}
    crons = tuple(replace(c, last_successful_time=ran[c.context]) for c in (east, west))
    rows = samples(replace(snapshot, cronjob=crons[0], cronjobs=crons))
    success = named(rows, "gloomon_certgen_last_success_timestamp_seconds")
    assert {labels["cluster"]: value for labels, value in success} == {
        context: at.timestamp() for context, at in ran.items()
    }
    upcoming = named(rows, "gloomon_certgen_next_run_timestamp_seconds")
    assert sorted(labels["cluster"] for labels, _ in upcoming) == ["east", "west"]
    assert {labels["cronjob"] for labels, _ in upcoming} == {"gloo-mtls-certgen-cronjob"}
