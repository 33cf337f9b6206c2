"""No hint tells the user to run a command that prints a secret's private key on the terminal.

``kubectl get secret … -o yaml|json`` and ``-o jsonpath='{.data}'`` print ``tls.key`` (base64); a hint
may read a public key (``{.data.ca\\.crt}``), the metadata, ``describe secret`` (names and sizes only), or
pipe the whole object on to another command.
"""

from __future__ import annotations

import re
from pathlib import Path

import gloomon

_COMMAND = re.compile(r"get secrets? (?P<rest>[^;\n]*)")
_PRINTS_ALL = re.compile(r"-o (yaml|json)\b(?![^|]*\|)|\{\{?\.data\}\}?|tls\\\\?\.key")


def _hint_sources() -> list[Path]:
    root = Path(gloomon.__file__).parent
    return [p for p in root.rglob("*.py") if "lab" not in p.relative_to(root).parts]


def test_no_hint_prints_a_secrets_data() -> None:
    offenders = []
    for path in _hint_sources():
        text = path.read_text()
        for match in _COMMAND.finditer(text):
            # the f-string's continuation lines belong to the same command
            rest = match.group("rest") + text[match.end() : match.end() + 120].split("\n", 2)[1]
            if _PRINTS_ALL.search(rest.split(";")[0]):
                offenders.append(f"{path.name}: {match.group(0)[:100]}")
    assert not offenders, offenders


def test_the_rule_catches_what_it_is_for() -> None:
    for bad in ("get secret x -o yaml)", "get secret x -o jsonpath='{{.data}}'", "get secret x -o json "):
        assert _PRINTS_ALL.search(_COMMAND.search(bad).group("rest")), bad  # type: ignore[union-attr]
    good_ones = (
        "get secret x -o yaml | kubectl apply -f -",
        "get secret x -o jsonpath='{{.data.ca\\\\.crt}}'",
    )
    for good in good_ones:
        assert not _PRINTS_ALL.search(_COMMAND.search(good).group("rest")), good  # type: ignore[union-attr]
