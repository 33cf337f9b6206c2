"""The logs pane: merged sds / envoy-sidecar / certgen events, newest at the bottom.

Follows by default; scrolling up (``PageUp``…) pauses and counts "+N new" until the bottom is reached
again, ``End`` or ``f``; no arriving batch moves a paused reader's view. ``w`` folds long messages instead
of cutting them. ``/`` opens a filter: words match message, pod, container and kind; ``@name`` keeps one
component (``@gw``, ``@certgen``); with several contexts each line says its context, which words match
too (``east x2k4p``: that cluster's pod). ``following`` and ``wrap`` live here, as reactives bound down to the
:class:`LogView`, and so do the keys that change them. Bounded: the view keeps ``max_lines``; the App
keeps the mirror of the session's log ring it is replayed from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Input

from gloomon.domain.model import LogBatch, LogEvent
from gloomon.domain.words import counted
from gloomon.ui.format import Palette, sanitize
from gloomon.ui.widgets.filter_input import FilterInput
from gloomon.ui.widgets.log_view import LogView, context_width, source_label
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
            haystack = (
                f"{event.message} {event.pod} {event.container} {event.kind.value} {event.context or ''}"
            ).lower()
            return all(word in haystack for word in self.words)
        return True


class LogPane(Vertical):
    """A filter line, the line-API log view, and a status line (following / paused +N new)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_follow", "Follow", tooltip="Follow the logs on/off", id="gloomon.follow"),
        Binding("w", "toggle_wrap", "Wrap", tooltip="Wrap long log lines on/off", id="gloomon.wrap"),
        Binding("end", "follow", "Newest", tooltip="Go to the newest line and follow", show=False),
    ]

    following: reactive[bool] = reactive(True, init=False)
    """Keep the newest line in view; false while the user reads older lines."""
    wrap: reactive[bool] = reactive(False, init=False)
    """Fold long messages onto continuation rows instead of cutting them at the edge."""
    context_width: reactive[int] = reactive(0, init=False)
    """The cells of the context column (0: one context watched, no column); see :meth:`show_contexts`."""

    def __init__(
        self,
        ring: Callable[[], Iterable[tuple[int, LogEvent]]],
        *,
        max_lines: int = 5000,
        wrap: bool = False,
        id: str | None = None,
    ) -> None:
        """``ring``: the numbered lines to replay (``LogMirror.numbered``)."""
        super().__init__(id=id)
        self._ring = ring
        self.border_title = "Logs"
        self.max_lines = max_lines
        self.set_reactive(LogPane.wrap, wrap)
        self.pending = 0
        self.filter = LogFilter()
        self._palette: Palette | None = None
        self._mounted = False

    def compose(self) -> ComposeResult:
        yield FilterInput(
            placeholder="filter: words · @component (enter: apply, esc: close)", id="log-filter"
        )
        yield LogView(max_lines=self.max_lines).data_bind(
            follow=LogPane.following, wrap=LogPane.wrap, context_width=LogPane.context_width
        )
        yield StatusLine(id="log-status")

    def on_mount(self) -> None:
        self.filter_input.display = False
        self.filter_input.cursor_blink = False
        self.watch(self.log_view, "scroll_y", self._scrolled, init=False)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._mounted = True
        self.replay(self._ring())

    @property
    def log_view(self) -> LogView:
        return self.query_one(LogView)

    @property
    def filter_input(self) -> Input:
        return self.query_one("#log-filter", Input)

    @property
    def shown(self) -> int:
        """How many lines the view holds (those that pass the filter)."""
        return len(self.log_view.events)

    @property
    def palette(self) -> Palette:
        if self._palette is None:
            self._palette = Palette.from_variables(self.app.theme_variables)
        return self._palette

    def _theme_changed(self, _theme: object) -> None:
        self._palette = None
        self._update_status()

    def take(self, batch: LogBatch) -> None:
        """Show what the ring took in: rows from ``batch.start`` on are replaced, nothing above them
        moves; while paused, the lines gained are counted as "+N new"."""
        if not self._mounted:
            return  # the ring is replayed on mount
        matches = self.filter.matches
        numbered = [(n, e) for n, e in enumerate(batch.events, batch.start) if matches(e)]
        gained = self.log_view.take(batch.start, numbered)
        if not self.following:
            self.pending += max(gained, 0)
        self._update_status()

    def replay(self, ring: Iterable[tuple[int, LogEvent]]) -> None:
        """Re-render from the App's mirror of the ring (after a filter change or when the pane opens)."""
        view = self.log_view
        view.clear()
        self.pending = 0
        numbered = [(n, e) for n, e in ring if self.filter.matches(e)][-self.max_lines :]
        view.take(numbered[0][0] if numbered else 0, numbered)
        self._update_status()

    def show_contexts(self, contexts: Sequence[str]) -> None:
        """The contexts watched: with several, each line says which one it came from."""
        self.context_width = context_width(contexts)

    def set_filter(self, text: str) -> None:
        """Apply a filter and re-render the ring through it."""
        self.filter = LogFilter.parse(text)
        self.replay(self._ring())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.close_filter()

    def on_filter_input_closed(self, event: FilterInput.Closed) -> None:
        event.stop()
        self.close_filter()

    def action_toggle_follow(self) -> None:
        self.following = not self.following

    def action_follow(self) -> None:
        """``End``: the newest line, followed from now on (at once: lines may arrive meanwhile)."""
        self.following = True
        self.log_view.follow_end()

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def watch_following(self, following: bool) -> None:
        if following:
            self.pending = 0
        self._update_status()

    def watch_wrap(self) -> None:
        self._update_status()

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
            self.following = True
        elif not at_bottom and self.following and view.max_scroll_y > 0:
            self.following = False

    def _update_status(self) -> None:
        if not self._mounted:
            return
        palette = self.palette
        status = Text(no_wrap=True, overflow="ellipsis")
        if self.following:
            status.append("● following", style=palette.ok)
        else:
            status.append("‖ paused", style=palette.warn + Style(bold=True))
            if self.pending:
                status.append(f"  +{self.pending} new", style=palette.warn + Style(bold=True))
            status.append("  (f, or End in the logs, to follow)", style=palette.muted)
        status.append(f"  · {counted(min(self.shown, self.max_lines), 'line')}", style=palette.muted)
        status.append("  · wrap" if self.wrap else "  · w: wrap", style=palette.muted)
        if self.filter.active:
            status.append("  · filter: ", style=palette.muted)
            status.append(sanitize(self.filter_input.value), style=palette.accent)
        self.query_one(StatusLine).show(status)
