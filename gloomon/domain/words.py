"""Counted nouns in the words every renderer and finding message shares: ``1 CA``, ``2 CAs``, ``1 target``.

One helper, so the report, the dashboard and the findings never disagree on ``2 CA`` vs ``2 CAs`` and
nobody writes ``CA(s)``.
"""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``noun`` for exactly one, else ``many`` (default: ``noun`` + "s")."""
    return noun if count == 1 else (many if many is not None else noun + "s")


def counted(count: int, noun: str, many: str | None = None) -> str:
    """``1 CA``, ``2 CAs``, ``10,000 CAs``: the count (thousands grouped) and the noun in agreement."""
    return f"{count:,} {plural(count, noun, many)}"
