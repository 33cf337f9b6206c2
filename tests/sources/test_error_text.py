"""Source errors in words: one clean line (no escape or control characters), exceptions and API Status
bodies described the way a user reads them."""

from __future__ import annotations

import errno

from gloomon.domain.text import one_line
from gloomon.sources.errors import describe_exception, status_message


def test_one_line_strips_escape_sequences_and_control_characters() -> None:
    dirty = "a\x1b[31mred\x1b[0m\tb\x7fc\x85d\u202eevil\u200be \x1b]0;title\x07f\x00g\r\nh"
    cleaned = one_line(dirty)
    assert cleaned == "ared bc devile fg h"  # unsafe characters dropped, line breaks and tabs a blank
    assert all(ch.isprintable() for ch in cleaned)
    assert one_line("x" * 500, 10) == "x" * 9 + "…"


def test_error_wording() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    assert describe_exception(OSError("wrapper")) == "OSError: wrapper"
    wrapped = RuntimeError("outer")
    wrapped.__cause__ = refused
    assert describe_exception(wrapped) == "connection refused"
    assert describe_exception(TimeoutError()) == "timed out"
    body = (
        b'{"kind":"Status","message":"secrets \\"gloo-mtls-certs\\" is forbidden: User \\"x\\" cannot get"}'
    )
    assert status_message(403, body).startswith('secrets "gloo-mtls-certs" is forbidden')
    assert status_message(404, b"<html>" + b"x" * 5000) == "not found"
