"""A line-API log view: holds LogEvents, renders only the rows on screen (toolong's approach).

At 2,000 lines/s, rendering every arriving line (as ``RichLog`` does) costs more than the whole rest of
the dashboard; here appending is a list extend and a virtual-size change, and each visible row is
rendered once (cached by its absolute index) when it is first shown.

Each event is one row, the message cut at the pane's edge; with wrapping on (``w``) a long message
folds onto continuation rows indented under the message column, so the whole line can be read. With
several contexts watched, a context column after the time says which cluster each line came from.
``follow``, ``wrap`` and ``context_width`` are bound from the :class:`LogPane` that owns them
(``data_bind``). Each row keeps the ring's line number, so a batch that merged late lines in replaces
rows from that line on and nothing above it moves. The text was made inert once, when the line was
parsed; rows render it as it is, in the colours of the current theme.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from itertools import accumulate

from rich.cells import chop_cells
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.actions import SkipAction
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gloomon.domain.model import Component, LogEvent, LogKind
from gloomon.ui.format import Palette, keep_end, pod_suffix, sanitize, short_component

HIGHLIGHTED_KINDS = {
    LogKind.SDS_UPDATE: "accent",
    LogKind.CERTGEN_PHASE: "accent",
    LogKind.CERTGEN_DONE: "ok",
    LogKind.TLS_VERIFY_FAILED: "error",
    LogKind.XDS_STREAM_CLOSED: "warn",
    LogKind.SDS_UPDATE_FAILED: "error",
    LogKind.UPSTREAM_CONNECT_ERROR: "warn",
    LogKind.SECRET_NOT_SUPPLIED: "warn",
    LogKind.CONFIG_REJECTED: "error",
}


def level_style(level: str, palette: Palette) -> Style:
    level = level.lower()
    if level in ("error", "critical", "fatal", "panic"):
        return palette.error
    if level in ("warning", "warn"):
        return palette.warn
    if level == "debug":
        return palette.muted
    return palette.text


_LEVEL_MARKS = {"error": "✖", "critical": "✖", "fatal": "✖", "panic": "✖", "warning": "▲", "warn": "▲"}
#: Container tags: the Envoy of a pod (sidecar, gateway-proxy itself, a kube-gateway's) and its sds.
_CONTAINERS = {"envoy-sidecar": "env", "gateway-proxy": "env", "gloo-gateway": "env", "sds": "sds"}
#: a classic proxy's containers besides its Envoy (which is named after the proxy: ``public-gw``)
_PROXY_SIDECARS = frozenset({"sds", "extauth", "istio-proxy"})
SOURCE_WIDTH = 16
TAG_WIDTH = 3
#: time (9) + source + space + tag + space + level mark and space (2): where the message starts.
PREFIX_WIDTH = 9 + SOURCE_WIDTH + 1 + TAG_WIDTH + 1 + 2
#: the widest the context column gets (longer names keep their end, as pod names do)
CONTEXT_MAX_WIDTH = 10
#: wrapping never folds a message narrower than this
_MIN_MESSAGE_WIDTH = 12


def source_label(event: LogEvent) -> str:
    """``gw-proxy/x2k4p``, ``rate-limit/h5j2l``, ``certgen/x7k2p``: short component, the pod's suffix."""
    origin = short_component(event.component) if event.component else event.container
    return keep_end(f"{origin}/{pod_suffix(event.pod)}", SOURCE_WIDTH)


def container_tag(event: LogEvent) -> str:
    """``env`` or ``sds`` (blank for a certgen job, whose source already says so)."""
    if event.component is None and event.container == "certgen":
        return ""
    if event.component is Component.GATEWAY_PROXY and event.container not in _PROXY_SIDECARS:
        return "env"  # followed containers only: the one named after the proxy is its Envoy
    return _CONTAINERS.get(event.container, event.container)[:TAG_WIDTH]


def context_width(contexts: Sequence[str]) -> int:
    """The context column's width (0: none, one context watched): the longest name, at most
    :data:`CONTEXT_MAX_WIDTH` cells."""
    if len(contexts) < 2:
        return 0
    return min(max(len(context) for context in contexts), CONTEXT_MAX_WIDTH)


def prefix_width(context_cells: int) -> int:
    """Where the message starts: :data:`PREFIX_WIDTH`, and the context column and its gap if any."""
    return PREFIX_WIDTH + (context_cells + 1 if context_cells else 0)


