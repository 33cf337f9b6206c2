"""Untrusted input never makes a parser raise: random JSON, truncation, wrong types, huge numbers, bytes."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gloomon.domain.model import ParseError
from gloomon.domain.parse.envoy import (
    parse_certs,
    parse_clusters,
    parse_ready,
    parse_secrets_dump,
    parse_server_info,
    parse_stats,
)
from gloomon.domain.parse.logs import parse_log_line
from gloomon.domain.parse.x509 import parse_pem_bundle
from tests.domain.strategies import json_values

FIXTURES = Path(__file__).parent / "fixtures"
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARSERS = (parse_certs, parse_secrets_dump, parse_clusters, parse_stats, parse_server_info)
SAMPLES = sorted(p.read_bytes() for p in FIXTURES.glob("envoy140_*") if p.suffix in (".json", ".txt"))


def check_all(body: bytes) -> None:
    """Every admin parser returns (never raises); a body it cannot read gets a reason in words."""
    for parser in PARSERS:
        result = parser(body)
        if isinstance(result, ParseError):
            assert str(result)


@SETTINGS
@given(json_values)
def test_random_json(value: object) -> None:
    check_all(json.dumps(value).encode())


@SETTINGS
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_real_bodies(sample: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(sample)))
    check_all(sample[:cut])


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    check_all(body)
    assert parse_ready(503, body).state
    event = parse_log_line(body, component=None, pod="p", container="c")
    assert "\x1b" not in event.message and "\x00" not in event.message
    parse_pem_bundle(body)  # returns, whatever the bytes


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_lines(text: str) -> None:
    event = parse_log_line(text, component=None, pod="p", container="c")
    assert "\x1b" not in event.message and "\x00" not in event.message
    check_all(text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(
    st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from(["value", "days_until_expiration"])
)
def test_huge_numbers(number: int, key: str) -> None:
    check_all(f'{{"stats":[{{"name":"sds.server_cert.update_rejected","{key}":{number}}}]}}'.encode())
    check_all(f"sds.server_cert.update_rejected: {number}\n".encode())
    check_all(b'{"x": ' + b"9" * 5000 + b"}")


def test_deep_nesting() -> None:
    check_all(b"[" * 100_000)
    check_all(b'{"certificates": ' + b"[" * 50_000)


@SETTINGS
@given(st.text(max_size=200), st.binary(max_size=100))
def test_pem_with_garbage(junk: str, raw: bytes) -> None:
    pem = (FIXTURES / "envoy140_certs.pem").read_text()
    result = parse_pem_bundle(junk + pem + junk)
    assert isinstance(result, tuple) and len(result) == 4
    half = parse_pem_bundle(raw + pem.encode()[: len(pem) // 2])
    assert isinstance(half, ParseError) or len(half) < 4  # half the PEM cannot hold every certificate
