"""The one policy for untrusted remote text: make it inert, flatten it to one line, clip it.

Remote text is every string gloomon did not write itself: log lines, pod and container names, Envoy
admin responses, certificate subjects, SANs and issuers, Kubernetes API error bodies, and the finding
messages that quote them. Log lines, certificate fields, error reasons and finding messages are made
inert when they are parsed or judged; names and versions by the renderers (check, the dashboard, the
JSON), which all build on this module. Inert text has lost:

- whole terminal escape sequences: CSI (``ESC [ … final``, 8-bit ``U+009B``), the string sequences OSC
  (incl. OSC 52 clipboard writes and OSC 8 hyperlinks), DCS, SOS, PM and APC up to BEL/ST, any other
  ``ESC`` sequence and a lone ``ESC``, so no ``[31m`` tail is left behind;
- C0 controls (tab and line breaks excepted), DEL and C1 controls, NUL;
- Unicode format controls (category Cf: bidi embeddings, overrides and isolates, LRM/RLM/ALM,
  zero-width characters, the BOM, tag characters …) and lone surrogates, which cannot be encoded and
  would break ``json.dumps``, YAML, Rich rendering and terminal writes.

Work is bounded: input is cut before any pattern runs, so a 1 MB line costs as much as its first
few kilobytes. Renderers add only their own presentation on top (the dashboard's ``\\xNN`` marks come
from :func:`reveal`); Rich markup is never interpreted here or anywhere downstream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

#: the most characters of one remote string that are ever kept (a log line's ``MAX_LINE`` too)
MAX_TEXT = 16 * 1024
#: the default length of a one-line detail (an error reason, a quoted body)
DETAIL = 160
ELLIPSIS = "…"

#: input characters scanned per output character kept: room for colour codes around every word
_SCAN_FACTOR = 4

_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: line breaks as ``str.splitlines`` sees them (each becomes ``\n``, or a blank on one line)
_BREAKS = "\n\v\f\r\x1c-\x1e\x85\u2028\u2029"
#: one character that must never reach an output: C0 (but tab and breaks), DEL, C1, Cf, surrogates
UNSAFE = re.compile(f"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f{_FORMAT}\ud800-\udfff]")
_BREAK = re.compile(f"\r\n|[{_BREAKS}]")
#: the characters an escape sequence can start with (a cheap test before the full pattern)
_INTRODUCER = re.compile("[\x1b\x90\x98\x9b\x9d-\x9f]")
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*+[ -/]*+(?:[@-~]|$)"  # CSI, unterminated at the end included
    # OSC, DCS, SOS, PM, APC: a string up to BEL or ST (or the next ESC, or the end)
    r"|(?:\x1b[]PX^_]|[\x90\x98\x9d-\x9f])[^\x07\x1b\x9c]*+(?:\x07|\x1b\\|\x9c|(?=\x1b)|$)"
    r"|\x1b[ -/]*+[0-~]?"  # nF/Fp/Fe/Fs escapes (ESC ( B, ESC 7, ESC c, ST) and a lone ESC
)


def _without_sequences(text: str) -> str:
    return _SEQUENCE.sub("", text) if _INTRODUCER.search(text) else text


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the last one an ellipsis when anything was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def inert(text: object, limit: int = MAX_TEXT, *, multiline: bool = False) -> str:
    """Remote text with every escape sequence and unsafe character removed, at most ``limit`` chars.

    Tabs and spaces are kept as they are (log lines keep their alignment). Line breaks become ``\\n``
    when ``multiline``, else a blank. Text cut short (here or by the bounded scan) ends with ``…``.
    """
    raw = text if isinstance(text, str) else str(text)
    if raw.isascii() and raw.isprintable():  # the common case: nothing to remove, no break to flatten
        return clip(raw, limit)
    bound = max(limit * _SCAN_FACTOR, limit + 64)
    cut = len(raw) > bound
    clean = UNSAFE.sub("", _without_sequences(raw[:bound] if cut else raw))
    clean = _BREAK.sub("\n" if multiline else " ", clean)
    if cut and len(clean) < limit:
        return clean + ELLIPSIS
    return clip(clean, limit)


def one_line(text: object, limit: int = DETAIL) -> str:
    """Remote text as one inert line: blanks (tabs, breaks, runs of spaces) collapse to one space, the
    ends are trimmed, at most ``limit`` characters with an ellipsis."""
    return clip(" ".join(inert(text, limit * 2 + 64).split()), limit)


def reveal(text: object, show: Callable[[str], str], limit: int = MAX_TEXT) -> str:
    """``text`` without escape sequences, each other unsafe character replaced by ``show(character)``.

    The presentation layer for a renderer that wants hostile input to be seen rather than silently
    dropped (the dashboard shows a NUL or a U+202E in a pod name or a version as ``\\x00``/``\\u202e``).
    Escape sequences go whole, as everywhere, so no ``[31m`` tail is left. Line breaks become ``\\n``;
    tabs are kept for the renderer.
    """
    raw = text if isinstance(text, str) else str(text)
    cut = len(raw) > limit
    shown = UNSAFE.sub(lambda match: show(match.group()), _without_sequences(raw[:limit] if cut else raw))
    shown = _BREAK.sub("\n", shown)
    return shown + ELLIPSIS if cut else shown


def inert_tree(value: Any) -> Any:
    """``value`` (plain dicts, lists, tuples, strings, numbers) with every string made :func:`inert`.

    For documents built from remote data (the saved/``check`` JSON): a consumer running ``jq -r`` must
    not get an escape sequence back.
    """
    if isinstance(value, str):
        return inert(value, multiline=True)
    if isinstance(value, dict):
        return {inert_tree(key): inert_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [inert_tree(item) for item in value]
    return value