def event_prefix(event: LogEvent, palette: Palette, context_cells: int = 0) -> Text:
    """``20:52:32 gw-proxy/x2k4p   sds ▲ ``: fixed columns, :func:`prefix_width` cells; with
    ``context_cells``, the line's context after the time (``20:52:32 east gw-proxy/x2k4p …``)."""
    line = Text(no_wrap=True)
    line.append(event.ts.strftime("%H:%M:%S ") if event.ts else "--:--:-- ", style=palette.muted)
    if context_cells:
        context = keep_end(sanitize(event.context or ""), context_cells)
        line.append(f"{context:<{context_cells}} ", style=palette.text)
    source_style = palette.accent if event.component else palette.muted
    line.append(f"{source_label(event):<{SOURCE_WIDTH}} ", style=source_style)
    line.append(f"{container_tag(event):<{TAG_WIDTH}} ", style=palette.muted)
    level = event.level.lower()
    line.append(f"{_LEVEL_MARKS.get(level, ' ')} ", style=level_style(level, palette) + Style(bold=True))
    return line


def message_style(event: LogEvent, palette: Palette) -> Style:
    """Known kinds (SDS update, certgen phase, TLS verify failure…) by colour and weight, else the level."""
    tone = HIGHLIGHTED_KINDS.get(event.kind)
    return getattr(palette, tone) + Style(bold=True) if tone else level_style(event.level, palette)


def event_line(event: LogEvent, palette: Palette, context_cells: int = 0) -> Text:
    """The event on one line: the prefix columns, then the message kept literal (never markup)."""
    line = event_prefix(event, palette, context_cells)
    line.append(shown_message(event), style=message_style(event, palette))
    return line


def shown_message(event: LogEvent) -> str:
    """The message as its cells show it: tabs (kept by the parser for alignment) as four spaces."""
    return event.message.replace("\t", "    ")


def message_rows(message: str, width: int) -> list[str]:
    """A message folded to ``width`` cells (at least one row, even when empty)."""
    if len(message) <= width and message.isascii():
        return [message]
    return chop_cells(message, width) or [""]


