"""Every real Envoy sample (reference/envoy/ and outputs captured from Envoy 1.40, fixtures/envoy140_*)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gloomon.domain.model import (
    CertsReport,
    ClustersReport,
    Component,
    EnvoyStats,
    ParseError,
    SecretsDump,
    ServerInfo,
)
from gloomon.domain.parse.envoy import (
    STATS_FILTER,
    parse_certs,
    parse_clusters,
    parse_ready,
    parse_secrets_dump,
    parse_server_info,
    parse_stats,
    xds_cluster_names,
)
from gloomon.domain.parse.x509 import parse_pem_bundle

#: Real Envoy outputs from public repositories (origins in the folder's README.md).
REFERENCE = Path(__file__).parent / "fixtures" / "reference"
FIXTURES = Path(__file__).parent / "fixtures"


def ref(name: str) -> bytes:
    return (REFERENCE / name).read_bytes()


def fix(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# (file, number of contexts, leaf serials, first CA serial)
CERTS_SAMPLES = [
    ("aws-app-mesh_certs_empty_sds_not_delivered.json", 0, [], None),
    ("aws-app-mesh_certs_sds_spire.json", 1, ["52f3b82ebb99af2d826bc1c3ac3835ba"], "0"),
    ("ikubernetes_certs_spiffe_validator_web_server.json", 2, ["a3dc15ccfcf4a934ea0945fa2832a79a"], "0"),
    ("ikubernetes_certs_spiffe_validator_echo_server.json", 2, ["0b0a79907bebe65cc94560070a0e8dcd"] * 2, "0"),
]


@pytest.mark.parametrize(("name", "contexts", "leaves", "first_ca"), CERTS_SAMPLES)
def test_reference_certs(name: str, contexts: int, leaves: list[str], first_ca: str | None) -> None:
    report = parse_certs(ref(name))
    assert isinstance(report, CertsReport)
    assert len(report.contexts) == contexts
    assert report.delivered is (contexts > 0)
    assert [c.cert_chain[0].serial for c in report.contexts if c.cert_chain] == leaves
    if first_ca is not None:
        assert report.contexts[0].ca_certs[0].serial == first_ca
    for context in report.contexts:
        for cert in context.ca_certs + context.cert_chain:
            assert cert.not_after.tzinfo is UTC and cert.sans and cert.sans[0].startswith("URI:spiffe://")


def test_certs_days_as_int_and_dedupe() -> None:
    def entry(days: object) -> dict[str, object]:
        return {
            "path": "<inline>",
            "serial_number": "0AB1",
            "subject_alt_names": [{"dns": "gloo"}, {"ip_address": "10.0.0.1"}],
            "days_until_expiration": days,
            "valid_from": "2026-01-01T00:00:00Z",
            "expiration_time": "2027-01-01T00:00:00Z",
        }

    ctx = {"ca_cert": [entry(3), entry("3")], "cert_chain": [entry(364)]}
    body = json.dumps({"certificates": [ctx, ctx, {"ca_cert": [], "cert_chain": []}]}).encode()
    report = parse_certs(body)
    assert isinstance(report, CertsReport)
    assert len(report.contexts) == 1
    assert len(report.contexts[0].ca_certs) == 1
    assert report.contexts[0].cert_chain[0].serial == "0ab1"
    assert report.contexts[0].cert_chain[0].sans == ("DNS:gloo", "IP:10.0.0.1")


@pytest.mark.parametrize(
    ("name", "clusters", "unhealthy", "connect_fails"),
    [
        ("yelp-paasta_clusters_format_json_snapshot.txt", 4, ["some_service7.main.egress_cluster"], 0),
        ("pgdad-envoy-go_envoy-1.37.2_clusters_text_with_headers.txt", 1, [], 5),
        (
            "aws-app-mesh_clusters_text_health_flags_grep.txt",
            3,
            ["cds_egress_howto-k8s-mtls-sds-based_green_howto-k8s-mtls-sds-based_http_8080"],
            0,
        ),
        ("aws-app-mesh_clusters_text_sds_cluster_grep.txt", 1, [], 0),
    ],
)
def test_reference_clusters(name: str, clusters: int, unhealthy: list[str], connect_fails: int) -> None:
    report = parse_clusters(ref(name))
    assert isinstance(report, ClustersReport)
    assert len(report.clusters) == clusters
    assert [c.name for c in report.clusters if not c.healthy] == unhealthy
    assert sum(c.cx_connect_fail for c in report.clusters) == connect_fails


def test_reference_sds_cluster_on_unix_socket() -> None:
    report = parse_clusters(ref("aws-app-mesh_clusters_text_sds_cluster_grep.txt"))
    assert isinstance(report, ClustersReport)
    host = report.clusters[0].hosts[0]
    assert (host.address, host.cx_active, host.healthy) == ("/run/spire/sockets/agent.sock", 1, True)


def test_reference_yelp_merges_repeated_cluster() -> None:
    report = parse_clusters(ref("yelp-paasta_clusters_format_json_snapshot.txt"))
    assert isinstance(report, ClustersReport)
    service1 = report.get("service1.main.egress_cluster")
    assert service1 is not None and [h.address for h in service1.hosts] == [
        "10.46.6.88:13833",
        "10.46.6.90:13833",
    ]
    assert report.get("some_service7.main.egress_cluster").hosts[0].health_flags == ("failed_eds_health",)  # type: ignore[union-attr]


def test_reference_stats_handshakes() -> None:
    stats = parse_stats(ref("aws-app-mesh_stats_ssl_handshake_grep.txt"))
    assert isinstance(stats, EnvoyStats)
    assert [t.handshake for t in stats.tls] == [1, 0, 1]
    assert sum(t.errors for t in stats.tls) == 0


def test_reference_server_info_excerpt_is_truncated() -> None:
    result = parse_server_info(ref("pgdad-envoy-go_envoy-1.37.2_server_info_with_headers_excerpt.txt"))
    assert isinstance(result, ParseError) and "JSON" in result.message


def test_server_info_1_37_when_complete() -> None:
    text = ref("pgdad-envoy-go_envoy-1.37.2_server_info_with_headers_excerpt.txt").decode()
    body = text.split("\n\n", 1)[1].split('  "extensions": [')[0] + '  "extensions": []\n }\n}\n'
    info = parse_server_info(body.encode())
    assert info == ServerInfo(
        "1.37.2", "5afe27fb338b16d5bb06b3a7198bcd581b4e3dee/1.37.2/Clean/RELEASE/BoringSSL", "LIVE", 1.0
    )


def test_reference_404_is_not_stats_or_clusters() -> None:
    body = ref("pgdad-envoy-go_envoy-1.37.2_404_invalid_path_excerpt.txt")
    assert isinstance(parse_clusters(body), ParseError)
    assert isinstance(parse_certs(body), ParseError)
    assert isinstance(parse_secrets_dump(body), ParseError)


# ------------------------------------------------------------------------------ Envoy 1.40 captures

PEMS = parse_pem_bundle(fix("envoy140_certs.pem"))
assert isinstance(PEMS, tuple)
CA_OLD, CA_NEW, CA_OTHER, LEAF_OLD = PEMS


@pytest.mark.parametrize(("scenario", "cas"), [("ca_added", [CA_OLD, CA_NEW]), ("untrusted", [CA_OTHER])])
def test_envoy140_certs_lists_every_ca(scenario: str, cas: list) -> None:  # type: ignore[type-arg]
    report = parse_certs(fix(f"envoy140_{scenario}_certs.json"))
    assert (
        isinstance(report, CertsReport) and len(report.contexts) == 1
    )  # listener + cluster contexts deduped
    context = report.contexts[0]
    assert [c.serial for c in context.ca_certs] == [c.serial for c in cas]
    assert context.cert_chain[0].serial == LEAF_OLD.serial
    assert context.cert_chain[0].not_after == LEAF_OLD.not_after


@pytest.mark.parametrize(("scenario", "cas"), [("ca_added", [CA_OLD, CA_NEW]), ("untrusted", [CA_OTHER])])
def test_envoy140_secrets(scenario: str, cas: list) -> None:  # type: ignore[type-arg]
    body = fix(f"envoy140_{scenario}_secrets_active.json")
    assert b"[redacted]" in body
    dump = parse_secrets_dump(body)
    assert isinstance(dump, SecretsDump)
    server = dump.get("server_cert")
    validation = dump.get("validation_context")
    assert server is not None and validation is not None
    assert server.kind == "tls_certificate" and validation.kind == "validation_context"
    assert server.version_info == "13974182827697272484"
    assert server.last_updated is not None and server.last_updated.tzinfo is UTC
    assert [c.sha256 for c in server.certs] == [LEAF_OLD.sha256]
    assert [c.sha256 for c in validation.certs] == [c.sha256 for c in cas]
    assert "redacted" not in repr(dump)


@pytest.mark.parametrize("scenario", ["ca_added", "untrusted"])
def test_envoy140_clusters_json_equals_text(scenario: str) -> None:
    as_json = parse_clusters(fix(f"envoy140_{scenario}_clusters.json"))
    as_text = parse_clusters(fix(f"envoy140_{scenario}_clusters.txt"))
    assert isinstance(as_json, ClustersReport) and as_json == as_text
    xds = as_json.get(xds_cluster_names(Component.GATEWAY_PROXY, "gloo-system")[0])
    assert xds is not None and xds.observability_name == "xds_cluster"
    assert as_json.get("xds_cluster") == xds
    assert xds.healthy is (scenario == "ca_added")


@pytest.mark.parametrize("scenario", ["ca_added", "untrusted"])
def test_envoy140_stats_text_equals_json(scenario: str) -> None:
    text = parse_stats(fix(f"envoy140_{scenario}_stats.txt"))
    json_ = parse_stats(fix(f"envoy140_{scenario}_stats.json"))
    assert isinstance(text, EnvoyStats) and isinstance(json_, EnvoyStats)
    assert (text.sds, text.tls, text.cert_expiry) == (json_.sds, json_.tls, json_.cert_expiry)
    sds = text.sds_for("server_cert")
    assert sds is not None and (sds.version, sds.update_success, sds.update_rejected) == (
        "13974182827697272484",
        1,
        0,
    )
    assert text.cert_expiry["server_cert"] == LEAF_OLD.not_after
    assert text.cert_expiry["validation_context"] == min(
        c.not_after for c in ([CA_OLD, CA_NEW] if scenario == "ca_added" else [CA_OTHER])
    )
    cluster = next(t for t in text.tls if t.scope == "cluster.xds_cluster")
    if scenario == "ca_added":
        assert cluster.handshake > 0 and cluster.errors == 0
    else:
        assert cluster.fail_verify_error > 0 and cluster.handshake == 0


@pytest.mark.parametrize("scenario", ["ca_added", "untrusted"])
def test_envoy140_server_info_and_ready(scenario: str) -> None:
    info = parse_server_info(fix(f"envoy140_{scenario}_server_info.json"))
    assert isinstance(info, ServerInfo) and info.version == "1.40.0" and info.state == "LIVE"
    assert info.uptime_seconds is not None
    assert parse_ready(200, fix(f"envoy140_{scenario}_ready.txt")).state == "LIVE"


def test_ready_states() -> None:
    assert parse_ready(503, b"PRE_INITIALIZING\n").state == "PRE_INITIALIZING"
    assert parse_ready(503, b"<html>").state == "unknown"
    assert parse_ready(200, b"").state == "LIVE"


def test_stats_other_expiry_spelling_and_control_plane() -> None:
    body = (
        b"control_plane.connected_state: 0\n"
        b"listener.0.0.0.0_9977.ssl.certificate.server_cert.expiration_unix_time_in_seconds: 1809864000\n"
        b"sds.my.dotted:secret.update_rejected: 2\nsds.my.dotted:secret.version: 42\n"
        b"cluster.xds_cluster.ssl.fail_verify_no_cert: 1\ncluster.xds_cluster.ssl.connection_error: 2\n"
    )
    stats = parse_stats(body)
    assert isinstance(stats, EnvoyStats)
    assert stats.control_plane_connected is False
    assert stats.cert_expiry["server_cert"] == datetime.fromtimestamp(1809864000, UTC)
    sds = stats.sds_for("my.dotted:secret")
    assert sds is not None and (sds.update_rejected, sds.version) == (2, "42")
    assert sum(t.errors for t in stats.tls) == 3


def test_secrets_full_dump_warming_and_bytes() -> None:
    import base64
    import json

    pem = (FIXTURES / "envoy140_certs.pem").read_text()
    doc = {
        "configs": [
            {"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", "bootstrap": {}},
            {
                "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
                "dynamic_active_secrets": [
                    {
                        "name": "validation_context",
                        "version_info": "7",
                        "last_updated": "2026-11-25T20:57:31.784Z",
                        "secret": {
                            "name": "validation_context",
                            "validation_context": {
                                "trusted_ca": {"inline_bytes": base64.b64encode(pem.encode()).decode()}
                            },
                        },
                    },
                    {
                        "name": "server_cert",
                        "version_info": "7",
                        "secret": {
                            "name": "server_cert",
                            "tls_certificate": {
                                "certificate_chain": {"inline_string": "garbage"},
                                "private_key": {"inline_bytes": "W3JlZGFjdGVkXQ=="},
                            },
                        },
                    },
                ],
                "dynamic_warming_secrets": [{"name": "server_cert", "version_info": "uninitialized"}],
            },
        ]
    }
    dump = parse_secrets_dump(json.dumps(doc).encode())
    assert isinstance(dump, SecretsDump)
    validation = dump.get("validation_context")
    assert validation is not None and len(validation.certs) == 4
    server = dump.get("server_cert")
    assert server is not None and server.certs == () and server.error is not None
    warming = dump.get("server_cert", warming=True)
    assert warming is not None and warming.version_info == "uninitialized" and warming.kind == "unknown"
    assert parse_secrets_dump(b"{}") == SecretsDump(())


def test_stats_filter_is_anchored_re2ish() -> None:
    import re

    pattern = re.compile(STATS_FILTER)
    for name in (
        "sds.server_cert.version",
        "control_plane.connected_state",
        "cluster.xds_cluster.ssl.handshake",
        "listener.127.0.0.1_1.ssl.certificate.server_cert.expiration_unix_time_seconds",
        "server.days_until_first_cert_expiring",
    ):
        assert pattern.search(name), name
    for name in ("cluster.xds_cluster.upstream_rq_total", "http.admin.downstream_cx_ssl_total"):
        assert not pattern.search(name), name


def test_xds_cluster_names() -> None:
    assert xds_cluster_names(Component.GLOO, "ns") == ("gloo_xds_cluster",)
    assert xds_cluster_names(Component.EXTAUTH, "ns", "corp.local") == (
        "gloo.ns.svc.corp.local:9977",
        "xds_cluster",
    )
