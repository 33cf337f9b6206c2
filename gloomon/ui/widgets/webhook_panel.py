"""The validation webhook as its own row group under the fleet table: the certificate gloo serves, the
secret's, each webhook's ``caBundle`` and certgen's Job, in the words of
:func:`gloomon.domain.webhook_view.webhook_rows` (``check``'s table says the same). Hidden when the
snapshot has no webhook (``--target``, or a namespace without Gloo's validation); with several
contexts, each one's webhook."""

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


def _title(webhook: WebhookState, palette: Palette) -> Text:
    """``validation webhook  <context>``: the context is remote text, shown literally."""
    title = Text.assemble(("validation webhook", palette.accent + Style(bold=True)), ("  ", palette.muted))
    title.append_text(literal(webhook.context))
    return title


def webhook_renderable(
    webhook: WebhookState, now: datetime, palette: Palette, policy: HealthPolicy
) -> RenderableType:
    """A title line, then one line per row: mark, label, serial and time left, the row's words."""
    lines: list[RenderableType] = [_title(webhook, palette)]
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


def webhook_line(webhook: WebhookState, now: datetime, palette: Palette, policy: HealthPolicy) -> Text | None:
    """One line for a webhook whose every row is fine (several contexts: trouble keeps its rows, the
    healthy say so in one line each); None when a row is not."""
    rows = webhook_rows(webhook, now)
    if not rows or any(row.ok is not True for row in rows):
        return None
    line = _title(webhook, palette)
    line.append("  ✓ ", style=palette.ok)
    served = next((row.cert for row in rows if row.cert is not None), None)
    if served is not None:
        line.append(f"{served.short_serial} ", style=palette.muted)
        line.append_text(time_left(served, now, palette, policy, compact=True))
    line.append(f"  {len(rows)} rows fine: served, secret and every caBundle agree", style=palette.muted)
    line.no_wrap, line.overflow = True, "ellipsis"
    return line


class WebhookPanel(Static):
    """Draws :func:`webhook_renderable` for the installed webhook; with several contexts each one's, in
    the contexts' order, a healthy one as its :func:`webhook_line`; no data, no panel."""

    def show(self, snapshot: FleetSnapshot, now: datetime, palette: Palette, policy: HealthPolicy) -> None:
        webhooks = [webhook for webhook in snapshot.webhooks if webhook.installed]
        self.display = bool(webhooks)
        if len(webhooks) == 1:
            self.update(webhook_renderable(webhooks[0], now, palette, policy))
        elif webhooks:
            self.update(
                Group(
                    *(webhook_line(w, now, palette, policy) or webhook_renderable(w, now, palette, policy)
                      for w in webhooks)
                )
            )  # fmt: skip
