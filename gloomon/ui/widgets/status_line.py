"""A one-line status widget, repainted without a layout pass (the logs pane's "following · N lines")."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


class StatusLine(Widget):
    """One line of status; :meth:`show` repaints only when the text or its styles changed, because it is
    called with every log batch (many per second) and a refresh per call would cost more than the logs."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()

    def show(self, text: Text) -> None:
        if text.plain != self._text.plain or text.spans != self._text.spans:
            self._text = text
            self.refresh()

    def render(self) -> Text:
        return self._text
