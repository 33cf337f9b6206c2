"""Kubernetes label selectors (``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

#: One requirement: (key, operator, values); operators: =, !=, in, notin, exists, !exists.
Requirement = tuple[str, str, frozenset[str]]

_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_selector(text: str) -> list[Requirement] | None:
    """The requirements of ``text``, or None when it is not a valid selector."""
    out: list[Requirement] = []
    for part in _split(text):
        if m := _SET.match(part):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append((m.group(1), m.group(2), values))
        elif m := _EQ.match(part):
            out.append((m.group(1), "!=" if m.group(2) == "!=" else "=", frozenset([m.group(3)])))
        elif m := _EXISTS.match(part):
            out.append((m.group(2), "!exists" if m.group(1) else "exists", frozenset()))
        else:
            return None
    return out


def matches(selector: list[Requirement], labels: Mapping[str, str]) -> bool:
    for key, op, values in selector:
        value = labels.get(key)
        ok = {
            "=": value in values,
            "in": value in values,
            "!=": value not in values,
            "notin": value not in values,
            "exists": value is not None,
            "!exists": value is None,
        }[op]
        if not ok:
            return False
    return True
