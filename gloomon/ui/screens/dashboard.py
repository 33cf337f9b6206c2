"""The main screen: header, banner, fleet table, the validation webhook's rows, and below them the detail
pane beside the logs.

Breakpoints hide the detail pane under 100 columns and collapse table columns, so 80×24 stays usable.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from gloomon.domain.model import Severity
from gloomon.ui.format import Palette, literal
from gloomon.ui.screens.base import GloomonScreen
from gloomon.ui.state import Banner, ViewState, banner_for
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.fleet_table import FleetTable, layout_for_width
from gloomon.ui.widgets.header_bar import HeaderBar
from gloomon.ui.widgets.key_footer import KeyFooter
from gloomon.ui.widgets.log_pane import LogPane
from gloomon.ui.widgets.webhook_panel import WebhookPanel


class DashboardScreen(GloomonScreen):
    """Everything at a glance; the table's cursor picks the target the detail pane shows."""

    HORIZONTAL_BREAKPOINTS: list[tuple[int, str]] | None = [  # noqa: RUF012 (declared so by Textual)
        (0, "-narrow"),
        (100, "-normal"),
        (140, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "details", "Details", tooltip="Full details of the selected target"),
        # The logs pane's own keys, from whichever pane has focus (the pane's bindings win inside it).
        Binding("f", "toggle_follow", "Follow", tooltip="Follow the logs on/off", id="gloomon.follow"),
        Binding("w", "toggle_wrap", "Wrap", tooltip="Wrap long log lines on/off", id="gloomon.wrap"),
        Binding("tab", "app.focus_next", "Next pane", tooltip="Move focus to the next pane", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev pane", show=False),
    ]

    def __init__(self, state: ViewState, log_lines: int) -> None:
        super().__init__(state)
        self._log_lines = log_lines
        self._banner: Banner | None = None

    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        yield Static(id="banner")
        yield Static(Text("connecting…"), id="empty")
        yield FleetTable(id="fleet")
        yield WebhookPanel(id="webhook")
        with Horizontal(id="lower"):
            yield DetailPane(id="detail")
            yield LogPane(self.state.logs.numbered, max_lines=self._log_lines, id="logs")
        yield KeyFooter(compact=True)

    @property
    def table(self) -> FleetTable:
        return self.query_one(FleetTable)

    def on_mount(self) -> None:
        self.table.set_layout(layout_for_width(self.app.size.width), self.app.size.width)
        self.table.focus()

    def on_resize(self) -> None:
        self.table.set_layout(layout_for_width(self.size.width), self.size.width)

    def draw(self, now: datetime) -> None:
        """Below the header: banner, table (diffed), detail of the cursor row."""
        state = self.state
        self._show_banner()
        empty = self.query_one("#empty", Static)
        snapshot = state.snapshot
        is_empty = snapshot is None or not snapshot.targets
        if is_empty != empty.display or is_empty:
            empty.update(
                Text("connecting…  waiting for the first poll" if snapshot is None else "no targets")
            )
            empty.display = is_empty
            self.table.display = not is_empty
        if snapshot is not None:
            palette = Palette.from_variables(self.app.theme_variables)
            self.table.show_targets(snapshot.targets, now, palette, state.policy, snapshot.contexts)
            self.query_one(WebhookPanel).show(snapshot, now, palette, state.policy)
            self.query_one(LogPane).show_contexts(snapshot.contexts)
        self._show_detail()

    def _show_banner(self) -> None:
        found = banner_for(self.state)
        if found == self._banner:
            return
        self._banner = found
        banner = self.query_one("#banner", Static)
        banner.display = found is not None
        banner.set_class(found is not None and found.severity is Severity.CRITICAL, "-error")
        if found is not None:
            banner.update(literal(found.text))  # errors and namespaces are remote text

    def _show_detail(self) -> None:
        if self.now is None:
            return
        key = self.table.selected_key
        self.query_one(DetailPane).show(
            self.state.target(key), self.state.snapshot, self.now, self.state.policy
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_toggle_follow(self) -> None:
        self.query_one(LogPane).action_toggle_follow()

    def action_toggle_wrap(self) -> None:
        self.query_one(LogPane).action_toggle_wrap()

    def action_details(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.app.show_details(key)
