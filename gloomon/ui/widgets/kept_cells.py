"""A DataTable that renders a cell again only when the cell changed.

Textual's DataTable keys its cell cache on a counter that every ``update_cell`` bumps, so one changed
cell makes it render every visible cell again (200 targets: most of a poll's paint). A table updated by
diffing (the fleet table) replaces only the cells that changed and leaves the others' values in place;
:class:`KeptCellsTable` keeps each body cell's lines for as long as the same value object sits in it,
keyed by everything else its rendering reads (position, styles, width, height, cursor and hover, focus).
Whenever the DataTable drops its own caches (styles, cursor type, ``clear``), these go too.

It overrides the DataTable's private ``_render_cell`` and ``_clear_caches``: textual is pinned exactly
(pyproject.toml), and the behaviour is pinned by ``tests/ui/test_what_a_poll_redraws.py``.
"""

from __future__ import annotations

from typing import TypeVar

from rich.style import Style
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable

CellType = TypeVar("CellType")

#: cells kept (a 200-row table at 13 columns, with room for the cursor and hover variants)
KEPT_CELLS = 10_000


class KeptCellsTable(DataTable[CellType]):
    """A DataTable whose unchanged cells are not rendered again after another cell's update."""

    def __init__(self, **kwargs: object) -> None:
        self._kept: LRUCache[tuple[object, ...], tuple[object, SegmentLines]] = LRUCache(KEPT_CELLS)
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._kept.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._kept.clear()

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:  # the header and row labels: as DataTable does
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        cell = self.coordinate_to_cell_key(Coordinate(row_index, column_index))
        value = self.get_cell(*cell)
        key = (
            row_index,  # in the lines' mouse metadata
            column_index,
            cell,
            id(value),
            self.get_row_height(cell.row_key),
            base_style,
            width,
            cursor,
            hover,
            self._show_hover_cursor,
            self._pseudo_class_state,
        )
        kept = self._kept.get(key)
        if kept is not None and kept[0] is value:
            return kept[1]
        lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._kept[key] = (value, lines)
        return lines
