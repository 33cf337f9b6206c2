"""The validation webhook's rows on the rotation timeline: the certificate gloo serves and each caBundle,
one glyph per column by state (in sync, stale, broken, not read: four glyphs, so they read apart under
``NO_COLOR``), and its changes (renewed, served, caBundle updated or stale) for the changes list.

Drawn only once a webhook was observed, so a fleet without one shows the timeline it always did.
"""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.text import Text

from gloomon.domain.compare.webhook_history import WebhookCell, WebhookChange, WebhookEvent, WebhookHistory
from gloomon.ui.format import Palette, human_duration, literal
from gloomon.ui.widgets.timeline_glyphs import WEBHOOK_GLYPHS

TITLE = "validation webhook"
SERVED_LABEL = "  served cert"

#: one row: its label, a (glyph, style) per column, and what the lag column says
Row = tuple[Text, list[tuple[str, Style]], Text]


def cell_style(cell: WebhookCell, palette: Palette) -> Style:
    return {
        WebhookCell.IN_SYNC: palette.ok,
        WebhookCell.STALE: palette.warn,
        WebhookCell.BROKEN: palette.error,
    }.get(cell, palette.muted)


def _cell(cell: WebhookCell | None, palette: Palette) -> tuple[str, Style]:
    if cell is None:
        return " ", palette.muted
    return WEBHOOK_GLYPHS[cell], cell_style(cell, palette)


def webhook_rows(
    history: WebhookHistory,
    times: list[datetime],
    columns: int,
    label_width: int,
    now: datetime,
    palette: Palette,
    indent: str = "",
) -> list[Row]:
    """The row group: a title, the served certificate, then each caBundle of the latest sample; every
    label after ``indent`` (under a context's secret row)."""
    samples = history.along(times) + [None] * (columns - len(times))
    title = Text(f"{indent + TITLE:<{label_width}}", style=Style(bold=True))
    rows: list[Row] = [(title, [(" ", palette.muted)] * columns, Text())]
    served = [_cell(sample.served_cell if sample else None, palette) for sample in samples]
    rows.append((Text(f"{indent + SERVED_LABEL:<{label_width}}"), served, _served_lag(history, now, palette)))
    latest = history.samples[-1] if history.samples else None
    for name in history.ca_bundle_names():
        label = literal(f"{indent}  caBundle {name}")
        label.truncate(label_width - 1)
        label.truncate(label_width, pad=True)
        cells = []
        for sample in samples:
            if sample is None:
                cells.append(_cell(None, palette))
                continue
            held = sample.ca_bundle(name)
            cells.append(_cell(held.cell if held else WebhookCell.UNKNOWN, palette))
        now_held = latest.ca_bundle(name) if latest else None
        word = Text(now_held.cell.value, style=cell_style(now_held.cell, palette)) if now_held else Text()
        rows.append((label, cells, word))
    return rows


def _served_lag(history: WebhookHistory, now: datetime, palette: Palette) -> Text:
    pending = history.pending
    if pending is not None:
        return Text(f"renewal lags {human_duration((now - pending.at).total_seconds())}", style=palette.warn)
    served = next((c for c in reversed(history.changes) if c.event is WebhookEvent.SERVED), None)
    if served is not None and served.lag_seconds is not None:
        return Text(f"+{human_duration(served.lag_seconds)}", style=palette.muted)
    return Text()


def legend_entries(palette: Palette) -> list[tuple[str, Style, str]]:
    """The webhook rows' glyphs, for the legend."""
    return [
        (WEBHOOK_GLYPHS[cell], cell_style(cell, palette), f"webhook {cell.value}") for cell in WebhookCell
    ]


def change_lines(history: WebhookHistory, now: datetime, palette: Palette, prefix: str = "") -> list[Text]:
    """The webhook's changes, newest first, in the words the issue asks for, each after ``prefix`` (its
    context's name, with several)."""
    if not history.changes:
        return [Text(f"  {prefix}none observed yet", style=palette.muted)]
    return [_change_line(history, change, now, palette, prefix) for change in reversed(history.changes)]


def _change_line(
    history: WebhookHistory, change: WebhookChange, now: datetime, palette: Palette, prefix: str
) -> Text:
    line = Text(f"  {prefix}{change.at:%H:%M:%S}  ", style=palette.muted)
    if change.event is WebhookEvent.SECRET_RENEWED:
        line.append(change.event.value, style=palette.accent)
        if change is history.pending:
            waited = human_duration((now - change.at).total_seconds())
            line.append(f" · gloo still serves the old cert ({waited})", style=palette.warn)
    elif change.event is WebhookEvent.SERVED:
        line.append(change.event.value, style=palette.ok)
        if change.lag_seconds is not None:
            line.append(f" (after {human_duration(change.lag_seconds)})", style=palette.muted)
    else:
        stale = change.event is WebhookEvent.CA_BUNDLE_STALE
        line.append("caBundle ", style=palette.text)
        line.append_text(literal(change.ca_bundle or ""))
        line.append(f" {change.event.value}", style=palette.error if stale else palette.ok)
        if stale:
            line.append(": does not verify the served cert", style=palette.error)
    return line
