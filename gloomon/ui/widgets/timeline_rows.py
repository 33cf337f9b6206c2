"""The rotation timeline's rows, drawn: a phase's cell, the time axis, runs of cells, the pickup lags, a
secret change's line, the legend, and folding a line to the width (:mod:`rotation_timeline` lays them
out).
"""

from __future__ import annotations

from datetime import datetime

from rich.style import Style
from rich.text import Text

from gloomon.domain.compare.history import SecretChange, SecretTimeline, TargetSample
from gloomon.domain.model import Phase, TargetStatus
from gloomon.ui.format import Palette, human_duration, literal, sanitize
from gloomon.ui.widgets.timeline_glyphs import CERTGEN_MARK, GLYPHS, UNREACHABLE
from gloomon.ui.widgets.timeline_webhook import legend_entries

LAG_WIDTH = 34


def phase_cell(phase: Phase | None, palette: Palette) -> tuple[str, Style]:
    if phase is None:
        return " ", palette.muted
    return GLYPHS[phase], palette.phase(phase)


def time_axis(times: list[datetime], label_width: int, palette: Palette) -> Text:
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


def append_runs(row: Text, cells: list[tuple[str, Style]]) -> None:
    """Append cells as runs of equal glyph and style (one span per run, not per column)."""
    start = 0
    for index in range(1, len(cells) + 1):
        if index == len(cells) or cells[index] != cells[start]:
            glyph, style = cells[start]
            row.append(glyph * (index - start), style=style)
            start = index


def sample_cell(sample: TargetSample | None, palette: Palette) -> tuple[str, Style]:
    if sample is None:
        return " ", palette.muted
    if not sample.reachable:
        return UNREACHABLE, palette.error
    glyph, style = phase_cell(sample.phase, palette)
    if sample.in_sync is False:
        style = style + Style(underline=True)
    return glyph, style


def pickup_lags(
    history: SecretTimeline,
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


def secret_change_line(
    timeline: SecretTimeline,
    change: SecretChange,
    targets: tuple[TargetStatus, ...],
    now: datetime,
    palette: Palette,
    context: str | None = None,
    context_cells: int = 0,
) -> Text:
    """One change of a secret and how its context's targets picked it up (``context``: named first)."""
    line = Text("  ", style=palette.muted)
    if context is not None:
        line.append(sanitize(f"{context:<{context_cells}} "), style=palette.text)
    line.append(f"{change.at:%H:%M:%S}  ")
    line.append(f"{change.phase.value:<13}", style=palette.phase(change.phase))
    lags = []
    waiting = []
    for target in targets:
        picked = timeline.pickup(target.key, change)
        if picked is None:
            waiting.append(target.ref.pod)
        else:
            lags.append(((picked - change.at).total_seconds(), target.ref.pod))
    line.append(f" picked up by {len(lags)}/{len(targets)}", style=palette.text)
    if lags:
        slowest = max(lags)
        line.append(f" · slowest {human_duration(slowest[0])} (", style=palette.muted)
        line.append_text(literal(slowest[1]))
        line.append(")", style=palette.muted)
    if waiting and change is timeline.changes[-1]:
        line.append(f" · waiting {len(waiting)}: ", style=palette.warn)
        line.append_text(literal(", ".join(waiting[:4]) + (" …" if len(waiting) > 4 else "")))
    elif waiting:
        line.append(f" · {len(waiting)} never held it", style=palette.muted)
    return line
