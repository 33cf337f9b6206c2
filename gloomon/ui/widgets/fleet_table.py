"""The fleet table: one row per target, keyed ``context/namespace/pod``, updated by diffing.

A refresh never rebuilds the table: rows that vanished are removed, changed cells are updated in place
and new rows appended (then the order restored), all inside ``batch_update`` — so the cursor and the
scroll position survive every poll (dolphie's Processlist). Columns collapse with the width.

A row whose target a poll left as it was keeps its cells (:mod:`gloomon.ui.widgets.fleet_rows`); only
its time left, which moves with the clock, is drawn again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from gloomon.domain.cells import name_words, short_pod
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import COMPONENT_ORDER, ForwardStatus, TargetStatus
from gloomon.ui.format import (
    Palette,
    bundle_cell,
    count_cell,
    keep_end,
    literal,
    phase_cell,
    short_version,
    sync_cell,
    time_left,
    xds_cell,
)
from gloomon.ui.widgets.fleet_rows import DrawnRow, row_key, same_text
from gloomon.ui.widgets.kept_cells import KeptCellsTable


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int
    #: the narrowest layout that still shows the column: "compact" (all), "medium" or "wide".
    level: str


COLUMNS: tuple[Column, ...] = (
    Column("component", "component", 14, "compact"),
    Column("pod", "pod", 11, "compact"),
    Column("forward", "fwd", 6, "wide"),
    Column("envoy", "envoy", 7, "wide"),
    Column("serial", "leaf", 9, "medium"),
    Column("left", "time left", 11, "compact"),
    Column("bundle", "bundle", 14, "medium"),
    Column("phase", "phase", 13, "compact"),
    Column("sync", "in sync", 11, "compact"),
    Column("sds", "sds ver", 9, "wide"),
    Column("xds", "xDS", 11, "compact"),
    Column("tls", "tls", 3, "medium"),
)
#: every column at 120 (the common terminal) with one cell to spare for the vertical scrollbar
WIDE_WIDTH = 120
MEDIUM_WIDTH = 100
#: the bundle column's fingerprint digits (``2× 78cd ◆3bb5``): enough to tell two CAs apart
BUNDLE_DIGITS = 4
#: the widest the pod column grows into the room a wide terminal leaves (a whole pod name fits)
POD_MAX_WIDTH = 48
#: the widest the context column gets (longer names are cut with "…", the full one is in the details)
CONTEXT_MAX_WIDTH = 14

_LEVELS = {"compact": 0, "medium": 1, "wide": 2}

_FORWARD_WORDS = {
    ForwardStatus.UP: "up",
    ForwardStatus.CONNECTING: "conn…",
    ForwardStatus.RECONNECTING: "retry",
    ForwardStatus.DOWN: "down",
    ForwardStatus.DIRECT: "—",  # a --target URL: polled as given, there is no port-forward
}


def layout_for_width(width: int) -> str:
    """Which columns fit: all at 120+; at 100+ all but the port-forward state and the two versions;
    below, the essentials (component, pod, time left, phase, sync, xDS: 71 cells, fits 80)."""
    if width >= WIDE_WIDTH:
        return "wide"
    if width >= MEDIUM_WIDTH:
        return "medium"
    return "compact"


def layout_width(layout: str) -> int:
    """The cells the columns of a layout take together."""
    return sum(column.width for column in COLUMNS if _LEVELS[column.level] <= _LEVELS[layout])


def pod_width(layout: str, width: int, longest: int) -> int:
    """The pod column's width at a terminal ``width``: wide enough for the ``longest`` pod name (and the
    gap) as far as the room the layout's columns leave allows (one cell kept for the scrollbar), never
    narrower than its own, never wider than :data:`POD_MAX_WIDTH`."""
    own = _width("pod")
    room = own + max(width - 1 - layout_width(layout), 0)
    return max(own, min(longest + 1, room, POD_MAX_WIDTH))


def sort_key(target: TargetStatus, contexts: Sequence[str] = ()) -> tuple[int, int, str, str]:
    """Grouped by context (in the order they are watched) when several are, then by component and pod."""
    component = target.ref.component
    order = COMPONENT_ORDER.index(component) if component in COMPONENT_ORDER else len(COMPONENT_ORDER)
    group = contexts.index(target.ref.context) if target.ref.context in contexts else len(contexts)
    return (group if len(contexts) > 1 else 0, order, target.ref.pod, target.ref.context)


def context_width(contexts: Sequence[str]) -> int:
    """The context column's width when several contexts are watched (0: no column): the longest name
    and the gap, at least its label's ("context"), at most :data:`CONTEXT_MAX_WIDTH` cells."""
    if len(contexts) < 2:
        return 0
    return max(len("context") + 1, min(max(len(c) for c in contexts) + 1, CONTEXT_MAX_WIDTH))


