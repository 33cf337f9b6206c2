"""Hostile remote text against every output: ``domain/text.py`` itself, ``gloomon check`` (table, JSON,
YAML), the saved JSON, the dashboard (Pilot, screen text) and the certificate parser's warnings.

Each case is a string a cluster could hand us (a pod name, a log line, a certificate subject, an admin
error body); every output must come out inert — no escape sequence, no C0/C1 control, no bidi or other
format control, no lone surrogate — with Rich markup shown as written and a 1 MB input cut short.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import warnings
from dataclasses import dataclass
from datetime import timedelta

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from gloomon.domain import text
from gloomon.domain.export import snapshot_to_dict
from gloomon.domain.model import CertInfo, Component, FleetSnapshot, TrustBundle
from gloomon.domain.parse.logs import parse_log_line
from gloomon.domain.parse.x509 import cert_info_from_der, find_signer, parse_pem_bundle
from gloomon.report import print_report
from tests.domain.certs import NOW, Made, make_ca
from tests.domain.fleet_helpers import fetch, secret, snap

MEGABYTE = 1_000_000
MARKUP = "[bold]b[/] [link=https://x]l[/link] [/] [@click=app.quit]q"


@dataclass(frozen=True)
class Case:
    """A hostile string, what ``text.inert`` makes of it, a part every output must show literally, and
    the remains of escape sequences no output may show (a ``[31m`` tail is not inert)."""

    name: str
    hostile: str
    inert: str
    shown: str
    gone: tuple[str, ...] = ()


CASES = [
    Case("csi", "red \x1b[31mALERT\x1b[0m \x1b[2J\x1b[H", "red ALERT ", "ALERT", ("[31m", "[0m", "[2J")),
    Case("osc52-clipboard", "\x1b]52;c;Y3VybCBldmlsfHNo\x07copied", "copied", "copied", ("52;c", "Y3Vyb")),
    Case(
        "osc8-link",
        "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ here",
        "click here",
        "click",
        ("evil.example", "8;;"),
    ),
    Case(
        "dcs-apc-pm",
        "\x1bPq#0;2DCSBODY\x1b\\a\x1b_APCBODY\x1b\\b\x1b^PMBODY\x07c\x1bXSOSBODY\x1b\\d",
        "abcd",
        "abcd",
        ("DCSBODY", "APCBODY", "PMBODY", "SOSBODY"),
    ),
    Case("c1", "x\x9b31my\x85z\x9d0;C1TITLE\x9cw\x90C1DCS\x9cv", "xy zwv", "xy", ("31m", "C1TITLE", "C1DCS")),
    Case(
        "bidi",
        "cert\u202etxt.exe\u202c \u2066iso\u2069\u200e\u200f\u061c\u200b\ufeff!",
        "certtxt.exe iso!",
        "iso!",
    ),
    Case("rich-markup", MARKUP, MARKUP, "[bold]b[/] [link=https://x]l[/link] [/]"),
    Case("nul", "nu\x00ll\x00", "null", "null"),
    Case("lone-surrogate", "sur\ud800ro\udfffgate", "surrogate", "surrogate"),
    Case("lone-esc-and-tail", "tail\x1b[31", "tail", "tail", ("[31",)),
    Case("megabyte", "M" * MEGABYTE + "\x1b[31m", "", "MMMM", ("[31m",)),
]
IDS = [case.name for case in CASES]

_FORMAT_CONTROLS = {chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"}


def strings(value: object) -> list[str]:
    """Every string of a JSON/YAML document, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [item for key, val in value.items() for item in (*strings(key), *strings(val))]
    if isinstance(value, list):
        return [item for val in value for item in strings(val)]
    return []


def assert_shown(out: str, case: Case) -> None:
    """``out`` is inert, shows the case's literal part and none of its escape sequences' remains."""
    assert_inert(out)
    assert case.shown in out
    for remains in case.gone:
        assert remains not in out


def assert_inert(out: str) -> None:
    """No character of ``out`` can act on a terminal, reorder text, or fail to encode."""
    for ch in set(out):
        code = ord(ch)
        assert ch in "\n\t" or not (code < 0x20 or 0x7F <= code < 0xA0), f"control U+{code:04X} in output"
        assert ch not in _FORMAT_CONTROLS, f"format control U+{code:04X} in output"
        assert not 0xD800 <= code <= 0xDFFF, f"lone surrogate U+{code:04X} in output"
    out.encode("utf-8")


# ---------------------------------------------------------------------------------------- domain/text


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inert_removes_whole_sequences_and_unsafe_characters(case: Case) -> None:
    out = text.inert(case.hostile)
    assert_inert(out)
    if case.name == "megabyte":
        assert len(out) == text.MAX_TEXT and out.endswith(text.ELLIPSIS)
    else:
        assert out == case.inert


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_line_is_flat_inert_and_clipped(case: Case) -> None:
    out = text.one_line(case.hostile + "\n\tnext  line", 40)
    assert_inert(out)
    assert "\n" not in out and "\t" not in out and "  " not in out
    assert len(out) <= 40
    assert out.startswith(" ".join(case.inert.split())[:39] or "M")


#: the pieces hostile text is made of: sequence introducers and terminators, controls, breaks, bidi
_HOSTILE_ALPHABET = st.sampled_from(
    [*"\x1b[]\\\x07\x9b\x9c\x9d P_^X;m\n\r\t\x00\x85\u202e\u2066\u200b\ufeff\ud800\u2028aé", "31"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_HOSTILE_ALPHABET, max_size=60).map("".join) | st.text(max_size=200))
def test_any_input_comes_out_inert_and_stays_so(raw: str) -> None:
    """Whatever the input, every form is inert, and making inert text inert again changes nothing."""
    once = text.inert(raw, multiline=True)
    assert_inert(once)
    assert text.inert(once, multiline=True) == once
    flat = text.one_line(raw, 50)
    assert_inert(flat)
    assert len(flat) <= 50 and "\n" not in flat and text.one_line(flat, 50) == flat
    assert_inert(text.reveal(raw, lambda ch: f"<{ord(ch):x}>"))


def test_every_format_control_is_unsafe() -> None:
    """The Cf list in domain/text.py covers every format character this Python's Unicode knows."""
    missing = [f"U+{ord(ch):04X}" for ch in sorted(_FORMAT_CONTROLS) if not text.UNSAFE.fullmatch(ch)]
    assert missing == []


def test_clip_and_line_breaks() -> None:
    assert text.clip("abcdef", 4) == "abc…"
    assert text.clip("abcd", 4) == "abcd"
    assert text.inert("a\r\nb\u2028c\x0bd", multiline=True) == "a\nb\nc\nd"
    assert text.inert("a\r\nb\u2028c") == "a b c"
    assert text.one_line("  a \x1b[1m\tb\n\n c  ") == "a b c"


def test_reveal_shows_what_inert_removes() -> None:
    shown = text.reveal("a\x1b[31m\u202eb\ud800\x00\x1b", lambda ch: f"<{ord(ch):x}>")
    assert shown == "a<202e>b<d800><0>"


# ---------------------------------------------------------------------------------------- certificates


def hostile_cert(ca: Made, *names: str) -> bytes:
    """A leaf whose subject carries ``names`` as CNs as written, lengths unchecked (as a hostile CA would
    write them), and the first name as a DNS SAN when it is ASCII."""
    ascii_cn = names[0][:200] if names[0].isascii() else "hostile.example"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "solo.io"),
                *(x509.NameAttribute(NameOID.COMMON_NAME, name, _validate=False) for name in names),
            ]
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca.cert.subject)
            .public_key(ca.key.public_key())  # type: ignore[arg-type]
            .serial_number(0x1234)
            .not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=300))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(ascii_cn)]), critical=False)
        )
        cert = builder.sign(ca.key, hashes.SHA256())  # type: ignore[arg-type]
    return cert.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def ca() -> Made:
    return make_ca(kind="ecdsa")


