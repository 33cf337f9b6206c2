"""The rotation timeline: each context's secret phases and every pod's, on one time axis, with pickup lags.

Per context, one row for the secret (a data-plane context's copy, with how far behind its source it is),
one for certgen's phase log lines (▲), the validation webhook's rows once one was observed
(:mod:`timeline_webhook`), one per pod; each column is a slice of time drawn with the glyph (and
coloured) by the phase in effect, so the phases read apart without colour too (``NO_COLOR``). On the
right, how long each pod took to pick up each change. With one context, the group is drawn without a
name. Narrow terminals get narrower labels, shorter axis times and a legend and change lines folded to
the width. Drawn with the line API: at 200 pods only the rows on screen are computed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from gloomon.domain.compare.history import RotationHistory, SecretTimeline
from gloomon.domain.model import FleetSnapshot, TargetStatus
from gloomon.ui.format import Palette, human_duration, keep_end, literal, sanitize, short_component
from gloomon.ui.widgets.header_bar import cron_words
from gloomon.ui.widgets.timeline_glyphs import CERTGEN_MARK
from gloomon.ui.widgets.timeline_rows import (
    LAG_WIDTH,
    append_runs,
    fold,
    legend,
    phase_cell,
    pickup_lags,
    sample_cell,
    secret_change_line,
    time_axis,
)
from gloomon.ui.widgets.timeline_webhook import change_lines, webhook_rows

LABEL_WIDTH = 24
#: below this width the labels and the lag column shrink, and the axis shows hours and minutes only
WIDE = 100
NARROW_LABEL_WIDTH = 20
NARROW_LAG_WIDTH = 22
#: where a folded change line's continuation starts (under the phase)
CHANGE_INDENT = 14
#: the widest a context's name gets in the secret changes (longer names keep their end)
CONTEXT_MAX_WIDTH = 12
#: the narrowest time axis (a history younger than this leaves the rest of the axis empty)
MIN_SPAN_SECONDS = 10.0


#: a row of the timeline's body: ready, or a target's row, built when first asked for
BodyRow = Text | tuple[SecretTimeline, TargetStatus]


class TimelineLines:
    """The timeline of one snapshot at one width, as lines; a pod's row is drawn when first asked for.

    Header (title, axis), then each context's group: its secret (a data-plane context: its copy, with
    how far behind its source it is), its certgen marks, the validation webhook's rows where it runs, one
    row per target; then the legend and the secrets' changes. With one context the group is drawn
    without its name, as it always was. Only the rows on screen are ever built, so opening the view
    costs the same for 6 targets or 200.
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
            self.body: list[BodyRow] = []
            self.tail: list[Text] = []
            return
        self.start = start
        span = max((now - start).total_seconds(), MIN_SPAN_SECONDS)
        self.label_width = LABEL_WIDTH if width >= WIDE else NARROW_LABEL_WIDTH
        self.lag_width = LAG_WIDTH if width >= WIDE else NARROW_LAG_WIDTH
        self.columns = max(width - self.label_width - self.lag_width - 2, 10)
        self.step = span / self.columns
        self.times = [start + timedelta(seconds=self.step * (index + 1)) for index in range(self.columns)]
        #: columns up to now; a young history (under a minute) leaves the rest of the axis empty
        self.past = sum(1 for at in self.times if at <= now + timedelta(seconds=self.step / 2))
        self.timelines = history.timelines
        self.many = len(self.timelines) > 1
        #: with several contexts, a namespace's copy is named with its context (``east/apps``)
        several = len({t.context for t in self.timelines}) > 1
        self.names = {t: _name(t, several) for t in self.timelines}
        self.context_cells = min(max(len(name) for name in self.names.values()), CONTEXT_MAX_WIDTH)
        #: each secret's targets (the history's latest sample says which), in the snapshot's order
        self.targets = {
            t: tuple(
                target for target in snapshot.targets if t.samples and target.key in t.samples[-1].targets
            )
            for t in self.timelines
        }
        self.head = self._head(snapshot, (now - start).total_seconds())
        self.body = [row for timeline in self.timelines for row in self._group(timeline)]
        self.tail = self._tail()

    def __len__(self) -> int:
        return len(self.head) + len(self.body) + len(self.tail)

    def line(self, y: int) -> Text:
        if y < len(self.head):
            return self.head[y]
        index = y - len(self.head)
        if index < len(self.body):
            row = self.body[index]
            if isinstance(row, Text):
                return row
            built = self._rows.get(index)
            if built is None:
                built = self._rows[index] = self._target_row(*row)
            return built
        index -= len(self.body)
        return self.tail[index] if index < len(self.tail) else Text()

    def _head(self, snapshot: FleetSnapshot, span: float) -> list[Text]:
        palette, now, start = self.palette, self.now, self.start
        title = Text.assemble(("Rotation timeline ", palette.accent + Style(bold=True)))
        title.append(f"{start:%H:%M:%S} → {now:%H:%M:%S} ({human_duration(span)})   ", style=palette.muted)
        title.append(cron_words(snapshot, now, short=self.width < WIDE), style=palette.text)
        axis = time_axis(self.times, self.label_width, palette)
        axis.append(
            "  pickup lag, last changes" if self.width >= WIDE else "  pickup lags", style=palette.muted
        )
        return [title, axis]

    def _group(self, timeline: SecretTimeline) -> list[BodyRow]:
        """One context's rows: its secret, certgen (where it runs), the webhook, its targets."""
        palette = self.palette
        copy = timeline.copy
        name = "secret"
        if self.many:  # the group says its context (or namespace), and whether its secret is a copy
            words = " copy" if copy else " secret"
            name = keep_end(self.names[timeline], self.label_width - 1 - len(words)) + words
        secret_row = Text(
            f"{sanitize(name)[: self.label_width - 1]:<{self.label_width}}", style=Style(bold=True)
        )
        phases = timeline.secret_along(self.times[: self.past])
        append_runs(secret_row, [phase_cell(phase, palette) for phase in phases])
        lag = self._copy_lag(timeline)
        if lag is not None:
            secret_row.append(" " * (self.columns - self.past + 2))
            secret_row.append_text(lag)
        rows: list[BodyRow] = [secret_row]
        if not copy:
            certgen_row = Text(f"{self._indent + 'certgen':<{self.label_width}}", style=palette.muted)
            marks = [" "] * self.columns
            for mark in self.history.certgen_of(timeline):
                index = int((mark.at - self.start).total_seconds() / self.step)
                if 0 <= index < self.columns:
                    marks[index] = CERTGEN_MARK
            certgen_row.append("".join(marks), style=palette.accent)
            rows.append(certgen_row)
        rows += self._webhook_rows(timeline)
        rows += [(timeline, target) for target in self.targets[timeline]]
        return rows

    @property
    def _indent(self) -> str:
        """Rows under a context's secret row are indented when several contexts are drawn."""
        return "  " if self.many else ""

    def _copy_lag(self, timeline: SecretTimeline) -> Text | None:
        """A data-plane copy: how long after its source's write it came, or how long it is behind."""
        lag = self.history.copy_lag(timeline)
        if lag is None:
            return None
        text = Text(no_wrap=True, overflow="ellipsis", style=Style(bold=False))  # not the row's bold
        if lag.behind_since is not None:
            waited = human_duration((self.now - lag.behind_since).total_seconds())
            text.append(f"copy behind {lag.source} {waited}", style=self.palette.warn)
        elif lag.seconds is not None:
            text.append(f"copy +{human_duration(lag.seconds)} after {lag.source}", style=self.palette.muted)
        text.truncate(self.lag_width, overflow="ellipsis")
        return text

    def _webhook_rows(self, timeline: SecretTimeline) -> list[BodyRow]:
        webhook = timeline.webhook
        if not webhook.observed:
            return []
        rows: list[BodyRow] = []
        times = self.times[: self.past]
        for label, cells, lag in webhook_rows(
            webhook, times, self.columns, self.label_width, self.now, self.palette, self._indent
        ):
            append_runs(label, cells)
            label.append("  ")
            lag.truncate(self.lag_width, overflow="ellipsis")
            label.append_text(lag)
            rows.append(label)
        return rows

    def _target_row(self, timeline: SecretTimeline, target: TargetStatus) -> Text:
        palette = self.palette
        suffix = target.ref.pod.rsplit("-", 1)[-1]
        if self.many:  # under its context's secret row (the component said as the logs say it)
            label = f"{self._indent}{short_component(target.ref.component)}/{suffix}"
        else:
            label = f"{target.ref.component.value}/{suffix}"
        row = literal(f"{label[: self.label_width - 1]:<{self.label_width}}")
        samples = timeline.target_along(target.key, self.times[: self.past])
        samples += [None] * (self.columns - self.past)
        append_runs(row, [sample_cell(sample, palette) for sample in samples])
        row.append("  ")
        changes = list(timeline.changes)[-3:]
        row.append_text(pickup_lags(timeline, target.key, changes, self.now, palette, self.lag_width))
        return row

    def _tail(self) -> list[Text]:
        palette = self.palette
        webhooks = [timeline for timeline in self.timelines if timeline.webhook.observed]
        lines = [Text(), *legend(palette, self.width, webhook=bool(webhooks)), Text()]
        lines.append(Text("Secret changes", style=palette.accent + Style(bold=True)))
        for timeline in self.timelines:
            context = keep_end(self.names[timeline], self.context_cells) if self.many else None
            targets = self.targets[timeline]
            for change in reversed(timeline.changes):
                line = secret_change_line(
                    timeline, change, targets, self.now, palette, context, self.context_cells
                )
                lines += fold(line, self.width, CHANGE_INDENT + (self.context_cells + 1 if self.many else 0))
        if webhooks:
            lines += [Text(), Text("Webhook changes", style=palette.accent + Style(bold=True))]
        for timeline in webhooks:
            prefix = f"{sanitize(keep_end(self.names[timeline], self.context_cells)):<{self.context_cells}} "
            for line in change_lines(timeline.webhook, self.now, palette, prefix if self.many else ""):
                lines += fold(line, self.width, CHANGE_INDENT + (len(prefix) if self.many else 0))
        return lines


def _name(timeline: SecretTimeline, several: bool) -> str:
    """A group's name: its context, or a namespace's copy's namespace (``east/apps`` with several)."""
    if timeline.namespace is None:
        return timeline.context
    return f"{timeline.context}/{timeline.namespace}" if several else timeline.namespace


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
        self.virtual_size = Size(self.lines.width, len(self.lines))
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
