"""The findings list: every finding of the snapshot in the domain's order (critical first), with hints."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.style import Style
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
    lines: list[Text] = [
        Text(f"Findings · {len(snapshot.findings)}", style=palette.accent + Style(bold=True))
    ]
    for finding in snapshot.findings:  # in the domain's order, as `check` lists them
        style = palette.severity(finding.severity)
        line = Text(
            f"{_MARKS.get(finding.severity.value, '·')} {finding.severity.value:<8} ",
            style=style + Style(bold=True),
        )
        line.append(f"{finding.code:<22} ", style=style)
        where = finding.pod or (finding.component.value if finding.component else "fleet")
        line.append_text(literal(f"{where}  "))
        line.append_text(literal(finding.message))
        lines.append(line)
        if finding.hint:
            lines.append(Text.assemble(("             hint: ", palette.muted), literal(finding.hint)))
    return Group(*lines)


class FindingsList(Static):
    """Draws :func:`findings_renderable`."""

    def show(self, snapshot: FleetSnapshot | None) -> None:
        self.update(findings_renderable(snapshot, Palette.from_variables(self.app.theme_variables)))
