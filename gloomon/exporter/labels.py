"""Bounded label values derived from remote text: a certificate name's CN, a failed read's reason."""

from __future__ import annotations


def common_name(name: str | None) -> str:
    """The CN of an RFC 4514 name (``CN=gloo.gloo-system.svc,O=…``), "" when it has none."""
    if not name:
        return ""
    part, rest = "", name
    while rest:
        part, rest = _next_rdn(rest)
        key, sep, value = part.partition("=")
        if sep and key.strip().upper() == "CN":
            return value.replace("\\", "")
    return ""


def _next_rdn(text: str) -> tuple[str, str]:
    """The first attribute of an RFC 4514 string and the rest (commas escaped with ``\\`` kept)."""
    escaped = False
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",+":
            return text[:index], text[index + 1 :]
    return text, ""


def error_reason(text: str) -> str:
    """A bounded label value for one failed read, from its one-line description."""
    lowered = text.lower()
    for reason, words in _REASONS:
        if any(word in lowered for word in words):
            return reason
    return "other"


_REASONS = (
    ("forbidden", ("forbidden", "(403)", "unauthorized", "(401)")),
    ("not-found", ("not found", "(404)")),
    ("timeout", ("timed out", "timeout")),
    ("tls", ("tls ", "certificate verify")),
    ("unreachable", ("unreachable", "refused", "reset", "port-forward", "cannot connect")),
)
