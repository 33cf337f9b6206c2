"""The fleet table's layouts fit their widths, and every column shows at 120 cells without scrolling."""

from __future__ import annotations

from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.widgets.fleet_table import (
    COLUMNS,
    FleetTable,
    layout_for_width,
    layout_width,
)
from tests.ui.harness import SIZE


def test_layouts_fit_their_widths() -> None:
    """All columns at 120 (one cell spare for the scrollbar), no versions/fwd at 100, essentials at 80."""
    assert layout_for_width(120) == "wide" and layout_width("wide") <= 119
    assert layout_for_width(100) == "medium" and layout_width("medium") <= 99
    assert layout_for_width(99) == "compact" and layout_width("compact") <= 79


async def test_every_column_shows_at_120_without_scrolling() -> None:
    app = GloomonApp(clock=fx.CLOCK)
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        assert [str(c.value) for c in table.columns] == [column.key for column in COLUMNS]
        assert table.virtual_size.width <= table.size.width
        row = fx.lagging().targets[0].key
        assert table.get_cell(row, "envoy").plain == "1.40.0"
        assert len(table.get_cell(row, "sds").plain) == 8
