"""The rotation timeline: the secret's phases and every pod's, on one time axis, with pickup lags.

One row for the secret, one for certgen's phase log lines (▲), one per pod; each column is a slice of
time coloured by the phase in effect. On the right, how long each pod took to pick up each change.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gloomon.domain.models import FleetSnapshot, Phase
from gloomon.ui.format import Palette, human_duration, literal
from gloomon.ui.history import RotationHistory, SecretChange, TargetSample
from gloomon.ui.widgets.header_bar import cron_words

GLYPHS = {
    Phase.STEADY: "█",
    Phase.CA_ADDED: "▓",
    Phase.LEAF_ROTATED: "▒",
    Phase.STALLED: "░",
    Phase.BROKEN: "█",
    Phase.UNKNOWN: "·",
}
LABEL_WIDTH = 24
LAG_WIDTH = 34


def _cell(phase: Phase | None, palette: Palette) -> tuple[str, Style]:
    if phase is None:
        return " ", palette.muted
    return GLYPHS[phase], palette.phase(phase)


def _axis(times: list[datetime], palette: Palette) -> Text:
    width = len(times)
    axis = Text(" " * LABEL_WIDTH)
    marks = [0, width // 2, width - 1] if width > 30 else [0, width - 1]
    line = [" "] * width
    for position in marks:
        label = f"│{times[position]:%H:%M:%S}"
        start = min(position, max(width - len(label), 0))
        line[start : start + len(label)] = list(label)[: width - start]
    axis.append("".join(line)[:width], style=palette.muted)
    return axis


def timeline_renderable(
    history: RotationHistory, snapshot: FleetSnapshot | None, now: datetime, width: int, palette: Palette
) -> RenderableType:
    """The whole timeline for ``width`` columns."""
    start = history.start
    if snapshot is None or start is None:
        return Text("no history yet: the timeline fills in as snapshots arrive", style=palette.muted)
    span = max((now - start).total_seconds(), 60.0)
    columns = max(width - LABEL_WIDTH - LAG_WIDTH - 2, 10)
    step = span / columns
    times = [start + timedelta(seconds=step * (index + 1)) for index in range(columns)]
    lines: list[Text] = []
    title = Text.assemble(("Rotation timeline ", palette.accent + Style(bold=True)))
    title.append(f"{start:%H:%M:%S} → {now:%H:%M:%S} ({human_duration(span)})   ", style=palette.muted)
    title.append(cron_words(snapshot, now), style=palette.text)
    lines.append(title)
    axis = _axis(times, palette)
    axis.append("  pickup lag, last changes", style=palette.muted)
    lines.append(axis)
    secret_row = Text(f"{'secret':<{LABEL_WIDTH}}", style=Style(bold=True))
    _append_runs(secret_row, [_cell(phase, palette) for phase in history.secret_along(times)])
    lines.append(secret_row)
    certgen_row = Text(f"{'certgen':<{LABEL_WIDTH}}", style=palette.muted)
    marks = [" "] * columns
    for mark in history.certgen:
        index = int((mark.at - start).total_seconds() / step)
        if 0 <= index < columns:
            marks[index] = "▲"
    certgen_row.append("".join(marks), style=palette.accent)
    lines.append(certgen_row)
    changes = list(history.changes)[-3:]
    for target in snapshot.targets:
        label = f"{target.ref.component.value}/{target.ref.pod.rsplit('-', 1)[-1]}"
        row = literal(f"{label[: LABEL_WIDTH - 1]:<{LABEL_WIDTH}}")
        _append_runs(
            row, [_sample_cell(sample, palette) for sample in history.target_along(target.key, times)]
        )
        row.append("  ")
        row.append_text(_lags(history, target.key, changes, now, palette))
        lines.append(row)
    lines.append(Text())
    legend = Text("legend ", style=palette.muted)
    for phase in (Phase.STEADY, Phase.CA_ADDED, Phase.LEAF_ROTATED, Phase.STALLED, Phase.BROKEN):
        legend.append(GLYPHS[phase], style=palette.phase(phase))
        legend.append(f" {phase.value}  ", style=palette.muted)
    legend.append("✕ unreachable  ▲ certgen phase log line", style=palette.muted)
    lines.append(legend)
    lines.append(Text())
    lines.append(Text("Secret changes", style=palette.accent + Style(bold=True)))
    for change in reversed(history.changes):
        lines.append(_change_line(history, change, snapshot, now, palette))
    return Group(*lines)


def _append_runs(row: Text, cells: list[tuple[str, Style]]) -> None:
    """Append cells as runs of equal glyph and style (one span per run, not per column)."""
    start = 0
    for index in range(1, len(cells) + 1):
        if index == len(cells) or cells[index] != cells[start]:
            glyph, style = cells[start]
            row.append(glyph * (index - start), style=style)
            start = index


def _sample_cell(sample: TargetSample | None, palette: Palette) -> tuple[str, Style]:
    if sample is None:
        return " ", palette.muted
    if not sample.reachable:
        return "✕", palette.error
    glyph, style = _cell(sample.phase, palette)
    if sample.in_sync is False:
        style = style + Style(underline=True)
    return glyph, style


def _lags(
    history: RotationHistory, key: str, changes: list[SecretChange], now: datetime, palette: Palette
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for change in changes:
        picked = history.pickup(key, change)
        if text:
            text.append(" ")
        if picked is None:
            text.append(
                f"{change.phase.value} lags {human_duration((now - change.at).total_seconds())}",
                style=palette.warn,
            )
        else:
            text.append(f"+{human_duration((picked - change.at).total_seconds())}", style=palette.muted)
    text.truncate(LAG_WIDTH, overflow="ellipsis")
    return text


def _change_line(
    history: RotationHistory, change: SecretChange, snapshot: FleetSnapshot, now: datetime, palette: Palette
) -> Text:
    line = Text(f"  {change.at:%H:%M:%S}  ", style=palette.muted)
    line.append(f"{change.phase.value:<13}", style=palette.phase(change.phase))
    lags = []
    waiting = []
    for target in snapshot.targets:
        picked = history.pickup(target.key, change)
        if picked is None:
            waiting.append(target.ref.pod)
        else:
            lags.append(((picked - change.at).total_seconds(), target.ref.pod))
    line.append(f" picked up by {len(lags)}/{len(snapshot.targets)}", style=palette.text)
    if lags:
        slowest = max(lags)
        line.append(f" · slowest {human_duration(slowest[0])} (", style=palette.muted)
        line.append_text(literal(slowest[1]))
        line.append(")", style=palette.muted)
    if waiting and change is history.changes[-1]:
        line.append(f" · waiting {len(waiting)}: ", style=palette.warn)
        line.append_text(literal(", ".join(waiting[:4]) + (" …" if len(waiting) > 4 else "")))
    elif waiting:
        line.append(f" · {len(waiting)} never held it", style=palette.muted)
    return line


class RotationTimeline(Static):
    """Draws :func:`timeline_renderable` at the widget's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._args: tuple[RotationHistory, FleetSnapshot | None, datetime] | None = None

    def show(self, history: RotationHistory, snapshot: FleetSnapshot | None, now: datetime) -> None:
        self._args = (history, snapshot, now)
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self._args is None or not self.size.width:
            return
        history, snapshot, now = self._args
        palette = Palette.from_variables(self.app.theme_variables)
        self.update(timeline_renderable(history, snapshot, now, self.size.width, palette))