def test_certificate_warnings_become_notes_not_stderr(ca: Made) -> None:
    """A 0-length and an overlong attribute plus a U+202E subject: no warning escapes the parser, the
    certificate says what was wrong in its notes, and the subject reaches no one raw."""
    der = hostile_cert(ca, "gloo\u202e" + "x" * 70, "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pem = x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = cert_info_from_der(der)
        from_pem = parse_pem_bundle(pem)
    assert isinstance(info, CertInfo), info
    assert isinstance(from_pem, tuple) and from_pem[0].notes == info.notes
    assert any("length must be >= 1 and <= 64, but it was 77" in note for note in info.notes), info.notes
    assert any("length must be >= 1 and <= 64, but it was 0" in note for note in info.notes), info.notes
    for value in (info.subject, info.common_name, *info.sans, *info.notes):
        assert value is not None
        assert_inert(value)
    assert info.common_name == "gloo" + "x" * 70


def test_a_negative_serial_is_a_note_and_checking_the_signer_prints_nothing(ca: Made) -> None:
    """cryptography warns about a serial that is not positive when it loads the certificate, in the
    parser and again when the signer is checked: both stay off stderr, the note says it."""
    der = hostile_cert(ca, "gloo.gloo-system.svc")
    good = bytes.fromhex("02021234")  # the serial 0x1234, as DER
    assert der.count(good) == 1
    negative = der.replace(good, bytes.fromhex("0202f234"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = cert_info_from_der(negative)
        assert isinstance(info, CertInfo), info
        assert find_signer(info, TrustBundle((ca.info,))) is None  # the signature no longer matches
    assert any("serial number which wasn't positive" in note for note in info.notes), info.notes


def test_certificate_notes_reach_check_and_json(ca: Made) -> None:
    """What stderr used to get is in the report under the certificate, and in its JSON."""
    leaf = cert_info_from_der(hostile_cert(ca, "x" * 70))
    assert isinstance(leaf, CertInfo) and leaf.notes
    snapshot = snap([fetch("gateway-proxy-1", leaf, [ca.info])], [secret(leaf, [ca.info])])
    assert "note: Attribute's length must be >= 1 and <= 64, but it was 70" in _report(snapshot, "table")
    doc = json.loads(_report(snapshot, "json"))
    assert doc["secret"]["leaf"]["notes"] == list(leaf.notes)
    assert doc["secret"]["bundle"][0]["notes"] == []


# ---------------------------------------------------------------------------------------- check and export


def hostile_snapshot(ca: Made, case: Case) -> FleetSnapshot:
    """A fleet whose remote strings — pod names, a log line, a certificate subject, an admin error body,
    an API error — all carry ``case.hostile``, built by ``build_snapshot`` as sources would feed it."""
    hostile = case.hostile
    cn = hostile[:900].encode("utf-8", "ignore").decode()  # a certificate cannot hold a lone surrogate
    leaf = cert_info_from_der(hostile_cert(ca, cn))
    assert isinstance(leaf, CertInfo), leaf
    pod = f"gateway-proxy-{hostile}"
    zap = json.dumps({"level": "error", "ts": NOW.timestamp(), "msg": f"context cancelled {hostile}"})
    event = parse_log_line(zap, component=None, pod=f"certgen-{hostile}", container="certgen")
    return snap(
        [
            fetch(pod, leaf, [ca.info], component=Component.GATEWAY_PROXY),
            fetch(f"gloo-{hostile}", None, [], error=f"HTTP 503: {hostile}", component=Component.GLOO),
        ],
        [secret(leaf, [ca.info])],
        log_events=[event],
        errors=[f"api: {hostile}"],
    )


def _report(snapshot: FleetSnapshot, output: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=4000, color_system=None, soft_wrap=True, highlight=False)
    print_report(snapshot, output, console)
    return buffer.getvalue()


@pytest.mark.parametrize("output", ["table", "json", "yaml"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_check_output_is_inert(ca: Made, case: Case, output: str) -> None:
    out = _report(hostile_snapshot(ca, case), output)
    assert len(out) < 40 * text.MAX_TEXT
    if output == "table":
        assert_shown(out, case)
    else:
        doc = json.loads(out) if output == "json" else yaml.safe_load(out)
        assert_shown("\n".join(strings(doc)), case)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_saved_json_is_inert(ca: Made, case: Case) -> None:
    """What a ``jq -r`` of the saved snapshot hands back to a terminal."""
    saved = json.dumps(snapshot_to_dict(hostile_snapshot(ca, case)))
    assert len(saved) < 40 * text.MAX_TEXT
    assert_shown("\n".join(strings(json.loads(saved))), case)


# ---------------------------------------------------------------------------------------- dashboard


def _screen_text(svg: str) -> str:
    """The characters an SVG screenshot shows (tags dropped, entities decoded)."""
    import html

    body = re.sub(r"<style.*?</style>|<defs.*?</defs>", "", svg, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_dashboard_screens_are_inert(ca: Made, case: Case) -> None:
    from gloomon.ui.app import GloomonApp

    snapshot = hostile_snapshot(ca, case)
    app = GloomonApp(clock=lambda: NOW)
    async with app.run_test(size=(160, 50)) as pilot:
        app.show_snapshot(snapshot)
        app.add_log_events(
            [
                parse_log_line(
                    f"[2026-11-25 11:59:00.000][1][warning][config] {case.hostile}",
                    component=None,
                    pod=f"gateway-proxy-{case.hostile}",
                    container="envoy",
                )
            ]
        )
        await pilot.pause()
        screens = [app.export_screenshot()]
        await pilot.press("down", "enter")  # the gateway-proxy row: the hostile certificate's details
        await pilot.pause()
        screens.append(app.export_screenshot())
        assert case.name == "megabyte" or "subject" in _screen_text(screens[-1])  # else: a 16K pod name
        await pilot.press("escape", "i")
        await pilot.pause()
        screens.append(app.export_screenshot())
    shown = "".join(_screen_text(svg) for svg in screens)
    assert_inert(shown.replace("\u00a0", " "))
    for remains in case.gone:
        assert remains not in shown
    if case.name == "rich-markup":
        assert "[link=https://x]" in shown and "[/]" in shown and "[bold]" in shown
