"""What every gloomon screen shares: the App's state, a header bar whose poll age ticks once a second.

The 1 Hz timer belongs to the screen, not to the App: Textual stops a screen's timers and its message
loop before it removes the screen's widgets, so a tick never reaches a screen whose header bar is gone
(a DetailScreen being torn down raised ``NoMatches: HeaderBar``). :attr:`GloomonScreen.ready` turns
false at that same moment, and the App's redraws go through it, so they never query a dying screen.
The clock runs only while the screen is in front: it pauses when another screen covers it or a kept view
is put away (:mod:`gloomon.ui.screens.overlays`), and catches up when the screen comes back.
A covered screen is not redrawn either: a snapshot that arrives while it is covered marks it behind
(:meth:`GloomonScreen.show_state`), and it is drawn once, from the state as it is then, when it comes back
in front (a layout and a paint per snapshot of a screen nobody sees were most of a key's wait).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.screen import Screen
from textual.timer import Timer

from gloomon.ui.state import ViewState
from gloomon.ui.widgets.header_bar import HeaderBar
from gloomon.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from textual import getters

    from gloomon.ui.app import GloomonApp

TICK_SECONDS = 1.0


class GloomonScreen(Screen[None]):
    """A screen drawn from the App's :class:`ViewState`: ``refresh_view`` on every snapshot,
    ``tick`` once a second while it is the screen in front."""

    if TYPE_CHECKING:
        app = getters.app(GloomonApp)

    def __init__(self, state: ViewState) -> None:
        super().__init__()
        self.state = state
        self.now: datetime | None = None
        self._mounted = False
        self._ticker: Timer | None = None
        self._behind = False  # the state changed while it was covered: redraw when back in front

    @property
    def ready(self) -> bool:
        """Its widgets exist: mounted, and not being torn down (the message loop stops first)."""
        return self._mounted and self.is_running

    def on_mount(self) -> None:
        self._ticker = self.set_interval(TICK_SECONDS, self._tick)
        self._mounted = True
        self.refresh_view(self.app.clock())

    def on_screen_suspend(self) -> None:
        """Hidden (under another screen, or a kept view put away): its clock stops."""
        if self._ticker is not None:
            self._ticker.pause()

    def on_screen_resume(self) -> None:
        """In front again: the clock runs, and the poll age is brought up to now at once."""
        if self._ticker is not None:
            self._ticker.resume()
        if self.is_active:  # else another screen came in front before this one could catch up
            if self._behind:
                self.refresh_view(self.app.clock())
            else:
                self.tick(self.app.clock())
        for footer in self.query(KeyFooter):  # its hints were not kept up while covered
            footer.refresh_hints()

    def _tick(self) -> None:
        if self.is_active:  # in front: not merely under it (``is_current`` counts the screen below)
            self.tick(self.app.clock())

    @property
    def seen(self) -> bool:
        """In front, or under screens that all let it show through (a translucent modal: the command
        palette). Textual's ``is_current`` also counts the screen right under an opaque one."""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        return all(screen.styles.background.a < 1 for screen in stack[stack.index(self) + 1 :])

    def show_state(self, now: datetime) -> None:
        """The state changed (a snapshot, a failure): redraw now if the screen is :attr:`seen`, else once
        when it comes back in front."""
        if self.seen:
            self.refresh_view(now)
        else:
            self._behind = True

    def refresh_view(self, now: datetime) -> None:
        """Redraw the header and the body from the state; nothing once the screen is being torn down."""
        if not self.ready:
            return
        self._behind = False
        self.now = now
        self.query_one(HeaderBar).show(self.state.snapshot, now, self.state.failure)
        self.draw(now)

    def tick(self, now: datetime) -> None:
        """Only the header's poll age moves; nothing once the screen is being torn down."""
        if not self.ready:
            return
        self.now = now
        self.query_one(HeaderBar).show(self.state.snapshot, now, self.state.failure)

    def draw(self, now: datetime) -> None:
        """Redraw the body from the state."""