def row_cells(target: TargetStatus, now: datetime, palette: Palette, policy: HealthPolicy) -> dict[str, Text]:
    """Every cell of one target's row, as Rich Text (remote strings stay literal)."""
    return _row_cells(target, time_left(target.leaf, now, palette, policy, compact=True), palette)


def _row_cells(target: TargetStatus, left: Text, palette: Palette) -> dict[str, Text]:
    """The row's cells around its time-left cell ``left`` (copied: an unreachable row mutes its cells)."""
    forward = target.ref.forward
    forward_text = Text(_FORWARD_WORDS.get(forward.status, forward.status.value) if forward else "—")
    if forward is not None:
        forward_text.stylize(
            palette.ok
            if forward.status in (ForwardStatus.UP, ForwardStatus.DIRECT)
            else palette.error
            if forward.status is ForwardStatus.DOWN
            else palette.warn
        )
    cells = {
        "context": literal(target.ref.context),
        "component": literal(name_words(target.ref)),
        "pod": literal(short_pod(target.ref)),
        "forward": forward_text,
        "envoy": envoy_cell(target.envoy_version, palette),
        "serial": literal(target.leaf.short_serial) if target.leaf else Text("—"),
        "left": left.copy(),
        "bundle": bundle_cell(target.bundle, target.verdict.signer_index, palette, digits=BUNDLE_DIGITS),
        "phase": phase_cell(target, palette),
        "sync": sync_cell(target, palette),
        "sds": short_version(target.sds_version, _width("sds") - 1),
        "xds": xds_cell(target, palette, _width("xds") - 1),
        "tls": count_cell(target.tls_errors, palette),
    }
    if target.stale_since is not None:  # the last observation, shown while the API is unreachable
        for cell in cells.values():
            cell.stylize(palette.muted)
        cells["forward"] = Text("stale", style=palette.warn)
    if not target.reachable:
        reason = (target.fetch.error if target.fetch else None) or (forward.error if forward else None)
        for cell in cells.values():
            cell.stylize(palette.muted)
        cells[REASON] = literal(f"unreachable: {reason or 'no data yet'}")
        cells[REASON].stylize(palette.muted)
    return cells


def envoy_cell(version: str | None, palette: Palette) -> Text:
    """``1.40.0``: the release without a build suffix (``1.40.0-dev`` → ``1.40.0``); anything else is
    shown literally and cut with "…" by the column (never silently, a cut version would read as another)."""
    if not version:
        return Text("—", style=palette.muted)
    release = _RELEASE.match(version)
    return literal(release.group() if release else version)


_RELEASE = re.compile(r"\d+\.\d+\.\d+")


def _width(key: str) -> int:
    return next(column.width for column in COLUMNS if column.key == key)


REASON = "_reason"
#: the columns an unreachable row's reason flows across, in order (those visible in the layout).
_REASON_COLUMNS = ("serial", "left", "bundle", "phase", "sync", "sds", "xds", "tls")


def row_values(row: dict[str, Text], columns: list[Column]) -> list[Text]:
    """The row's cells for the visible columns; an unreachable row's reason flows across the columns
    after the forward state, so it is read whole instead of cut to one cell."""
    values = [
        _keep_end(row[column.key], column.width)
        if column.key == "pod"
        else FleetTable._fit(row[column.key], column.width)
        for column in columns
    ]
    reason = row.get(REASON)
    if reason is not None:
        rest = reason
        for index, column in enumerate(columns):
            if column.key in _REASON_COLUMNS:
                values[index], rest = rest[: column.width], rest[column.width :]
    return values


def _keep_end(cell: Text, width: int) -> Text:
    """Fit a pod name by cutting its start (``…b6c5-x2k4p``): the end is what differs between replicas;
    the last character of the column stays blank (the gap)."""
    if cell.cell_len < width:
        return cell
    fitted = Text(keep_end(cell.plain, width - 1), style=cell.style)  # the plain text is literal already
    for span in cell.spans:  # a whole-cell style (an unreachable row's muting) carries over
        if span.start == 0 and span.end >= len(cell):
            fitted.stylize(span.style)
    return fitted


