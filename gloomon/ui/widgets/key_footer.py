"""The footer of key hints: Textual's :class:`Footer`, rebuilt only when the hints it shows change.

Textual's footer recomposes (a new widget per key: styles, layout, render) whenever its screen signals
that its bindings may have changed, which it does on every focus change, screen switch and many key
presses: about six rebuilds of a dozen keys per key press, the largest part of what a key cost. This one
compares what it would show with what it shows, and rebuilds only on a difference, and only while its
screen is in front: the App's ``check_action`` answers for the screen in front (``/`` exists only where
there are logs), so a covered screen's hints would flip each time another screen comes and goes. Its
screen calls :meth:`KeyFooter.refresh_hints` when it comes back to the front.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

#: what one hint shows: key, key display, description, action, enabled, tooltip
_Hint = tuple[str, str, str, str, bool, str]


class KeyFooter(Footer):
    """A :class:`Footer` that recomposes only when its hints differ from the ones on show."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._shown: tuple[_Hint, ...] | None = None
        self._rebuilding = False

    def hints(self) -> tuple[_Hint, ...]:
        """What the screen's active bindings would show now: the keys shown, and the command palette's."""
        app = self.app
        return tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip)
            for (key, (_, binding, enabled, tooltip)) in self.screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        )

    def compose(self) -> ComposeResult:
        self._rebuilding = False
        if self._bindings_ready:
            self._shown = self.hints()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.refresh_hints()

    def refresh_hints(self) -> None:
        """Rebuild after the next refresh if the hints changed (nothing while the screen is covered)."""
        self.call_after_refresh(self._recompose_if_changed)

    def _recompose_if_changed(self) -> None:
        if not (self.is_attached and self._bindings_ready and self.screen.is_active):
            return
        if not self._rebuilding and self.hints() != self._shown:
            self._rebuilding = True
            self.call_later(self.recompose)  # from its own message loop: compose binds to the footer
