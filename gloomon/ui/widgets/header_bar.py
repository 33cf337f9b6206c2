"""The header bar: where we look, the secret's phase in words, the next certgen run, overall status.

Two lines, always visible. Calm (plain text, a green dot) when all is well; loud (a coloured badge)
when a finding is warning or critical.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from gloomon.domain.cells import (
    context_phase_words,
    namespace_copy_words,
    secret_phase_words,
    severity_counts,
)
from gloomon.domain.export import status_of
from gloomon.domain.model import CronJobState, FleetSnapshot, Severity
from gloomon.domain.parse.cron import next_run
from gloomon.domain.words import counted
from gloomon.ui.format import Palette, human_duration, literal, sanitize


def cron_words(snapshot: FleetSnapshot, now: datetime, *, short: bool = False) -> str:
    if snapshot.cronjob is None and not snapshot.contexts:
        return "CronJob not observed (--target)"
    return _cronjob_words(snapshot.cronjob, now, short=short)


def certgen_words(snapshot: FleetSnapshot, now: datetime, *, short: bool = False, once: bool = False) -> str:
    """:func:`cron_words`, or with several management contexts (two clusters run two certgens) each
    one's by its context: ``east next run in 2h · west certgen suspended``; ``once``: the words once
    when every CronJob says the same (``next run in 2h``), "" when they differ."""
    if len(snapshot.cronjobs) < 2:
        return cron_words(snapshot, now, short=short)
    said = [(sanitize(cron.context), _cronjob_words(cron, now, short=short)) for cron in snapshot.cronjobs]
    if once:
        return said[0][1] if len({words for _, words in said}) == 1 else ""
    return " · ".join(f"{context} {words}" for context, words in said)


def _cronjob_words(cronjob: CronJobState | None, now: datetime, *, short: bool) -> str:
    if cronjob is None or cronjob.missing:
        return "no certgen CronJob"
    if cronjob.suspended:
        return "certgen suspended"
    running = "certgen running · " if cronjob.active_jobs else ""  # first: it matters more than the next run
    upcoming = next_run(cronjob.schedule, now)
    if upcoming is None:  # the schedule is the CronJob's own text: kept literal, escapes made visible
        return sanitize(f"{running}schedule {cronjob.schedule!r}")
    wait = human_duration((upcoming - now).total_seconds())
    if short:
        return f"{running}next run in {wait}"
    return f"{running}next run {clock_time(upcoming, now)} (in {wait})"


def clock_time(at: datetime, now: datetime) -> str:
    """``23:00 UTC`` today, ``Thu 26 Nov 00:00 UTC`` another day (cron runs on whole minutes, in UTC)."""
    at, now = at.astimezone(UTC), now.astimezone(UTC)
    if at.date() == now.date():
        return f"{at:%H:%M} UTC"
    return f"{at:%a %d %b %H:%M} UTC"


def findings_words(snapshot: FleetSnapshot, palette: Palette) -> Text:
    counts = severity_counts(snapshot.findings)
    parts = [(f"{counts[s]} {s.value}", palette.severity(s)) for s in reversed(Severity) if counts[s]]
    if not parts:
        return Text("no findings", style=palette.muted)
    text = Text()
    for index, (words, style) in enumerate(parts):
        if index:
            text.append(" · ", style=palette.muted)
        text.append(words, style=style)
    return text


def _secret_line(
    words: str,
    loudness: Severity | None,
    snapshot: FleetSnapshot,
    now: datetime,
    short: bool,
    room: int,
    palette: Palette,
) -> Text:
    """``secret <phase words>  apps <copy words>  <next run>`` in ``room`` cells (each other namespace's
    copy by its name, when a proxy runs there): when it does not fit, the next run is said shortly,
    the copies' words keep their first clause, then the phase words lose their last `` · `` clauses
    (the findings say them in full)."""
    clauses = words.split(" · ")
    context = snapshot.contexts[0] if snapshot.contexts else None
    copies = namespace_copy_words(snapshot, context) if context is not None else []
    line = Text()
    for keep, cron_short, whole in [(len(clauses), short, True), (len(clauses), True, True)] + [
        (count, True, False) for count in range(len(clauses), 0, -1)
    ]:
        line = _badge(" · ".join(clauses[:keep]), loudness, palette)
        for namespace, copy_words, copy_loudness in copies:
            line.append("  ")
            line.append_text(_named(namespace))
            shown = copy_words if whole else copy_words.split(" · ")[0]
            line.append_text(_badge(shown, copy_loudness, palette, label=False))
        line.append("  ")
        line.append(cron_words(snapshot, now, short=cron_short), style=palette.muted)
        if line.cell_len <= room:
            break
    return line


def _named(name: str) -> Text:
    """A context's or namespace's name before its secret's words: bold, then a space."""
    text = literal(name)
    text.stylize(Style(bold=True))
    text.append(" ")
    return text


