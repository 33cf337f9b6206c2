"""Full-screen views over the dashboard: details, timeline, expiry, findings, logs. Escape goes back.

Each keeps the header bar (so status and phase stay in sight) and redraws from the App's state on every
snapshot while it is open, exactly like the dashboard.

The App composes each view once and keeps it (installed) while it is closed: a key that opens a view
costs a redraw of its body, not a new screen (compose, styles, layout: about a frame's worth per key).
A kept view is not redrawn while closed; :meth:`OverlayScreen.reopen` brings it up to the state and back
to its top before it is shown again, so it opens as a new one would. The logs view is built anew each
time: it replays the ring and takes the wrap of the pane below it.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll

from gloomon.ui.screens.base import GloomonScreen
from gloomon.ui.state import ViewState
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.expiry_chart import ExpiryChart
from gloomon.ui.widgets.findings_list import FindingsList
from gloomon.ui.widgets.header_bar import HeaderBar
from gloomon.ui.widgets.key_footer import KeyFooter
from gloomon.ui.widgets.log_pane import LogPane
from gloomon.ui.widgets.rotation_timeline import RotationTimeline


class OverlayScreen(GloomonScreen):
    """Header bar, one body widget, footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", tooltip="Back to the dashboard")
    ]

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield from self.compose_body()
        yield KeyFooter(compact=True)

    #: the body's scrolling widget, which a reopened view scrolls back to its top
    SCROLLS = "#view-body"

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def reopen(self) -> None:
        """About to be shown again (a kept view): from the top, drawn from the state as it is now (its
        first showing is drawn on mount)."""
        if not self.ready:
            return
        self.query_one(self.SCROLLS).scroll_home(animate=False, immediate=True)
        self.refresh_view(self.app.clock())


class DetailScreen(OverlayScreen):
    """The detail pane of one target, full-screen (``enter`` on a row)."""

    SCROLLS = "#detail-full"

    def __init__(self, state: ViewState, key: str) -> None:
        super().__init__(state)
        self.key = key

    def compose_body(self) -> ComposeResult:
        yield DetailPane(id="detail-full")

    def on_mount(self) -> None:
        self.query_one(DetailPane).focus()

    def draw(self, now: datetime) -> None:
        self.query_one(DetailPane).show(
            self.state.target(self.key), self.state.snapshot, now, self.state.policy
        )


class TimelineScreen(OverlayScreen):
    """The rotation timeline; it scrolls itself (line API), so 200 pods cost what is on screen."""

    def compose_body(self) -> ComposeResult:
        yield RotationTimeline(id="view-body")

    def on_mount(self) -> None:
        self.query_one(RotationTimeline).focus()

    def draw(self, now: datetime) -> None:
        self.query_one(RotationTimeline).show(self.state.history, self.state.snapshot, now)


class ExpiryScreen(OverlayScreen):
    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="view-body"):
            yield ExpiryChart()

    def draw(self, now: datetime) -> None:
        self.query_one(ExpiryChart).show(self.state.snapshot, now, self.state.policy)


class FindingsScreen(OverlayScreen):
    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="view-body"):
            yield FindingsList()

    def draw(self, now: datetime) -> None:
        self.query_one(FindingsList).show(self.state.snapshot)


class LogsScreen(OverlayScreen):
    """The logs pane full-screen; it replays the App's ring when opened, then follows live."""

    def __init__(self, state: ViewState, log_lines: int, *, wrap: bool = False) -> None:
        super().__init__(state)
        self._log_lines = log_lines
        self._wrap = wrap

    def compose_body(self) -> ComposeResult:
        yield LogPane(self.state.logs.numbered, max_lines=self._log_lines, wrap=self._wrap, id="logs-full")

    def on_mount(self) -> None:
        pane = self.query_one(LogPane)
        pane.log_view.focus()
        self.watch(pane, "wrap", self._remember_wrap, init=False)

    def draw(self, now: datetime) -> None:
        if self.state.snapshot is not None:
            self.query_one(LogPane).show_contexts(self.state.snapshot.contexts)

    def _remember_wrap(self, wrap: bool) -> None:
        self._wrap = wrap

    def on_unmount(self) -> None:
        """The wrap chosen here carries back to the logs pane underneath, as it carried in."""
        for screen in self.app.screen_stack:
            if screen is not self:
                for pane in screen.query(LogPane):
                    pane.wrap = self._wrap
