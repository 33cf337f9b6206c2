"""The validation webhook as its own row group under the fleet table: the certificate gloo serves, the
secret's, each webhook's ``caBundle`` and certgen's Job, in the words of
:func:`gloomon.domain.webhook_view.webhook_rows` (``check``'s table says the same). Hidden when the
snapshot has no webhook (``--target``, or a namespace without Gloo's validation)."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, WebhookState
from gloomon.domain.webhook_view import webhook_rows
from gloomon.ui.format import Palette, literal, time_left

LABEL_WIDTH = 16


def webhook_renderable(
    webhook: WebhookState, now: datetime, palette: Palette, policy: HealthPolicy
) -> RenderableType:
    """A title line, then one line per row: mark, label, serial and time left, the row's words."""
    title = Text.assemble(("validation webhook", palette.accent + Style(bold=True)), ("  ", palette.muted))
    title.append_text(literal(webhook.context))
    lines: list[RenderableType] = [title]
    for row in webhook_rows(webhook, now):
        mark, style = (
            ("✓", palette.ok) if row.ok else ("✗", palette.error) if row.ok is False else ("?", palette.warn)
        )
        # one line per row at any width (the words are cut with an ellipsis, never wrapped to column 0)
        line = Text.assemble(
            (f" {mark} ", style),
            (f"{row.label[: LABEL_WIDTH - 1]:<{LABEL_WIDTH}}", palette.text),
            no_wrap=True,
            overflow="ellipsis",
        )
        if row.cert is not None:
            line.append(f"{row.cert.short_serial:<9}", style=palette.muted)
            left = time_left(row.cert, now, palette, policy, compact=True)
            left.pad_right(max(0, 7 - left.cell_len))
            line.append_text(left)
        words = literal(row.words)
        words.stylize(style if row.ok is False else palette.muted)
        line.append_text(words)
        lines.append(line)
    return Group(*lines)


class WebhookPanel(Static):
    """Draws :func:`webhook_renderable` for the snapshot's webhook; no data, no panel."""

    def show(self, snapshot: FleetSnapshot, now: datetime, palette: Palette, policy: HealthPolicy) -> None:
        webhook = snapshot.webhook
        self.display = webhook is not None
        if webhook is not None:
            self.update(webhook_renderable(webhook, now, palette, policy))
