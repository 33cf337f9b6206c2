"""Textual's ``Strip.divide`` without the reference cycle it makes of every full-width line.

Textual 8.2.8 (pinned) caches a strip's division in the strip itself; the division of a strip at its own
length is ``[strip]``, so the strip holds a list that holds the strip. The compositor divides every line
it draws, and most of the dashboard's lines span the whole screen: each frame left its lines (a strip,
its list of segments, seven caches: 15 objects each) for the cycle collector instead of freeing them when
the next frame replaced them, about 3,000 strips in 10 s of keys and polls. The collector then found
them in passes of its middle generation that took 170-220 ms (bench/ui_latency.py --cas 10000), and a key
pressed meanwhile waited. The same division uncached costs a one-item list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from textual.strip import Strip

_divide = Strip.divide


def _divide_without_cycle(self: Strip, cuts: Iterable[int]) -> Sequence[Strip]:
    cuts = list(cuts)
    length = self.cell_length
    if [cut for cut in cuts if cut <= length] == [length]:
        return [self]  # what Textual returns (and caches) for a cut at the strip's own end
    return _divide(self, cuts)


def install() -> None:
    """Divide strips without caching a strip's division into itself (idempotent)."""
    Strip.divide = _divide_without_cycle  # type: ignore[method-assign]