def _row_count(event: LogEvent, width: int) -> int:
    message = shown_message(event)
    if message.isascii():  # one cell per character (the parser removed every control character)
        return max(1, -(-len(message) // width))
    return len(message_rows(message, width))


#: trim the list in chunks, not on every append
_SLACK = 512


class LogView(ScrollView, can_focus=True):
    """Bounded list of events and their ring line numbers; ``render_line`` formats visible rows."""

    follow: reactive[bool] = reactive(True, layout=False)
    """Keep the newest row in view (bound to ``LogPane.following``: false while the user reads back)."""
    wrap: reactive[bool] = reactive(False, layout=False)
    """Fold long messages onto continuation rows (bound to ``LogPane.wrap``)."""
    context_width: reactive[int] = reactive(0, layout=False)
    """The context column's cells, 0 for none (bound to ``LogPane.context_width``)."""

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.events: list[LogEvent] = []
        #: the ring's line number of each event
        self.numbers: list[int] = []
        self._start = 0  # absolute index of events[0], the cache's key
        self._cache: LRUCache[tuple[int, int], Strip] = LRUCache(1024)
        self._palette: Palette | None = None
        #: with wrapping: rows per event and their running total (row ends), for the current width
        self._rows: list[int] = []
        self._ends: list[int] = []
        self._wrap_width = 0

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        """Recolour: the palette and every cached row were built from the previous theme."""
        self._palette = None
        self._cache.clear()
        self.refresh()

    # ------------------------------------------------------------------------------------ content

    @property
    def row_total(self) -> int:
        return self._ends[-1] if self.wrap and self._ends else len(self.events)

    def take(self, start: int, numbered: Sequence[tuple[int, LogEvent]]) -> int:
        """Replace the rows of ring lines ``start`` and later by ``numbered`` (in order); returns how
        many rows the view gained. A reader who is not following keeps the rows in front of them."""
        cut = bisect_left(self.numbers, start)
        before = len(self.events)
        if cut < before:
            self._truncate(cut)
        self.numbers.extend(number for number, _ in numbered)
        self._extend([event for _, event in numbered])
        gained = len(self.events) - before
        self._trim()
        self._resize_virtual()
        if self.follow:
            self.follow_end()
        self.refresh()
        return gained

    def _truncate(self, cut: int) -> None:
        del self.events[cut:], self.numbers[cut:]
        if self.wrap:
            del self._rows[cut:], self._ends[cut:]
        self._cache.clear()  # rows from ``cut`` on get other events; cheap to render what is visible

    def _extend(self, events: list[LogEvent]) -> None:
        self.events.extend(events)
        if self.wrap and events:
            rows = [_row_count(event, self._wrap_width) for event in events]
            base = self._ends[-1] if self._ends else 0
            self._rows.extend(rows)
            self._ends.extend(base + total for total in accumulate(rows))

    def _trim(self) -> None:
        """Drop the oldest events beyond ``max_lines`` (in chunks), keeping a reader's rows in place."""
        if len(self.events) <= self.max_lines + _SLACK:
            return
        removed = len(self.events) - self.max_lines
        removed_rows = self._ends[removed - 1] if self.wrap else removed
        del self.events[:removed], self.numbers[:removed]
        self._start += removed
        if self.wrap:
            del self._rows[:removed]
            self._ends = list(accumulate(self._rows))
        if not self.follow:
            self.scroll_to(y=max(self.scroll_y - removed_rows, 0), animate=False, immediate=True)

    def follow_end(self) -> None:
        """Show the newest row now (forced: the scrollbar may not exist yet when the first rows arrive)."""
        self.scroll_end(animate=False, immediate=True, x_axis=False, force=True)

    def clear(self) -> None:
        self._start += len(self.events)
        self.events, self.numbers = [], []
        self._rows, self._ends = [], []
        self._cache.clear()
        self._resize_virtual()
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def watch_follow(self, follow: bool) -> None:
        if follow:
            self.follow_end()

    def watch_wrap(self, wrap: bool) -> None:
        """Fold long messages onto continuation rows (or cut them), keeping the top event in view."""
        self._relayout(self._event_at(round(self.scroll_y), not wrap)[0] if self.events else 0)

    def watch_context_width(self) -> None:
        """The message moves: every cached row is redrawn, wrapped rows are counted again."""
        self._relayout(self._event_at(round(self.scroll_y))[0] if self.events else 0)

    def _relayout(self, top: int) -> None:
        """Rows measured and drawn anew, the event ``top`` kept at the top (unless following)."""
        self._measure()
        self._resize_virtual()
        if self.follow:
            self.follow_end()
        else:
            self.scroll_to(y=self._first_row(top), animate=False, immediate=True)
        self.refresh()

    @property
    def message_width(self) -> int:
        """The cells a wrapped message folds into, right of the prefix columns."""
        return max(self.size.width - prefix_width(self.context_width), _MIN_MESSAGE_WIDTH)

    def _measure(self) -> None:
        """Row counts of every event at the current width (only while wrapping)."""
        self._cache.clear()
        if not self.wrap:
            self._rows, self._ends = [], []
            return
        self._wrap_width = self.message_width
        self._rows = [_row_count(event, self._wrap_width) for event in self.events]
        self._ends = list(accumulate(self._rows))

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self.size.width, self.row_total)

    def _event_at(self, row: int, wrapped: bool | None = None) -> tuple[int, int]:
        """(event index, row within the event) of a virtual row (as laid out with ``wrapped``)."""
        if not (self.wrap if wrapped is None else wrapped):
            return row, 0
        index = bisect_right(self._ends, row)
        return index, row - (self._ends[index - 1] if index else 0)

    def _first_row(self, index: int) -> int:
        if not self.wrap or index <= 0:
            return index
        return self._ends[min(index, len(self._ends)) - 1]

    # Keys scroll without animation: lines arrive while a reader pages, and an animated scroll_y that a
    # batch's immediate scroll_to cancels mid-step breaks Textual's animator (KeyError on 'scroll_y').
    def action_page_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_page_down(animate=False)

    def action_scroll_up(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_down(animate=False)

    def action_scroll_end(self) -> None:
        """End belongs to the pane that owns following (LogPane's ``follow``): let the key go on to it."""
        raise SkipAction()

    def action_scroll_home(self) -> None:
        if not self.allow_vertical_scroll:
            raise SkipAction()
        self.scroll_home(animate=False, x_axis=False)

    def on_resize(self) -> None:
        if self.wrap and self.message_width != self._wrap_width:
            top = self._event_at(round(self.scroll_y))[0] if self.events else 0
            self._measure()
            if not self.follow:
                self.scroll_to(y=self._first_row(top), animate=False, immediate=True)
        self._resize_virtual()
        if self.follow:
            self.call_after_refresh(self.follow_end)

    # ------------------------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        style = self.rich_style
        index, part = self._event_at(scroll_y + y)
        if index >= len(self.events):
            return Strip.blank(width, style)
        key = (self._start + index, part)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(self.events[index], part, style)
            self._cache[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def _render_row(self, event: LogEvent, part: int, style: Style) -> Strip:
        if self._palette is None:
            self._palette = Palette.from_variables(self.app.theme_variables)
        palette = self._palette
        cells = self.context_width
        if not self.wrap:
            text = event_line(event, palette, cells)
        else:
            rows = message_rows(shown_message(event), self._wrap_width)
            indent = Text(" " * prefix_width(cells), no_wrap=True)
            text = event_prefix(event, palette, cells) if part == 0 else indent
            text.append(rows[min(part, len(rows) - 1)], style=message_style(event, palette))
        segments = [
            Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)
        ]
        return Strip(segments, text.cell_len)

    def visible_text(self) -> list[str]:
        """The rows on screen as plain text (what the user reads)."""
        return [self.render_line(y).text.rstrip() for y in range(self.size.height)]
