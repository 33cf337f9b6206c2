"""The findings list: every finding of the snapshot in the domain's order (critical first), with hints."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from gloomon.domain.model import FleetSnapshot
from gloomon.ui.format import Palette, literal

_MARKS = {"critical": "✖", "warning": "▲", "info": "●"}


def findings_renderable(snapshot: FleetSnapshot | None, palette: Palette) -> RenderableType:
    if snapshot is None:
        return Text("no data yet", style=palette.muted)
    if not snapshot.findings:
        return Text(
            "● no findings: every target holds the secret's certificates and trusts its CAs", style=palette.ok
        )
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)  # mark, severity, code: the same width on every row
    grid.add_column(ratio=1, overflow="fold")  # where, message and hint: wrapped under the message
    for finding in snapshot.findings:  # in the domain's order, as `check` lists them
        style = palette.severity(finding.severity)
        head = Text(
            f"{_MARKS.get(finding.severity.value, '·')} {finding.severity.value:<8} ",
            style=style + Style(bold=True),
        )
        head.append(f"{finding.code:<22}", style=style)
        where = finding.pod or (finding.component.value if finding.component else "fleet")
        body = literal(f"{where}  ")
        body.append_text(literal(finding.message))
        grid.add_row(head, body)
        if finding.hint:
            grid.add_row(Text(), Text.assemble(("hint: ", palette.muted), literal(finding.hint)))
    title = Text(f"Findings · {len(snapshot.findings)}", style=palette.accent + Style(bold=True))
    return Group(title, grid)


class FindingsList(Static):
    """Draws :func:`findings_renderable`."""

    def show(self, snapshot: FleetSnapshot | None) -> None:
        self.update(findings_renderable(snapshot, Palette.from_variables(self.app.theme_variables)))
