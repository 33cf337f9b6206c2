"""inert's fast path for printable ASCII gives what the full policy gives: the text, clipped at the limit."""

from __future__ import annotations

import pytest

from gloomon.domain.text import ELLIPSIS, MAX_TEXT, inert


@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 200, MAX_TEXT * 4 + 1])
def test_printable_ascii_is_kept_and_clipped(length: int) -> None:
    raw = ("CN=supergloo-webhook-cert-ca,O=solo.io " * (length // 38 + 1))[:length]
    assert inert(raw, 10) == (raw if length <= 10 else raw[:9] + ELLIPSIS)
    assert inert(raw, multiline=True) == (raw if length <= MAX_TEXT else raw[: MAX_TEXT - 1] + ELLIPSIS)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("a\tb", "a\tb"), ("a\x7fb", "ab"), ("a\x1b[31mb", "ab"), ("a\nb", "a b"), ("é\u202e", "é")],
)
def test_anything_else_takes_the_full_policy(raw: str, clean: str) -> None:
    assert inert(raw) == clean
