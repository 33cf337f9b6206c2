"""Captured fixtures hold public certificates only: no private key, no key-like base64."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_no_private_keys_in_fixtures() -> None:
    files = [path for path in FIXTURES.rglob("*") if path.is_file()]
    assert files
    for path in files:
        text = path.read_bytes()
        assert b"PRIVATE KEY" not in text, path.name
        assert b"private_key" not in text or b'"[redacted]"' in text, path.name
