"""A Rich renderable drawn once per width, and what tells two drawings apart.

A ``Static`` of ``height: auto`` renders its content twice per update: once to count its lines (the
layout), once to paint them. For the detail pane and the expiry chart (Rich tables, measured column by
column) that doubled a key's cost. :class:`RenderedOnce` keeps the lines of the last width asked for, so
the second pass (and every repaint until the content or the width changes) reuses them.

A new snapshot mostly leaves what such a widget shows as it was; updating it anyway costs a layout and
a paint of the screen. :func:`texts_key` lets the widget see that its texts are the same and keep what
it shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.text import Text


def texts_key(texts: Iterable[Text]) -> tuple[object, ...]:
    """Everything of these texts that reaches the screen (characters, styles, wrapping), in order: equal
    keys draw the same (``Text.__eq__`` ignores the base style)."""
    return tuple(
        (text.plain, text.style, tuple(text.spans), text.justify, text.overflow, text.no_wrap, text.end)
        for text in texts
    )


class RenderedOnce:
    """``renderable``'s segments, kept for the last width (and wrap options) it was drawn at.

    The height in the options is not part of the key: the tables and texts drawn here do not use it.
    A new content is a new :class:`RenderedOnce`, so the cache needs no other invalidation."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._key: tuple[object, ...] | None = None
        self._segments: list[Segment] = []

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (options.max_width, options.min_width, options.justify, options.overflow, options.no_wrap)
        if key != self._key:
            self._segments = list(console.render(self.renderable, options))
            self._key = key
        yield from self._segments

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)
