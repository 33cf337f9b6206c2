"""A line-API log view: holds LogEvents, renders only the rows on screen (toolong's approach).

At 2,000 lines/s, rendering every arriving line (as ``RichLog`` does) costs more than the whole rest of
the dashboard; here appending is a list extend and a virtual-size change, and each visible row is
rendered once (cached by its absolute index) when it is first shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gloomon.domain.models import LogEvent, LogKind
from gloomon.ui.format import Palette, pod_suffix, sanitize

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
_CONTAINERS = {"envoy-sidecar": "envoy", "gateway-proxy": "envoy"}


def event_line(event: LogEvent, palette: Palette) -> Text:
    """``20:52:32 gateway-proxy/x2k4p sds   ▲ message``: fixed columns, the message kept literal.

    Known kinds (SDS update, certgen phase, TLS verify failure, xDS stream closed…) are highlighted by
    colour and weight; the level shows as a mark (▲ warning, ✖ error) and as the message's colour.
    """
    line = Text(no_wrap=True)
    line.append(event.ts.strftime("%H:%M:%S ") if event.ts else "--:--:-- ", style=palette.muted)
    origin = event.component.value if event.component else event.container
    who = f"{origin}/{pod_suffix(event.pod)}"
    line.append(f"{sanitize(who)[:21]:<21} ", style=palette.accent if event.component else palette.muted)
    container = _CONTAINERS.get(event.container, event.container)
    line.append(f"{sanitize(container)[:7]:<7} ", style=palette.muted)
    level = event.level.lower()
    line.append(f"{_LEVEL_MARKS.get(level, ' ')} ", style=level_style(level, palette) + Style(bold=True))
    tone = HIGHLIGHTED_KINDS.get(event.kind)
    style = getattr(palette, tone) + Style(bold=True) if tone else level_style(level, palette)
    line.append(sanitize(event.message), style=style)
    return line


#: trim the list in chunks, not on every append
_SLACK = 512


class LogView(ScrollView, can_focus=True):
    """Bounded list of events; ``render_line`` formats visible rows with :func:`log_pane.event_line`."""

    def __init__(self, *, max_lines: int, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max_lines
        self.events: list[LogEvent] = []
        self._start = 0  # absolute index of events[0]
        self._cache: LRUCache[int, Strip] = LRUCache(1024)
        self._palette: Palette | None = None
        self._follow = True

    def append(self, events: Sequence[LogEvent], *, follow: bool) -> None:
        self._follow = follow
        self.events.extend(events)
        if len(self.events) > self.max_lines + _SLACK:
            removed = len(self.events) - self.max_lines
            del self.events[:removed]
            self._start += removed
            if not follow:
                self.scroll_to(y=max(self.scroll_y - removed, 0), animate=False, immediate=True)
        self.virtual_size = Size(self.size.width, len(self.events))
        if follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()

    def clear(self) -> None:
        self._start += len(self.events)
        self.events = []
        self._cache.clear()
        self.virtual_size = Size(self.size.width, 0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.events))
        if self._follow:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True, x_axis=False)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        style = self.rich_style
        if index >= len(self.events):
            return Strip.blank(width, style)
        key = self._start + index
        strip = self._cache.get(key)
        if strip is None:
            if self._palette is None:
                self._palette = Palette.from_variables(self.app.theme_variables)
            text: Text = event_line(self.events[index], self._palette)
            segments = [
                Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)
            ]
            strip = Strip(segments, text.cell_len)
            self._cache[key] = strip
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def visible_text(self) -> list[str]:
        """The rows on screen as plain text (what the user reads)."""
        return [self.render_line(y).text.rstrip() for y in range(self.size.height)]