class FleetTable(KeptCellsTable[Text]):
    """The targets of the current snapshot; the cursor row is the selected target."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Details", tooltip="Full details of the selected target"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0)
        self._layout = ""
        self._pod_width = _width("pod")
        self._context_width = 0  # no context column: one context watched
        self._width = 0
        self._cells: dict[str, dict[str, Text]] = {}
        self._order: list[str] = []
        self._rows: dict[str, DrawnRow] = {}  # the rows as the last refresh drew them

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def set_layout(self, layout: str, width: int | None = None) -> None:
        """Rebuild the columns for another width class or terminal ``width`` (the pod column takes the
        room left beyond the others, as far as its names need), keeping rows and the selected target."""
        if width is not None:
            self._width = width
        longest = max((len(row["pod"].plain) for row in self._cells.values()), default=0)
        pod = pod_width(layout, self._width - self._context_width, longest)
        if layout != self._layout or pod != self._pod_width:
            self._rebuild(layout, pod)

    def _rebuild(self, layout: str, pod: int) -> None:
        """New columns (``pod`` wide for the pod names), every row added again, the selection kept."""
        selected = self.selected_key
        self._layout = layout
        self._pod_width = pod
        cells = self._cells
        self.clear(columns=True)
        for column in self._visible_columns():
            self.add_column(Text(column.label, style=Style(bold=True)), key=column.key, width=column.width)
        self._cells = {}
        self._order = []
        for key, row in cells.items():
            self._add_row(key, row)
        self._cells = cells
        self._order = list(cells)
        self.select_key(selected)

    def _visible_columns(self) -> list[Column]:
        level = _LEVELS[self._layout or "wide"]
        context = (
            [Column("context", "context", self._context_width, "compact")] if self._context_width else []
        )
        return context + [
            replace(column, width=self._pod_width) if column.key == "pod" else column
            for column in COLUMNS
            if _LEVELS[column.level] <= level
        ]

    def _add_row(self, key: str, row: dict[str, Text]) -> list[Text]:
        """Add the row; the values it holds, fitted to the visible columns."""
        values = row_values(row, self._visible_columns())
        self.add_row(*values, key=key)
        return values

    @staticmethod
    def _fit(cell: Text, width: int) -> Text:
        """Leave the last character of every column blank (the gap), with "…" when cut."""
        if cell.cell_len < width:
            return cell
        fitted = cell.copy()
        fitted.truncate(width - 1, overflow="ellipsis")
        return fitted

    def select_key(self, key: str | None) -> None:
        if key is None:
            return
        try:
            index = self.get_row_index(key)
        except RowDoesNotExist:
            return
        self.move_cursor(row=index, animate=False, scroll=False)

    def show_targets(
        self,
        targets: tuple[TargetStatus, ...],
        now: datetime,
        palette: Palette,
        policy: HealthPolicy,
        contexts: Sequence[str] = (),
    ) -> None:
        """Diff the new targets into the table: remove, update changed cells, add, re-sort if needed.
        With several ``contexts`` watched, a context column comes first and rows are grouped by it."""
        if not self._layout:
            self.set_layout("wide")
        wanted = context_width(contexts)
        if wanted != self._context_width:  # the columns change: every row is redrawn
            self._context_width = wanted
            self._rebuild(self._layout, self._pod_width)
        ordered = sorted(targets, key=lambda target: sort_key(target, contexts))
        drawn: dict[str, tuple[tuple[object, ...], Text, DrawnRow | None]] = {}  # key, time left, kept row
        new_rows: dict[str, dict[str, Text]] = {}
        for target in ordered:
            target_key = row_key(target)
            left = time_left(target.leaf, now, palette, policy, compact=True)
            kept = self._rows.get(target.key)
            if kept is not None and not kept.holds(target_key, palette, policy, left):
                kept = None
            drawn[target.key] = (target_key, left, kept)
            new_rows[target.key] = kept.cells if kept is not None else _row_cells(target, left, palette)
        new_order = list(new_rows)
        selected = self.selected_key
        visible = self._visible_columns()
        with self.app.batch_update():
            longest = max((len(row["pod"].plain) for row in new_rows.values()), default=0)
            pod = pod_width(self._layout, self._width - self._context_width, longest)
            if pod != self._pod_width:  # the pod column resizes to the new names: every row is redrawn
                self._cells = new_rows
                self._rebuild(self._layout, pod)
                visible = self._visible_columns()
            for key in [key for key in self._cells if key not in new_rows]:
                self.remove_row(key)
                del self._cells[key]
            columns = tuple(visible)
            rows: dict[str, DrawnRow] = {}
            for key, row in new_rows.items():
                drawn_key, left, kept = drawn[key]
                old = self._cells.get(key)
                if old is None:
                    values = self._add_row(key, row)
                elif kept is not None and kept.columns == columns:  # the row as it was: nothing to do
                    values = kept.values
                else:
                    last = self._rows.get(key)
                    fitted = last is not None and last.columns == columns
                    before = last.values if last is not None and fitted else row_values(old, visible)
                    values = row_values(row, visible)
                    for column, was, value in zip(visible, before, values, strict=True):
                        if not same_text(was, value):
                            self.update_cell(key, column.key, value)
                rows[key] = DrawnRow(drawn_key, palette, policy, left, row, columns, values)
            self._cells = new_rows
            self._rows = rows
            current_order = [key for key in self._order if key in new_rows]
            current_order += [key for key in new_order if key not in current_order]
            if current_order != new_order:
                scroll_y = self.scroll_y
                self.clear()
                for key in new_order:
                    self._add_row(key, new_rows[key])
                self.select_key(selected)
                self.scroll_to(y=scroll_y, animate=False, immediate=True)
            self._order = new_order
            if selected in new_rows and self.selected_key != selected:
                self.select_key(selected)
