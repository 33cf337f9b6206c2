"""The expiry view: time left of every pod's leaf, the validation webhook's certificate and every CA as
bars, soonest first.

Bars share one scale (the longest time left), so the certificate that needs attention first is both at
the top and the shortest bar; colours follow the expiry thresholds.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from gloomon.domain.cells import pod_suffix
from gloomon.domain.compare.sync import CertKey, bundle_digest, bundle_key, cert_key
from gloomon.domain.health.judge import HealthPolicy, expiry_severity
from gloomon.domain.model import CertInfo, FleetSnapshot
from gloomon.domain.words import counted
from gloomon.ui.format import Palette, ca_label, human_time_left, literal
from gloomon.ui.widgets.rendered import RenderedOnce, texts_key

LABEL_WIDTH = 36
LEFT_WIDTH = 16
MIN_LABEL_WIDTH = 16
MIN_BAR_WIDTH = 10
DATE_WIDTH = len("2027-01-10 09:30")
#: rows drawn (the soonest); the others are counted in one line, so drawing costs the same at any bundle
#: size (a bundle of thousands of CAs)
SHOWN_ROWS = 60


@dataclass(frozen=True, slots=True)
class ExpiryRow:
    label: str
    kind: str  # "leaf" | "CA" | "secret leaf"
    cert: CertInfo


@dataclass(frozen=True, slots=True)
class Soonest:
    """The rows to draw (the :data:`SHOWN_ROWS` soonest, labelled), how many certificates there are in
    all, and the longest time any of them has left (the bars' scale)."""

    rows: list[ExpiryRow]
    total: int
    latest: datetime


def soonest_rows(snapshot: FleetSnapshot, limit: int = SHOWN_ROWS) -> Soonest | None:
    """Every pod's leaf, the secret's leaf and every distinct CA (secret first, then pods), soonest first;
    only the ``limit`` soonest are labelled and kept, so a bundle of thousands costs one pass."""
    found: list[tuple[str, CertInfo, str | None]] = []  # kind, certificate, label (a CA's: made later)
    seen_cas: set[CertKey] = set()
    many = len(snapshot.contexts) > 1  # each context's secret and webhook, named by their context

    def named(what: str, context: str, namespace: str | None = None) -> str:
        """``what`` after its context (several watched) and its namespace (a copy's, not the release's)."""
        where = [context] if many else []
        where += [namespace] if namespace is not None and namespace != snapshot.namespace else []
        return " ".join([*where, what])

    bundles = []
    leaves: set[CertKey] = set()  # a copy holding its source's leaf adds no row
    for judged in snapshot.secrets:
        secret = judged.state
        if secret.leaf is not None and cert_key(secret.leaf) not in leaves:
            leaves.add(cert_key(secret.leaf))
            found.append(("leaf", secret.leaf, named("secret tls.crt", secret.context, secret.namespace)))
        if secret.bundle is not None:
            bundles.append(secret.bundle)
    for webhook in (w for w in snapshot.webhooks if w.installed):
        # the validation webhook's certificate (served, and the secret's if another)
        if webhook.served is not None:
            found.append(("leaf", webhook.served, named("webhook served", webhook.context)))
        if webhook.secret_leaf is not None and webhook.secret_leaf != webhook.served:
            found.append(("leaf", webhook.secret_leaf, named("webhook tls.crt", webhook.context)))
        if webhook.secret_bundle is not None:
            bundles.append(webhook.secret_bundle)
    bundles += [target.bundle for target in snapshot.targets]
    seen_bundles: set[str] = set()  # a bundle held by many pods adds no CA after its first: walked once
    for bundle in bundles:
        digest = bundle_digest(bundle)
        if digest in seen_bundles:
            continue
        seen_bundles.add(digest)
        for ca, key in zip(bundle.cas, bundle_key(bundle), strict=True):
            if key not in seen_cas:
                seen_cas.add(key)
                found.append(("CA", ca, None))
    for target in snapshot.targets:
        if target.leaf is not None:
            found.append(("leaf", target.leaf, f"{target.ref.component.value}/{pod_suffix(target.ref.pod)}"))
    if not found:
        return None
    kept = heapq.nsmallest(limit, found, key=lambda entry: entry[1].not_after)
    rows = [
        ExpiryRow(
            label if label is not None else f"{ca_label(cert)} {cert.common_name or ''}".rstrip(), kind, cert
        )
        for kind, cert, label in kept
    ]
    return Soonest(rows, len(found), max(entry[1].not_after for entry in found))


def _widths(rows: list[ExpiryRow], now: datetime, width: int) -> tuple[int, int, int]:
    """(label, time left, bar) widths so that a row fits ``width`` and never wraps: the label and the
    time-left columns as wide as their longest text (up to their maximum), the bar takes what is left,
    and on a narrow terminal the label gives way first (down to :data:`MIN_LABEL_WIDTH`)."""
    label_width = min(LABEL_WIDTH, max(len(row.label) for row in rows) + 1)
    left_width = min(LEFT_WIDTH, max(len(human_time_left(row.cert.seconds_left(now))) for row in rows) + 1)
    fixed = len("leaf ") + 2 + left_width + DATE_WIDTH + 1
    bar_width = width - fixed - label_width
    if bar_width < MIN_BAR_WIDTH:
        label_width = max(MIN_LABEL_WIDTH, label_width - (MIN_BAR_WIDTH - bar_width))
        bar_width = width - fixed - label_width
    return label_width, left_width, max(bar_width, 1)


def expiry_lines(
    snapshot: FleetSnapshot | None,
    now: datetime,
    width: int,
    palette: Palette,
    policy: HealthPolicy,
    soonest: Soonest | None = None,
) -> list[Text]:
    """The chart's lines at ``width``; ``soonest`` is :func:`soonest_rows` of the snapshot when already
    known."""
    if snapshot is None:
        return [Text("no data yet", style=palette.muted)]
    soonest = soonest if soonest is not None else soonest_rows(snapshot)
    if soonest is None:
        return [Text("no certificates seen", style=palette.muted)]
    rows = soonest.rows
    longest = max((soonest.latest - now).total_seconds(), 1.0)
    label_width, left_width, bar_width = _widths(rows, now, width)
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
        line.append_text(literal(f"{row.label[: label_width - 1]:<{label_width}}"))
        filled = 0 if left <= 0 else max(1, round(bar_width * left / longest))
        line.append("█" * filled, style=style)
        line.append("─" * (bar_width - filled), style=palette.muted)
        line.append(f"  {human_time_left(left):<{left_width}}", style=style + Style(bold=left <= 0))
        line.append(f"{row.cert.not_after:%Y-%m-%d %H:%M}", style=palette.muted)
        lines.append(line)
    if soonest.total > len(rows):
        more = counted(soonest.total - len(rows), "more certificate")
        lines.append(Text(f"… and {more}, expiring later", style=palette.muted))
    return lines


class ExpiryChart(Static):
    """Draws :func:`expiry_lines` at the widget's width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._args: tuple[FleetSnapshot | None, datetime, HealthPolicy] | None = None
        self._drawn: tuple[object, ...] | None = None  # the width and texts on show

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
        soonest = _soonest_of(snapshot) if snapshot is not None else None
        lines = expiry_lines(snapshot, now, self.size.width, palette, policy, soonest)
        drawn = (self.size.width, texts_key(lines))
        if drawn == self._drawn:  # the same as on show (most polls): no layout, no paint
            return
        self._drawn = drawn
        self.update(RenderedOnce(Group(*lines)))


#: the rows of the latest snapshot shown: found once per snapshot, not on every tick, resize or opening
_last_soonest: list[tuple[FleetSnapshot, Soonest | None]] = []


def _soonest_of(snapshot: FleetSnapshot) -> Soonest | None:
    if not _last_soonest or _last_soonest[0][0] is not snapshot:
        _last_soonest[:] = [(snapshot, soonest_rows(snapshot))]
    return _last_soonest[0][1]
