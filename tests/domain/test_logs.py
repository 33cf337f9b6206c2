# ruff: noqa: E501, UP031  -- verbatim Envoy/zap log lines are long and contain braces
"""Log lines of envoy-sidecar, sds and certgen (real formats from reference/*.md and samples)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gloomon.domain.model import Component, LogKind
from gloomon.domain.parse.logs import parse_log_line

#: Real Envoy outputs from public repositories (origins in the folder's README.md).
REFERENCE = Path(__file__).parent / "fixtures" / "reference"


def parse(line: str | bytes, component: Component | None = Component.GATEWAY_PROXY, container: str = "sds"):  # type: ignore[no-untyped-def]
    return parse_log_line(line, component=component, pod="gateway-proxy-1", container=container)


SDS = (
    '{"level":"info","ts":"2024-05-31T17:45:30.164Z","logger":"sds_server","caller":"server/server.go:81",'
    '"msg":"Updating SDS config. sdsClient is gateway-proxy-9c889d85b-hsqq2.gloo-system. Snapshot version is '
    '13974182827697272484","version":"1.17.0","seq":7}'
)


def test_sds_update() -> None:
    event = parse(SDS)
    assert event.kind is LogKind.SDS_UPDATE
    assert event.ts == datetime(2024, 5, 31, 17, 45, 30, 164000, tzinfo=UTC)
    assert event.fields["snapshot_version"] == "13974182827697272484"
    assert event.fields["sds_client"] == "gateway-proxy-9c889d85b-hsqq2.gloo-system"
    assert event.fields["seq"] == "7" and event.fields["logger"] == "sds_server"
    assert event.level == "info" and event.container == "sds"


@pytest.mark.parametrize(
    ("msg", "client"),
    [
        (
            "Updating SDS config. sdsClient is gateway-proxy-9c889d85b-hsqq2.gloo-system.Snapshot version is 1",
            "gateway-proxy-9c889d85b-hsqq2.gloo-system",
        ),
        ("Updating SDS config. sdsClient is sds_client. Snapshot version is 1", "sds_client"),
        ("Updating SDS config. Snapshot version is 1", None),
    ],
)
def test_sds_update_variants(msg: str, client: str | None) -> None:
    event = parse('{"level":"info","ts":"2024-05-31T17:45:30.164Z","msg":"%s"}' % msg)
    assert event.kind is LogKind.SDS_UPDATE and event.fields.get("sds_client") == client


def test_kubelet_prefix() -> None:
    event = parse("2026-11-25T20:52:32.123456789Z " + SDS)
    assert event.kind is LogKind.SDS_UPDATE and event.ts is not None and event.ts.year == 2024
    plain = parse("2026-11-25T20:52:32.123456789Z hello world")
    assert plain.kind is LogKind.PLAIN and plain.message == "hello world"
    assert plain.ts == datetime(2026, 11, 25, 20, 52, 32, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("msg", "kind", "field", "value"),
    [
        ("updating to both ca bundles", LogKind.CERTGEN_PHASE, "phase", "1"),
        ("updating to new server cert", LogKind.CERTGEN_PHASE, "phase", "2"),
        ("updating to new ca bundle", LogKind.CERTGEN_PHASE, "phase", "3"),
        ("secret exists but need to rotate...", LogKind.CERTGEN_PHASE, "phase", "start"),
        (
            "Starting a grace period for all pods to settle: 65 seconds remaining",
            LogKind.CERTGEN_WAIT,
            "seconds_remaining",
            "65",
        ),
        ("40 seconds remaining", LogKind.CERTGEN_WAIT, "seconds_remaining", "40"),
        (
            "no ValidatingWebhookConfiguration provided. finished successfully.",
            LogKind.CERTGEN_DONE,
            None,
            None,
        ),
        (
            "context cancelled, next rotation will not break trust, consider rotating an extra time",
            LogKind.CERTGEN_CANCELLED,
            None,
            None,
        ),
        ("Failed updating to both ca bundles", LogKind.PLAIN, None, None),
        ("failed to update SDS config after cert file change", LogKind.SDS_UPDATE_FAILED, None, None),
        ("sds server listening on 0.0.0.0:8234", LogKind.SDS_START, None, None),
    ],
)
def test_zap_kinds(msg: str, kind: LogKind, field: str | None, value: str | None) -> None:
    line = (
        '{"level":"info","ts":1732567952.5,"logger":"gencert","msg":"%s","waitingFor":"ca bundles update"}'
        % msg
    )
    event = parse(line, component=None, container="certgen")
    assert event.kind is kind
    assert event.ts == datetime.fromtimestamp(1732567952.5, UTC)
    if field:
        assert event.fields[field] == value
    assert event.fields["waitingFor"] == "ca bundles update"


@pytest.mark.parametrize(
    ("line", "kind", "level"),
    [
        (
            "[2024-05-31 17:45:30.164][1][warning][config] [.../grpc_stream.h:152] StreamAggregatedResources gRPC config stream to gloo.gloo-system.svc.cluster.local:9977 closed: 13,",
            LogKind.XDS_STREAM_CLOSED,
            "warning",
        ),
        (
            "[2023-05-22 18:18:41.996][1042742][debug][config] [./source/common/config/grpc_stream.h:170] StreamSecrets gRPC config stream closed: 14, upstream connect error or disconnect/reset before headers. reset reason: connection failure",
            LogKind.XDS_STREAM_CLOSED,
            "debug",
        ),
        (
            "[2025-03-05 07:22:38.631][15][debug][connection] [source/common/tls/cert_validator/default_validator.cc:321] verify cert failed: X509_verify_cert: certificate verification error at depth 0: unable to get local issuer certificate",
            LogKind.TLS_VERIFY_FAILED,
            "debug",
        ),
        (
            "[2024-10-22 23:01:37.608][603271][warning][config] [source/common/config/grpc_subscription_impl.cc:120] gRPC config: initial fetch timed out for type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
            LogKind.SECRET_NOT_SUPPLIED,
            "warning",
        ),
        (
            "[2024-10-22 23:01:37.608][1][debug][router] [x.cc:1] upstream reset: reset reason: connection failure, transport failure reason: TLS error: Secret is not supplied by SDS",
            LogKind.SECRET_NOT_SUPPLIED,
            "debug",
        ),
        (
            "[2025-06-02 10:11:12.131][1][debug][router] [x.cc:1] upstream reset: reset reason: connection failure, transport failure reason: TLS_error:_Secret_is_not_supplied_by_SDS",
            LogKind.SECRET_NOT_SUPPLIED,
            "debug",
        ),
        (
            "[2024-10-22 23:01:37.608][1][info][router] [x.cc:1] upstream connect error or disconnect/reset before headers. reset reason: overflow",
            LogKind.UPSTREAM_CONNECT_ERROR,
            "info",
        ),
        (
            "[2024-10-22 23:01:37.608][1][warning][config] [x.cc:1] gRPC config for type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret rejected: Failed to load trusted CA certificates from <inline>",
            LogKind.CONFIG_REJECTED,
            "warning",
        ),
        (
            "[2024-10-22 23:01:37.608][1][info][main] [source/server/server.cc:1] initializing epoch 0 (base id=0, hot restart version=11.104)",
            LogKind.ENVOY_START,
            "info",
        ),
        ("[2024-10-22 23:01:37.608][1][critical][main] [x.cc:1] boom", LogKind.PLAIN, "critical"),
    ],
)
def test_envoy_lines(line: str, kind: LogKind, level: str) -> None:
    event = parse(line, container="envoy-sidecar")
    assert (event.kind, event.level) == (kind, level)
    assert event.ts is not None and event.ts.tzinfo is UTC
    assert not event.message.startswith("[") or event.message.startswith("[Tags")


def test_reference_tls_log_sample() -> None:
    lines = (REFERENCE / "carlossg_log_tls_unknown_ca_verify_failed.txt").read_text().splitlines()
    events = [parse(line.split(" | ", 1)[1]) for line in lines if " | [" in line]
    assert [e.kind for e in events] == [LogKind.TLS_VERIFY_FAILED] * 3
    san = (REFERENCE / "carlossg_log_verify_cert_failed_san_matcher.txt").read_text().splitlines()
    assert parse(next(x for x in san if " | [" in x).split(" | ", 1)[1]).kind is LogKind.TLS_VERIFY_FAILED


@pytest.mark.parametrize(
    "line",
    [
        b"\xff\xfe\x00",
        "",
        "{",
        '{"msg": 5}',
        "[not envoy",
        '{"level":7,"ts":"nope","msg":"x"}',
        "\x1b[2J\x1b]0;pwned\x07hi",
    ],
)
def test_garbage_is_plain_and_safe(line: str | bytes) -> None:
    event = parse(line)
    assert event.kind is LogKind.PLAIN
    assert "\x1b" not in event.message and "\x07" not in event.message and "\x00" not in event.message


def test_control_characters_stripped_text_kept() -> None:
    event = parse(
        "[2024-05-31 17:45:30.164][1][info][main] [x.cc:1] [bold]red[/bold] \x1b[31mX\x1b[0m \u202egnp.exe"
    )
    assert event.message == "[bold]red[/bold] X gnp.exe"
    zap = parse('{"level":"warn","msg":"a\\u001b[31mb","k":"\\u001b]0;t\\u0007v"}')
    assert (zap.message, zap.fields["k"], zap.level) == ("ab", "v", "warning")