def _contexts_line(snapshot: FleetSnapshot, now: datetime, short: bool, room: int, palette: Palette) -> Text:
    """Several contexts: ``east steady · 1 CA  west copy · steady …  <next runs>`` in ``room`` cells, each
    context's secret phase behind its name, then each management context's next certgen run
    (:func:`certgen_words`); when it does not fit, the next runs are said once where they agree, then go,
    then every context's words lose their last clauses."""
    phases = context_phase_words(snapshot, now, short=short)
    longest = max((len(words.split(" · ")) for _, words, _ in phases), default=1)
    line = Text()
    runs = certgen_words(snapshot, now, short=True)
    once = certgen_words(snapshot, now, short=True, once=True) if len(snapshot.cronjobs) > 1 else ""
    for keep, cron in [(longest, runs), (longest, once), (longest, "")] + [
        (count, "") for count in range(longest - 1, 0, -1)
    ]:
        line = Text()
        for index, (context, words, loudness) in enumerate(phases):
            if index:
                line.append("  ")
            line.append_text(_named(context))
            line.append_text(_badge(" · ".join(words.split(" · ")[:keep]), loudness, palette, label=False))
        if cron:
            line.append("  ")
            line.append(cron, style=palette.muted)
        if line.cell_len <= room:
            break
    return line


def _badge(words: str, loudness: Severity | None, palette: Palette, *, label: bool = True) -> Text:
    """The secret's phase words behind a muted ``secret`` label, unless the words name the secret
    themselves ("secret not readable (403)", "no gloo-mtls-certs secret": said once, not twice)."""
    named = words.startswith("secret ") or words.endswith(" secret") or not label
    badge = Text() if named else Text.assemble(("secret ", palette.muted))
    if loudness in (Severity.WARNING, Severity.CRITICAL):
        color = (palette.severity(loudness)).color
        badge.append(f" {words} ", style=Style(bgcolor=color, color="black", bold=True))
    else:
        badge.append(words, style=palette.severity(loudness) + Style(bold=True))
    return badge


def status_words(snapshot: FleetSnapshot, failure: str | None, palette: Palette) -> Text:
    """The findings count and the overall status: ``check``'s status (:func:`status_of`), or ERROR
    while the session itself is failing."""
    status = Text()
    status.append_text(findings_words(snapshot, palette))
    status.append("  ")
    overall = "error" if failure else status_of(snapshot)
    if overall == "error":
        status.append(" ✖ ERROR ", style=Style(bgcolor=palette.error.color, color="black", bold=True))
    elif overall == "critical":
        status.append(" ✖ CRITICAL ", style=Style(bgcolor=palette.error.color, color="black", bold=True))
    elif overall == "warning":
        status.append(" ▲ WARNING ", style=Style(bgcolor=palette.warn.color, color="black", bold=True))
    else:
        status.append("● OK", style=palette.ok + Style(bold=True))
    return status


class HeaderBar(Widget):
    """Contexts and namespace · secret phase badge · next run · status · findings · poll age.

    Renders on demand (``render``) so the once-a-second poll-age update repaints two lines without a
    layout pass.
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._snapshot: FleetSnapshot | None = None
        self._now: datetime | None = None
        self._failure: str | None = None

    def show(self, snapshot: FleetSnapshot | None, now: datetime, failure: str | None = None) -> None:
        self._snapshot, self._now, self._failure = snapshot, now, failure
        self.refresh()

    def render(self) -> RenderableType:
        palette = Palette.from_variables(self.app.theme_variables)
        snapshot, now = self._snapshot, self._now
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        title = Text.assemble(("gloomon", Style(bold=True)), " ")
        if snapshot is None or now is None:
            title.append("connecting…", style=palette.muted)
            failure = literal(self._failure)
            failure.stylize(palette.error)
            grid.add_row(title, failure)
            grid.add_row("", "")
            return grid
        if snapshot.contexts:
            title.append_text(literal(", ".join(snapshot.contexts)))
            title.append(" / ", style=palette.muted)
            title.append_text(literal(snapshot.namespace))
        else:  # --target: admin URLs polled as given, no Kubernetes context or namespace
            title.append("--target URLs")
        title.append(f" · {counted(len(snapshot.targets), 'target')}", style=palette.muted)
        if snapshot.gloo_release is not None:
            release = literal(f" · {snapshot.gloo_release.label}")
            release.stylize(palette.muted)
            title.append_text(release)
        status = status_words(snapshot, self._failure, palette)
        grid.add_row(title, status)
        short = self.size.width < 100
        words, loudness = secret_phase_words(snapshot, now, short=short)
        words = sanitize(words)  # the verdict's reason can quote remote text
        age = self._poll_age(snapshot, now, palette)
        # the right column is as wide as its widest cell (the status above, or the poll age), and the
        # grid pads one cell on each side of the gap between the columns
        room = self.size.width - max(status.cell_len, age.cell_len) - 2
        if len(snapshot.contexts) > 1:  # each context's secret (a data-plane one's copy) by its name
            grid.add_row(_contexts_line(snapshot, now, short, room, palette), age)
        else:
            grid.add_row(_secret_line(words, loudness, snapshot, now, short, room, palette), age)
        return grid

    def _poll_age(self, snapshot: FleetSnapshot, now: datetime, palette: Palette) -> Text:
        age = max((now - snapshot.taken_at).total_seconds(), 0.0)
        style = palette.warn if age > 30 else palette.muted
        return Text(f"polled {human_duration(age)} ago", style=style)
