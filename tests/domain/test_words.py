"""The words shared by findings, the report and the dashboard: counted nouns in agreement (one helper for
all, never ``CA(s)``), a differing bundle named by its CAs' serials (never ``bundle of 1 CA(s) ≠ secret's
1``), and a rotation phase past certgen's wait said as such (never ``21 s of 20 s``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gloomon.domain.cells import secret_phase_words
from gloomon.domain.compare.rotation import phase_of
from gloomon.domain.model import TrustBundle
from gloomon.domain.words import counted, plural
from tests.domain.certs import NOW, make_ca, make_leaf
from tests.domain.fleet_helpers import fetch, secret, snap


@pytest.mark.parametrize(
    ("count", "noun", "words"),
    [
        (0, "CA", "0 CAs"),
        (1, "CA", "1 CA"),
        (2, "CA", "2 CAs"),
        (1, "target", "1 target"),
        (10_000, "CA", "10,000 CAs"),
    ],
)
def test_counted_nouns_agree_with_their_count(count: int, noun: str, words: str) -> None:
    assert counted(count, noun) == words


def test_an_irregular_plural_is_given() -> None:
    assert plural(2, "proxy", "proxies") == "proxies"
    assert plural(1, "proxy", "proxies") == "proxy"


def _reason(held: list, secret_cas: list) -> str:  # type: ignore[type-arg]
    leaf = make_leaf(secret_cas[0])
    target = fetch("gateway-proxy-1", leaf.info, [ca.info for ca in held])
    snapshot = snap([target], [secret(leaf.info, [ca.info for ca in secret_cas])])
    reason = snapshot.targets[0].sync_reason
    assert reason is not None
    return reason


def test_same_count_other_ca_names_both_serials() -> None:
    mine, theirs = make_ca(), make_ca(not_before=NOW - timedelta(days=1))
    reason = _reason([mine], [theirs])
    assert "CA(s)" not in reason
    assert (
        f"bundle differs from the secret's: CA {mine.info.short_serial} instead of {theirs.info.short_serial}"
        in reason
    )


def test_an_extra_ca_is_named_with_both_counts() -> None:
    old, new = make_ca(), make_ca(not_before=NOW - timedelta(days=1))
    reason = _reason([old, new], [old])
    assert (
        f"bundle of 2 CAs differs from the secret's 1 CA: CA {new.info.short_serial} not in the secret"
        in reason
    )


def test_a_missing_ca_is_named() -> None:
    old, new = make_ca(), make_ca(not_before=NOW - timedelta(days=1))
    reason = _reason([old], [old, new])
    assert (
        f"bundle of 1 CA differs from the secret's 2 CAs: lacks the secret's CA {new.info.short_serial}"
        in reason
    )


def _rotating(held_for: timedelta) -> str:
    """The secret's phase words while it has held phase 1 (two CAs, the old leaf) for ``held_for``."""
    old, new = make_ca(not_before=NOW - timedelta(days=300)), make_ca(not_before=NOW - held_for)
    leaf = make_leaf(old)
    cas = [old.info, new.info]
    snapshot = snap([fetch("gloo-1", leaf.info, cas)], [secret(leaf.info, cas, updated_at=NOW - held_for)])
    words, _ = secret_phase_words(snapshot, NOW)
    return words


def test_a_phase_within_certgens_wait_says_how_far_along_it_is() -> None:
    assert _rotating(timedelta(seconds=41)).endswith("41 s of 65 s")


def test_a_phase_past_certgens_wait_says_by_how_much() -> None:
    words = _rotating(timedelta(seconds=66))
    assert words.endswith("1 s past the 65 s phase")
    assert "66 s of 65 s" not in words


def test_a_bundle_without_a_leaf_counts_its_one_ca() -> None:
    ca = make_ca()
    verdict = phase_of(TrustBundle((ca.info,)), None, NOW)
    assert verdict.reason == "no server certificate; 1 CA in the bundle"


def test_one_rejected_sds_update_is_one_update() -> None:
    ca = make_ca()
    leaf = make_leaf(ca)
    snapshot = snap(
        [fetch("gateway-proxy-1", leaf.info, [ca.info], rejected=1)], [secret(leaf.info, [ca.info])]
    )
    messages = [f.message for f in snapshot.findings if f.code == "sds-update-rejected"]
    assert messages and all("rejected 1 SDS update of " in message for message in messages), messages


def test_one_tls_verify_failure_is_one_failure() -> None:
    ca = make_ca()
    leaf = make_leaf(ca)
    held = fetch("gateway-proxy-1", leaf.info, [ca.info], tls_errors=1, handshakes=0)
    snapshot = snap([held], [secret(leaf.info, [ca.info])])
    messages = [f.message for f in snapshot.findings if f.code == "tls-verify-failures"]
    assert messages and all(message.startswith("1 TLS verify failure and") for message in messages), messages
