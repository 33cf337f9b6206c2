"""The logs pane's filter line: an Input whose escape closes the filter instead of leaving the screen."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input


class FilterInput(Input):
    """The filter line; escape posts :class:`FilterInput.Closed` (the pane hides the line and keeps the
    filter), so escape typed here never pops the screen under it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close filter", show=False)]

    class Closed(Message):
        """The user closed the filter line (escape)."""

    def action_close(self) -> None:
        self.post_message(self.Closed())
