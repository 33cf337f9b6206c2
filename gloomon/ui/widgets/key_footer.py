"""The footer of key hints: Textual's :class:`Footer`, rebuilt only when the hints it shows change.

Textual's footer recomposes (a new widget per key: styles, layout, render) whenever its screen signals
that its bindings may have changed, which it does on every focus change, screen switch and many key
presses: about six rebuilds of a dozen keys per key press, the largest part of what a key cost. This one
compares what it would show with what it shows, and rebuilds only on a difference, and only while its
screen is in front: the App's ``check_action`` answers for the screen in front (``/`` exists only where
there are logs), so a covered screen's hints would flip each time another screen comes and goes. Its
screen calls :meth:`KeyFooter.refresh_hints` when it comes back to the front.

It also fits the terminal's width: where the hints with all their words would run past the edge (the
dashboard's need 120 columns; Textual's footer scrolls the last ones out of sight: ``c`` and ``s`` at 100
columns), the words of the keys everyone knows go first (quit, the filter's ``/``, wrap, follow, the
palette, refresh, back), then the words of the others from the right. Every key stays on show.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: what one hint shows: key, key display, description, action, enabled, tooltip
_Hint = tuple[str, str, str, str, bool, str]
#: the actions whose words are dropped first when the hints do not fit, in this order
TERSE_FIRST = (
    "quit",
    "filter_logs",
    "toggle_wrap",
    "toggle_follow",
    "command_palette",
    "refresh_now",
    "app.pop_screen",
)
#: the command palette's hint has a left border (its right padding takes the place of the others' margin)
_PALETTE_EXTRA = 1


def hint_width(key_display: str, words: str) -> int:
    """Cells of one compact hint: the key, a space and its words, and a cell of margin."""
    return len(key_display) + (len(words) + 1 if words else 0) + 1


def fit(hints: list[tuple[str, str, str]], width: int) -> list[str]:
    """The words to show for each ``(action, key display, words)`` so that all fit in ``width`` cells:
    all of them when they fit; else the words of :data:`TERSE_FIRST` go first, then the others' from
    the right (a key without words still says it exists)."""
    words = [text for _, _, text in hints]

    def total() -> int:
        return sum(hint_width(display, text) for (_, display, _), text in zip(hints, words, strict=True))

    order = [i for action in TERSE_FIRST for i, hint in enumerate(hints) if hint[0] == action]
    order += [i for i in reversed(range(len(hints))) if i not in order]
    for index in order:
        if total() <= width:
            break
        words[index] = ""
    return words


class KeyFooter(Footer):
    """A :class:`Footer` that recomposes only when its hints differ from the ones on show."""

    def __init__(self, *, compact: bool = False, id: str | None = None) -> None:
        super().__init__(compact=compact, id=id)
        self._shown: tuple[tuple[_Hint, ...], int] | None = None
        self._rebuilding = False

    def hints(self) -> tuple[_Hint, ...]:
        """What the screen's active bindings would show now: the keys shown, and the command palette's."""
        app = self.app
        return tuple(
            (binding.key, app.get_key_display(binding), binding.description, binding.action, enabled, tooltip)
            for (key, (_, binding, enabled, tooltip)) in self.screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        )

    def _wanted(self) -> tuple[tuple[_Hint, ...], int]:
        return self.hints(), self.app.size.width

    def compose(self) -> ComposeResult:
        """Textual's compact footer (one key per action, the palette's on the right), fitted."""
        self._rebuilding = False
        if not self._bindings_ready:
            return
        self._shown = self._wanted()
        app = self.app
        active = self.screen.active_bindings
        first: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        shown = list(first.values())
        palette = active.get(app.COMMAND_PALETTE_BINDING) if app.ENABLE_COMMAND_PALETTE else None
        if not self.show_command_palette:
            palette = None
        hints = [(b.action, app.get_key_display(b), b.description) for b, _, _ in shown]
        if palette is not None:
            hints.append(("command_palette", app.get_key_display(palette[1]), palette[1].description))
        words = fit(hints, app.size.width - (_PALETTE_EXTRA if palette is not None else 0))
        for (binding, enabled, tooltip), text in zip(shown, words, strict=False):
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                text,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            _, binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                words[-1],
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self) -> None:
        self.refresh_hints()

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
        if not self._rebuilding and self._wanted() != self._shown:
            self._rebuilding = True
            self.call_later(self.recompose)  # from its own message loop: compose binds to the footer
