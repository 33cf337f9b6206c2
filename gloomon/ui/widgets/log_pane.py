"""The logs pane: merged sds / envoy-sidecar / certgen events, newest at the bottom.

Follows by default; scrolling up pauses and counts "+N new" until the bottom is reached again (or
``f``); ``w`` folds long messages instead of cutting them. ``/`` opens a filter: words match message,
pod, container and kind; ``@name`` keeps one component (``@gw``, ``@certgen``). Every remote string
goes through :func:`format.sanitize` (no markup, no escapes). Bounded: the pane keeps ``max_lines``;
the App keeps the event ring it is replayed from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input

from gloomon.domain.model import LogEvent
from gloomon.ui.format import Palette, sanitize
from gloomon.ui.widgets.filter_input import FilterInput
from gloomon.ui.widgets.log_view import LogView, source_label
from gloomon.ui.widgets.status_line import StatusLine


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Parsed filter text: ``@component`` tokens and free words (all must match, case-insensitive)."""

    components: tuple[str, ...] = ()
    words: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> LogFilter:
        tokens = text.lower().split()
        return cls(
            tuple(token[1:] for token in tokens if token.startswith("@") and len(token) > 1),
            tuple(token for token in tokens if not token.startswith("@")),
        )

    @property
    def active(self) -> bool:
        return bool(self.components or self.words)

    def matches(self, event: LogEvent) -> bool:
        if self.components:
            origin = (event.component.value if event.component else event.container).lower()
            short = source_label(event).split("/", 1)[0].lower()
            if not any(
                origin.startswith(name) or short.startswith(name) or event.container.lower() == name
                for name in self.components
            ):
                return False
        if self.words:
            haystack = f"{event.message} {event.pod} {event.container} {event.kind.value}".lower()
            return all(word in haystack for word in self.words)
        return True


class LogPane(Vertical):
    """A filter line, a bounded RichLog, and a status line (following / paused +N new)."""

    def __init__(
        self, ring: Sequence[LogEvent], *, max_lines: int = 5000, wrap: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self._wrap = wrap
        self._ring = ring
        self.border_title = "Logs"
        self.max_lines = max_lines
        self.following = True
        self.pending = 0
        self.shown = 0
        self.filter = LogFilter()
        self._palette: Palette | None = None
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield FilterInput(
            placeholder="filter: words · @component (enter: apply, esc: close)", id="log-filter"
        )
        yield LogView(max_lines=self.max_lines)
        yield StatusLine(id="log-status")

    def on_mount(self) -> None:
        self.filter_input.display = False
        self.filter_input.cursor_blink = False
        self.watch(self.log_view, "scroll_y", self._scrolled, init=False)
        self._mounted = True
        self.log_view.set_wrap(self._wrap)
        self.replay(self._ring)

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#log-filter", Input)

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.from_variables(self.app.theme_variables)
        return self._palette

    def add_events(self, events: Iterable[LogEvent]) -> None:
        """Append events that pass the filter; when paused, count them as "+N new"."""
        if not self._mounted:
            return  # the ring is replayed on mount
        self._write([event for event in events if self.filter.matches(event)])

    def replay(self, events: Iterable[LogEvent]) -> None:
        """Re-render from the App's event ring (after a filter change or when the pane opens)."""
        self.log_view.clear()
        self.shown = 0
        self.pending = 0
        self._write([event for event in events if self.filter.matches(event)][-self.max_lines :])
        self._update_status()

    def merge(self, ring: Iterable[LogEvent], added: Iterable[LogEvent]) -> None:
        """Re-render from the ring after late (older) events were merged into it; "+N new" keeps
        counting what arrived while paused."""
        following = self.following
        pending = self.pending + sum(1 for event in added if self.filter.matches(event))
        self.replay(ring)
        if not following:
            self.pending = pending
            self._update_status()

    def _write(self, events: list[LogEvent]) -> None:
        if not events:
            return
        self.log_view.append(events, follow=self.following)
        self.shown += len(events)
        if not self.following:
            self.pending += len(events)
        self._update_status()

    def set_filter(self, text: str) -> None:
        """Apply a filter and re-render the ring through it."""
        self.filter = LogFilter.parse(text)
        self.replay(self._ring)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close_filter()

    def on_filter_input_closed(self, event: FilterInput.Closed) -> None:
        event.stop()
        self.close_filter()

    def set_following(self, following: bool) -> None:
        self.following = following
        self.log_view.append((), follow=following)
        if following:
            self.pending = 0
            self.log_view.follow_end()
        self._update_status()

    def set_wrap(self, wrap: bool) -> None:
        """Fold long messages onto continuation rows (``w``), or cut them at the edge."""
        self.log_view.set_wrap(wrap)
        self._update_status()

    @property
    def wrapping(self) -> bool:
        return self.log_view.wrap

    def open_filter(self) -> None:
        self.filter_input.display = True
        self.filter_input.focus()

    def close_filter(self) -> None:
        if not self.filter.active:
            self.filter_input.display = False
        self.log_view.focus()

    def _scrolled(self, scroll_y: float) -> None:
        view = self.log_view
        at_bottom = scroll_y >= view.max_scroll_y - 0.5
        if at_bottom and not self.following:
            self.set_following(True)
        elif not at_bottom and self.following and view.max_scroll_y > 0:
            self.following = False
            view.follow = False
            self._update_status()

    def _update_status(self) -> None:
        palette = self.palette
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.following:
            status.append("● following", style=palette.ok)
        else:
            status.append("‖ paused", style=palette.warn + Style(bold=True))
            if self.pending:
                status.append(f"  +{self.pending} new", style=palette.warn + Style(bold=True))
            status.append("  (f or scroll to the bottom to follow)", style=palette.muted)
        status.append(f"  · {min(self.shown, self.max_lines)} lines", style=palette.muted)
        status.append("  · wrap" if self.wrapping else "  · w: wrap", style=palette.muted)
        if self.filter.active:
            status.append("  · filter: ", style=palette.muted)
            status.append(sanitize(self.filter_input.value), style=palette.accent)
        self.query_one(StatusLine).show(status)
