"""The expiry view: time left of every pod's leaf and every CA as bars, soonest first.

Bars share one scale (the longest time left), so the certificate that needs attention first is both at
the top and the shortest bar; colours follow the expiry thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gloomon.domain.cells import pod_suffix
from gloomon.domain.compare.sync import CertKey, cert_key
from gloomon.domain.health.judge import HealthPolicy, expiry_severity
from gloomon.domain.model import CertInfo, FleetSnapshot
from gloomon.ui.format import Palette, ca_label, human_time_left, literal

LABEL_WIDTH = 36
LEFT_WIDTH = 16


@dataclass(frozen=True, slots=True)
class ExpiryRow:
    label: str
    kind: str  # "leaf" | "CA" | "secret leaf"
    cert: CertInfo


def expiry_rows(snapshot: FleetSnapshot) -> list[ExpiryRow]:
    """Every pod's leaf, the secret's leaf, and every distinct CA (secret first, then pods)."""
    rows: list[ExpiryRow] = []
    seen_cas: set[CertKey] = set()
    secret = snapshot.secret.state if snapshot.secret else None
    if secret is not None and secret.leaf is not None:
        rows.append(ExpiryRow("secret tls.crt", "leaf", secret.leaf))
    bundles = [secret.bundle] if secret is not None and secret.bundle is not None else []
    bundles += [target.bundle for target in snapshot.targets]
    for bundle in bundles:
        for ca in bundle.cas:
            if cert_key(ca) not in seen_cas:
                seen_cas.add(cert_key(ca))
                rows.append(ExpiryRow(f"{ca_label(ca)} {ca.common_name or ''}".rstrip(), "CA", ca))
    for target in snapshot.targets:
        if target.leaf is not None:
            rows.append(
                ExpiryRow(f"{target.ref.component.value}/{pod_suffix(target.ref.pod)}", "leaf", target.leaf)
            )
    return rows


def expiry_renderable(
    snapshot: FleetSnapshot | None, now: datetime, width: int, palette: Palette, policy: HealthPolicy
) -> RenderableType:
    if snapshot is None:
        return Text("no data yet", style=palette.muted)
    rows = sorted(expiry_rows(snapshot), key=lambda row: row.cert.not_after)
    if not rows:
        return Text("no certificates seen", style=palette.muted)
    longest = max(max(row.cert.seconds_left(now) for row in rows), 1.0)
    bar_width = max(width - 5 - LABEL_WIDTH - 2 - LEFT_WIDTH - len("2027-01-10 09:30") - 1, 10)
    lines = [
        Text.assemble(
            ("Expiry ", palette.accent + Style(bold=True)),
            ("soonest first · bars share one scale (longest: ", palette.muted),
            (human_time_left(longest), palette.muted),
            (")", palette.muted),
        )
    ]
    for row in rows:
        left = row.cert.seconds_left(now)
        style = palette.severity(expiry_severity(row.cert, now, policy))
        line = Text(f"{row.kind:>4} ", style=palette.muted)
        line.append_text(literal(f"{row.label[: LABEL_WIDTH - 1]:<{LABEL_WIDTH}}"))
        filled = 0 if left <= 0 else max(1, round(bar_width * left / longest))
        line.append("█" * filled, style=style)
        line.append("─" * (bar_width - filled), style=palette.muted)
        line.append(f"  {human_time_left(left):<{LEFT_WIDTH}}", style=style + Style(bold=left <= 0))
        line.append(f"{row.cert.not_after:%Y-%m-%d %H:%M}", style=palette.muted)
        lines.append(line)
    return Group(*lines)


class ExpiryChart(Static):
    """Draws :func:`expiry_renderable` at the widget's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._args: tuple[FleetSnapshot | None, datetime, HealthPolicy] | None = None

    def show(self, snapshot: FleetSnapshot | None, now: datetime, policy: HealthPolicy) -> None:
        self._args = (snapshot, now, policy)
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        if self._args is None or not self.size.width:
            return
        palette = Palette.from_variables(self.app.theme_variables)
        snapshot, now, policy = self._args
        self.update(expiry_renderable(snapshot, now, self.size.width, palette, policy))
