"""The rotation timeline: the secret's phases and every pod's, on one time axis, with pickup lags.

One row for the secret, one for certgen's phase log lines (▲), the validation webhook's rows once one was
observed (:mod:`timeline_webhook`), one per pod; each column is a slice of
time drawn with the glyph (and coloured) by the phase in effect, so the phases read apart without colour
too (``NO_COLOR``). On the right, how long each pod took to pick up each change. Narrow terminals get
narrower labels, shorter axis times and a legend and change lines folded to the width.
Drawn with the line API: at 200 pods only the rows on screen are computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gloomon.domain.compare.history import RotationHistory, SecretChange, TargetSample, on_timeline
from gloomon.domain.model import FleetSnapshot, Phase, TargetStatus
from gloomon.ui.format import Palette, human_duration, literal, sanitize
from gloomon.ui.widgets.header_bar import cron_words
from gloomon.ui.widgets.timeline_glyphs import CERTGEN_MARK, GLYPHS, UNREACHABLE
from gloomon.ui.widgets.timeline_webhook import change_lines, legend_entries, webhook_rows

LABEL_WIDTH = 24
LAG_WIDTH = 34
#: below this width the labels and the lag column shrink, and the axis shows hours and minutes only
WIDE = 100
NARROW_LABEL_WIDTH = 20
NARROW_LAG_WIDTH = 22
#: where a folded change line's continuation starts (under the phase)
CHANGE_INDENT = 14
#: the narrowest time axis (a history younger than this leaves the rest of the axis empty)
MIN_SPAN_SECONDS = 10.0


def _cell(phase: Phase | None, palette: Palette) -> tuple[str, Style]:
    if phase is None:
        return " ", palette.muted
    return GLYPHS[phase], palette.phase(phase)


def _axis(times: list[datetime], label_width: int, palette: Palette) -> Text:
    """Time marks under the columns: the start and the end, and the middle where it runs into neither;
    seconds are left out when the axis is too short for them."""
    width = len(times)
    axis = Text(" " * label_width)
    clock = "%H:%M:%S" if width >= 3 * 10 else "%H:%M"
    line = [" "] * width
    taken: list[tuple[int, int]] = []  # the columns each placed label covers, with a blank after it
    for position in (0, width - 1, width // 2):
        label = f"│{times[position]:{clock}}"
        start = min(position, max(width - len(label), 0))
        end = start + len(label)
        if end > width or any(start <= last and first <= end for first, last in taken):
            continue
        line[start:end] = list(label)
        taken.append((start, end))
    axis.append("".join(line), style=palette.muted)
    return axis


def fold(line: Text, width: int, indent: int) -> list[Text]:
    """``line`` cut at spaces into rows of at most ``width`` cells; each row after the first starts
    ``indent`` cells in (a hanging indent), so a folded line still reads as one."""
    rows: list[Text] = []
    rest = line
    indent = min(indent, width // 2)
    while rest.cell_len > width:
        cut = rest.plain.rfind(" ", indent + 1, width + 1)
        if cut <= indent:
            cut = width
        rows.append(rest[:cut])
        tail = rest[cut:]
        tail = tail[len(tail.plain) - len(tail.plain.lstrip(" ")) :]
        rest = Text(" " * indent) + tail
    rows.append(rest)
    return rows


class TimelineLines:
    """The timeline of one snapshot at one width, as lines; a pod's row is drawn when first asked for.

    Header (title, axis, secret, certgen), one row per target, then the legend and the secret's changes.
    Only the rows on screen are ever built, so opening the view costs the same for 6 targets or 200.
    """

    def __init__(
        self,
        history: RotationHistory,
        snapshot: FleetSnapshot | None,
        now: datetime,
        width: int,
        palette: Palette,
    ) -> None:
        self.history, self.snapshot, self.now, self.palette = history, snapshot, now, palette
        self.width = width
        self._rows: dict[int, Text] = {}
        start = history.start
        if snapshot is None or start is None:
            self.head = [
                Text("no history yet: the timeline fills in as snapshots arrive", style=palette.muted)
            ]
            self.targets: tuple[TargetStatus, ...] = ()
            self.tail: list[Text] = []
            return
        self.start = start
        span = max((now - start).total_seconds(), MIN_SPAN_SECONDS)
        self.label_width = LABEL_WIDTH if width >= WIDE else NARROW_LABEL_WIDTH
        self.lag_width = LAG_WIDTH if width >= WIDE else NARROW_LAG_WIDTH
        self.columns = max(width - self.label_width - self.lag_width - 2, 10)
        self.step = span / self.columns
        self.times = [start + timedelta(seconds=self.step * (index + 1)) for index in range(self.columns)]
        self.changes = list(history.changes)[-3:]
        self.many = len(snapshot.contexts) > 1
        #: grouped by context when several are watched (the table's order)
        shown = on_timeline(snapshot)
        order = {context: index for index, context in enumerate(snapshot.contexts)}
        self.targets = tuple(sorted(shown, key=lambda t: order.get(t.ref.context, len(order))))
        #: the contexts with their own secret, whose rotation this timeline (the first's) is not
        self.others = tuple(dict.fromkeys(t.ref.context for t in snapshot.targets if t not in shown))
        #: columns up to now; a young history (under a minute) leaves the rest of the axis empty
        self.past = sum(1 for at in self.times if at <= now + timedelta(seconds=self.step / 2))
        self.head = self._head(snapshot, (now - start).total_seconds())
        self.tail = self._tail(snapshot)

    def __len__(self) -> int:
        return len(self.head) + len(self.targets) + len(self.tail)

    def line(self, y: int) -> Text:
        if y < len(self.head):
            return self.head[y]
        index = y - len(self.head)
        if index < len(self.targets):
            row = self._rows.get(index)
            if row is None:
                row = self._rows[index] = self._target_row(self.targets[index])
            return row
        index -= len(self.targets)
        return self.tail[index] if index < len(self.tail) else Text()

    def _head(self, snapshot: FleetSnapshot, span: float) -> list[Text]:
        palette, history, now, start = self.palette, self.history, self.now, self.start
        title = Text.assemble(("Rotation timeline ", palette.accent + Style(bold=True)))
        title.append(f"{start:%H:%M:%S} → {now:%H:%M:%S} ({human_duration(span)})   ", style=palette.muted)
        title.append(cron_words(snapshot, now, short=self.width < WIDE), style=palette.text)
        axis = _axis(self.times, self.label_width, palette)
        axis.append(
            "  pickup lag, last changes" if self.width >= WIDE else "  pickup lags", style=palette.muted
        )
        # several contexts: the secret row is the first context's (the control plane's), and says so
        many = len(snapshot.contexts) > 1
        name = f"secret ({snapshot.contexts[0]})" if many else "secret"
        secret_row = Text(
            f"{sanitize(name)[: self.label_width - 1]:<{self.label_width}}", style=Style(bold=True)
        )
        phases = history.secret_along(self.times[: self.past])
        _append_runs(secret_row, [_cell(phase, palette) for phase in phases])
        certgen_row = Text(f"{'certgen':<{self.label_width}}", style=palette.muted)
        marks = [" "] * self.columns
        for mark in history.certgen:
            index = int((mark.at - start).total_seconds() / self.step)
            if 0 <= index < self.columns:
                marks[index] = CERTGEN_MARK
        certgen_row.append("".join(marks), style=palette.accent)
        return [title, axis, secret_row, certgen_row, *self._webhook_rows()]

    def _webhook_rows(self) -> list[Text]:
        webhook = self.history.webhook
        if not webhook.observed:
            return []
        rows = []
        times = self.times[: self.past]
        for label, cells, lag in webhook_rows(
            webhook, times, self.columns, self.label_width, self.now, self.palette
        ):
            _append_runs(label, cells)
            label.append("  ")
            lag.truncate(self.lag_width, overflow="ellipsis")
            label.append_text(lag)
            rows.append(label)
        return rows

    def _target_row(self, target: TargetStatus) -> Text:
        palette, history = self.palette, self.history
        label = f"{target.ref.component.value}/{target.ref.pod.rsplit('-', 1)[-1]}"
        if self.many:  # which cluster the row is in, first (the component said as the logs say it)
            short = (
                "gw-proxy" if target.ref.component.value == "gateway-proxy" else target.ref.component.value
            )
            label = f"{target.ref.context} {short}/{target.ref.pod.rsplit('-', 1)[-1]}"
        row = literal(f"{label[: self.label_width - 1]:<{self.label_width}}")
        samples = history.target_along(target.key, self.times[: self.past])
        samples += [None] * (self.columns - self.past)
        _append_runs(row, [_sample_cell(sample, palette) for sample in samples])
        row.append("  ")
        row.append_text(_lags(history, target.key, self.changes, self.now, palette, self.lag_width))
        return row

    def _tail(self, snapshot: FleetSnapshot) -> list[Text]:
        palette, history = self.palette, self.history
        webhook = history.webhook.observed
        lines = [Text(), *legend(palette, self.width, webhook=webhook), Text()]
        lines.append(Text("Secret changes", style=palette.accent + Style(bold=True)))
        for change in reversed(history.changes):
            lines += fold(
                _change_line(history, change, snapshot, self.now, palette), self.width, CHANGE_INDENT
            )
        if webhook:
            lines.append(Text())
            for line in change_lines(history.webhook, self.now, palette):
                lines += fold(line, self.width, CHANGE_INDENT)
        if self.others:  # their own certgen and secret: another rotation, not drawn on this axis
            note = literal(
                f"{', '.join(self.others)}: own secret and certgen, not on this timeline "
                "(watch that context alone: gloomon --context <name>)"
            )
            note.stylize(palette.muted)
            lines += [Text(), *fold(note, self.width, CHANGE_INDENT)]
        return lines


def legend(palette: Palette, width: int, *, webhook: bool = False) -> list[Text]:
    """Every glyph the timeline draws and what it means, folded into as many lines as ``width`` needs
    (the webhook rows' too when ``webhook``)."""
    entries = [(GLYPHS[phase], palette.phase(phase), phase.value) for phase in Phase]
    entries += [
        (UNREACHABLE, palette.error, "unreachable"),
        (CERTGEN_MARK, palette.accent, "certgen phase log line"),
        (GLYPHS[Phase.STEADY], palette.muted + Style(underline=True), "underlined: lags the secret"),
    ]
    if webhook:
        entries += legend_entries(palette)
    lines = [Text("legend ", style=palette.muted)]
    for glyph, style, words in entries:
        entry = Text.assemble((glyph, style), (f" {words}", palette.muted))
        line = lines[-1]
        if line.cell_len + 2 + entry.cell_len > width and line.cell_len > len("legend "):
            line = Text(" " * len("legend "))
            lines.append(line)
        elif line.cell_len > len("legend "):
            line.append("  ")
        line.append_text(entry)
    return lines


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
        return UNREACHABLE, palette.error
    glyph, style = _cell(sample.phase, palette)
    if sample.in_sync is False:
        style = style + Style(underline=True)
    return glyph, style


def _lags(
    history: RotationHistory,
    key: str,
    changes: list[SecretChange],
    now: datetime,
    palette: Palette,
    width: int = LAG_WIDTH,
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
    text.truncate(width, overflow="ellipsis")
    return text


def _change_line(
    history: RotationHistory, change: SecretChange, snapshot: FleetSnapshot, now: datetime, palette: Palette
) -> Text:
    line = Text(f"  {change.at:%H:%M:%S}  ", style=palette.muted)
    line.append(f"{change.phase.value:<13}", style=palette.phase(change.phase))
    lags = []
    waiting = []
    shown = on_timeline(snapshot)
    for target in shown:
        picked = history.pickup(target.key, change)
        if picked is None:
            waiting.append(target.ref.pod)
        else:
            lags.append(((picked - change.at).total_seconds(), target.ref.pod))
    line.append(f" picked up by {len(lags)}/{len(shown)}", style=palette.text)
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


class RotationTimeline(ScrollView, can_focus=True):
    """Draws :class:`TimelineLines` with the line API: only the rows on screen are built and rendered,
    once per snapshot (a new snapshot, width or clock makes a new :class:`TimelineLines`)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._args: tuple[RotationHistory, FleetSnapshot | None, datetime] | None = None
        self.lines: TimelineLines | None = None
        self._strips: dict[int, Strip] = {}

    def show(self, history: RotationHistory, snapshot: FleetSnapshot | None, now: datetime) -> None:
        if self._args is not None and self._args[1] is snapshot and self._args[2] == now:
            return
        self._args = (history, snapshot, now)
        self._rebuild()

    def on_resize(self) -> None:
        if self.lines is None or self.lines.width != self._line_width():
            self._rebuild()

    def _rebuild(self) -> None:
        if self._args is None or not self.size.width:
            return
        history, snapshot, now = self._args
        palette = Palette.from_variables(self.app.theme_variables)
        self.lines = TimelineLines(history, snapshot, now, self._line_width(), palette)
        self._strips = {}
        self.virtual_size = Size(self.size.width, len(self.lines))
        self.refresh()

    def _line_width(self) -> int:
        """The lines fit beside the vertical scrollbar, which appears once they outgrow the screen."""
        return max(self.size.width - self.styles.scrollbar_size_vertical, 1)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        index = self.scroll_offset.y + y
        if self.lines is None or index >= len(self.lines):
            return Strip.blank(width, style)
        strip = self._strips.get(index)
        if strip is None:
            text = self.lines.line(index)
            text.no_wrap = True
            segments = [
                Segment(s.text, style + s.style if s.style else style) for s in text.render(self.app.console)
            ]
            strip = self._strips[index] = Strip(segments, text.cell_len)
        return strip.crop_extend(0, width, style)

    def visible_text(self) -> list[str]:
        """The rows on screen as plain text (what the user reads)."""
        return [self.render_line(y).text.rstrip() for y in range(self.size.height)]
