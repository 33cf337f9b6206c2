"""The detail pane: everything about the selected target, next to what the secret holds.

Leaf and every CA with a validity bar (now marked), which CA signed the leaf, what differs from the
secret (highlighted), the clusters and their health, the port-forward address to ``curl``, and this
pod's findings with their hints.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from gloomon.domain.cells import compared_with_words, link_words, name_words, sds_stream_words
from gloomon.domain.compare.sync import bundle_differences, cert_key, same_bundle, same_cert
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.health.links import close_reason
from gloomon.domain.model import (
    CertInfo,
    ClustersReport,
    Finding,
    FleetSnapshot,
    ForwardStatus,
    LinkState,
    TargetStatus,
    TrustBundle,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import one_line
from gloomon.domain.words import counted, plural
from gloomon.ui.format import (
    Palette,
    ca_label,
    human_time_left,
    literal,
    phase_cell,
    stale_note,
    sync_cell,
    validity_bar,
)
from gloomon.ui.widgets.rendered import RenderedOnce, texts_key

_BOLD = Style(bold=True)
#: what holds each text of a sheet, so that the same texts laid out otherwise make another key
_HEADING, _FIELD, _LINE = Text("heading"), Text("field"), Text("line")


class Sheet:
    """Headings and aligned ``name value`` rows; values wrap inside their own column."""

    def __init__(self, palette: Palette, policy: HealthPolicy) -> None:
        self.palette = palette
        self.policy = policy
        self.parts: list[RenderableType] = []
        self._rows: list[tuple[Text, Text]] = []
        self._texts: list[Text] = []  # every text, in order, with a marker of what holds it

    def heading(self, title: str) -> None:
        self._flush()
        text = Text.assemble("\n", (title, self.palette.accent + _BOLD))
        self.parts.append(text)
        self._texts += [_HEADING, text]

    def field(self, name: str, value: Text | str, name_style: Style | None = None) -> None:
        label = Text(name, style=name_style or self.palette.muted)
        value = value if isinstance(value, Text) else literal(value)
        self._rows.append((label, value))
        self._texts += [_FIELD, label, value]

    def line(self, text: Text) -> None:
        self._flush()
        self.parts.append(text)
        self._texts += [_LINE, text]

    def key(self) -> tuple[object, ...]:
        """What the sheet draws (:func:`texts_key`): two sheets with equal keys look the same."""
        return texts_key(self._texts)

    def _flush(self) -> None:
        if not self._rows:
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=9, no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")  # long commands in hints stay whole (copyable)
        for name, value in self._rows:
            grid.add_row(name, value)
        self.parts.append(grid)
        self._rows = []

    def render(self) -> RenderableType:
        self._flush()
        return Group(*self.parts)


def cert_fields(sheet: Sheet, cert: CertInfo, now: datetime) -> None:
    """Subject, SANs, serial, issuer, the validity bar and the parser's notes of one certificate."""
    palette = sheet.palette
    sheet.field("subject", cert.subject or cert.common_name or "—")
    if cert.sans:
        sheet.field("SANs", "\n".join(cert.sans))
    sheet.field("issuer", cert.issuer or "—")
    sheet.field("serial", cert.serial)
    if cert.sha256:
        sheet.field("sha256", cert.sha256[:16] + "…")
    sheet.field("validity", validity_bar(cert, now, palette, sheet.policy, width=14))
    left = cert.seconds_left(now)
    words = (
        f"{human_time_left(left)}"
        + ("" if left < 0 else " left")
        + f" · until {cert.not_after:%Y-%m-%d %H:%M}"
    )
    sheet.field("", Text(words, style=palette.error + _BOLD if left < 0 else palette.muted))
    if cert.notes:
        sheet.field("notes", Text("\n".join(cert.notes), style=palette.warn))


#: the CAs of a bundle drawn in full; a bundle of thousands (a rotation that never finished) shows these
#: and says how many more there are, so drawing the pane costs the same at any bundle size
SHOWN_CAS = 6
#: the secret's CAs missing here listed by name; the rest are counted
SHOWN_MISSING = 5


def shown_cas(count: int, keep: list[int], limit: int = SHOWN_CAS) -> list[int]:
    """Which CA indices to draw, in bundle order: all when they fit; else the ones to ``keep`` (the
    signer, CAs the secret lacks; at most half the room), then the oldest and the newest alternately."""
    if count <= limit:
        return list(range(count))
    chosen = set(list(dict.fromkeys(index for index in keep if 0 <= index < count))[: limit // 2])
    oldest, newest = 0, count - 1
    while len(chosen) < limit:
        for index in (oldest, newest):
            if len(chosen) < limit:
                chosen.add(index)
        oldest, newest = oldest + 1, newest - 1
    return sorted(chosen)


def _more_cas(count: int, first: int, last: int, palette: Palette) -> Text:
    """The line standing for the CAs #first…#last (1-based) that are not drawn."""
    where = f"#{first:,}" if first == last else f"#{first:,}–#{last:,}"
    return Text(f"… and {count:,} more {plural(count, 'CA')} ({where})", style=palette.muted)


def _bundle(
    sheet: Sheet, bundle: TrustBundle, signer: int | None, secret: TrustBundle | None, now: datetime
) -> None:
    palette = sheet.palette
    extra, missing = bundle_differences(bundle, secret) if secret is not None else ([], [])
    not_in_secret = set(extra)
    shown = shown_cas(len(bundle), ([signer] if signer is not None else []) + extra)
    drawn = 0
    for index in shown:
        if index > drawn:
            sheet.line(_more_cas(index - drawn, drawn + 1, index, palette))
        drawn = index + 1
        ca = bundle.cas[index]
        head = Text(f"CA #{index + 1} ", style=_BOLD)
        head.append(ca_label(ca), style=palette.accent)
        if ca.common_name and ca.common_name not in (ca.subject or ""):  # else the subject says it
            head.append("  ")
            head.append_text(literal(ca.common_name))
        if index == signer:
            head.append("  ◆ signed the leaf", style=palette.ok)
        if index in not_in_secret:
            head.append("  not in the secret", style=palette.warn + _BOLD)
        sheet.line(head)
        cert_fields(sheet, ca, now)
    if drawn < len(bundle):
        sheet.line(_more_cas(len(bundle) - drawn, drawn + 1, len(bundle), palette))
    if secret is not None:
        for index in missing[:SHOWN_MISSING]:
            sheet.line(
                Text(
                    f"secret's CA #{index + 1} {ca_label(secret.cas[index])} is missing here",
                    style=palette.warn + _BOLD,
                )
            )
        if len(missing) > SHOWN_MISSING:
            more = len(missing) - SHOWN_MISSING
            words = f"… and {more:,} more of the secret's {plural(more, 'CA')} missing here"
            sheet.line(Text(words, style=palette.warn))
        sheet.line(_compare(same_bundle(bundle, secret), "bundle", palette))
    if not bundle.complete:
        sheet.line(Text("(from /certs: Envoy lists only the first CA)", style=palette.muted))


def _compare(same: bool, what: str, palette: Palette) -> Text:
    if same:
        return Text(f"= the secret's {what}", style=palette.ok)
    return Text(f"≠ differs from the secret's {what}", style=palette.warn + _BOLD)


def _clusters(sheet: Sheet, target: TargetStatus, now: datetime) -> None:
    palette = sheet.palette
    if target.xds is not None:
        link = literal(target.xds.cluster)
        idle = target.xds.state is LinkState.IDLE
        link.append(
            f"  {link_words(target, now)}",
            style=palette.muted if idle else palette.ok if target.xds.healthy else palette.error + _BOLD,
        )
        sheet.field("xDS link", link)
        closed, at = target.xds.stream_closed, target.xds.stream_closed_at
        if closed is not None and at is not None:
            ago = human_duration(max((now - at).total_seconds(), 0.0))
            line = literal(one_line(close_reason(closed), 300))
            line.stylize(palette.warn)
            sheet.field(f"closed {ago} ago", line)
    clusters = target.fetch.clusters if target.fetch else None
    if not isinstance(clusters, ClustersReport):
        if target.xds is None:
            sheet.line(Text("no cluster data", style=palette.muted))
        return
    for cluster in clusters.clusters[:12]:
        healthy = sum(1 for host in cluster.hosts if host.healthy)
        row = Text(
            f"{healthy}/{len(cluster.hosts)} healthy", style=palette.ok if cluster.healthy else palette.warn
        )
        if cluster.cx_connect_fail:
            row.append(f" · {cluster.cx_connect_fail} connect fails", style=palette.error)
        row.append("  ")
        row.append_text(literal(cluster.name))
        sheet.field("cluster", row)


def detail_renderable(
    target: TargetStatus, snapshot: FleetSnapshot, now: datetime, palette: Palette, policy: HealthPolicy
) -> RenderableType:
    """The whole pane for one target as one Rich renderable."""
    return detail_sheet(target, snapshot, now, palette, policy).render()


def detail_sheet(
    target: TargetStatus, snapshot: FleetSnapshot, now: datetime, palette: Palette, policy: HealthPolicy
) -> Sheet:
    """The whole pane for one target, as the sheet that draws it."""
    sheet = Sheet(palette, policy)
    title = Text.assemble((target.ref.component.value, palette.accent + _BOLD), "  ")
    title.append_text(literal(target.ref.pod))
    sheet.line(title)
    place = literal(f"{target.ref.context} / {target.ref.namespace}")
    place.stylize(palette.muted)
    sheet.line(place)
    if name_words(target.ref) != target.ref.component.value:  # a proxy of its own name: public-gw
        sheet.field("proxy", literal(f"{target.ref.proxy} (container {target.ref.envoy_container})"))
    _reach(sheet, target, stale_note(target, now))
    phase = phase_cell(target, palette)
    if target.reachable:
        phase.append("  ")
        phase.append_text(literal(target.verdict.reason))
    sheet.field("phase", phase)
    sheet.field("in sync", sync_cell(target, palette))
    compared_with = compared_with_words(snapshot, target)
    if compared_with is not None:
        sheet.field("secret", literal(compared_with))
    sheet.field("sds ver", target.sds_version or "—")
    stream = sds_stream_words(target, now)
    if stream is not None:
        closed = not stream.startswith("open")
        sheet.field("sds stream", Text(stream, style=palette.warn if closed else palette.muted))
    sheet.field("envoy", target.envoy_version or "—")
    if target.user_tls_errors:
        noise = counted(target.user_tls_errors, "TLS failure")
        noise += " on user listeners/upstreams, not the mTLS link"
        sheet.field("user TLS", Text(noise, style=sheet.palette.muted))
    _findings(sheet, target, snapshot)
    if not target.reachable and target.leaf is None and not target.bundle.cas:
        sheet.heading("Certificates")
        sheet.line(Text("unknown while its admin endpoint is unreachable", style=palette.muted))
        return sheet
    compared = snapshot.secret_for(target.ref.context, target.ref.namespace)
    secret = compared.state if compared is not None else None
    sheet.heading("Leaf · server_cert")
    if target.leaf is None:
        sheet.line(Text("no leaf delivered", style=palette.warn))
    else:
        cert_fields(sheet, target.leaf, now)
        signer_index = target.verdict.signer_index
        if signer_index is not None and signer_index < len(target.bundle):
            signer = target.bundle.cas[signer_index]
            sheet.field("signed by", Text(f"CA #{signer_index + 1} {ca_label(signer)}", style=palette.ok))
        else:
            sheet.field("signed by", Text("no CA of its bundle", style=palette.error + _BOLD))
        if secret is not None and secret.leaf is not None:
            same = same_cert(secret.leaf, target.leaf)
            sheet.line(_compare(same, "leaf", palette))
            if not same:
                serial = literal(f"serial {secret.leaf.serial}")
                serial.stylize(palette.warn)
                sheet.field("secret", serial)
    count = len(target.bundle)
    capped = f" ({SHOWN_CAS} shown)" if count > SHOWN_CAS else ""
    sheet.heading(f"Bundle · validation_context · {counted(count, 'CA')}{capped}")
    _bundle(sheet, target.bundle, target.verdict.signer_index, secret.bundle if secret else None, now)
    sheet.heading("Clusters")
    _clusters(sheet, target, now)
    return sheet


def _reach(sheet: Sheet, target: TargetStatus, stale: str | None) -> None:
    """Where to reach the admin endpoint (the port-forward to ``curl``), or why it cannot be reached
    (``stale``: how old the data shown is, while the API is unreachable)."""
    palette = sheet.palette
    forward = target.ref.forward
    if forward is not None and forward.status is ForwardStatus.DIRECT and target.ref.admin_url:
        sheet.field("admin", literal(target.ref.admin_url))  # a --target URL: polled as given, no forward
        sheet.field("curl", literal(f"curl -s '{target.ref.admin_url}/certs'"))
    elif forward is not None and forward.local_address:
        sheet.field("forward", literal(forward.local_address))
        sheet.field("curl", literal(f"curl -s http://{forward.local_address}/certs"))
    elif target.ref.admin_url:
        sheet.field("admin", target.ref.admin_url)
    if forward is not None and forward.error:
        sheet.field("forward", Text(f"{forward.status.value}: ", style=palette.warn) + literal(forward.error))
    if stale is not None:
        sheet.field("stale", Text(f"{stale}: the Kubernetes API is unreachable", style=palette.warn))
    if not target.reachable:
        reason = (target.fetch.error if target.fetch else None) or "no data yet"
        if forward is None or not forward.error or forward.error not in reason:  # else said just above
            sheet.field("reach", Text("unreachable: ", style=palette.error + _BOLD) + literal(reason))


def concerns(finding: Finding, target: TargetStatus) -> bool:
    """Whether a fleet-level finding (``pod=None``) is about this target: its subjects name the pod, or a
    certificate the pod holds (the secret's own leaf/CA expiry is reported once, for the secret)."""
    if finding.pod is not None:
        return False
    if target.ref.pod in finding.subjects.pods:
        return True
    if not finding.subjects.certs:
        return False
    subjects = {cert_key(subject) for subject in finding.subjects.certs}
    held = ([target.leaf] if target.leaf is not None else []) + list(target.bundle.cas)
    return any(cert_key(cert) in subjects for cert in held)


def _findings(sheet: Sheet, target: TargetStatus, snapshot: FleetSnapshot) -> None:
    """This pod's findings, then the fleet's that concern it (under "secret / fleet")."""
    palette = sheet.palette
    own = [f for f in snapshot.findings if f.pod == target.ref.pod]
    shared = [f for f in snapshot.findings if concerns(f, target)]
    if not own and not shared:
        sheet.field("findings", Text("none", style=palette.ok))
        return
    sheet.heading(f"Findings · {len(own) + len(shared)}")
    for finding in own:
        _finding(sheet, finding)
    if shared:
        sheet.line(Text("secret / fleet", style=palette.muted + _BOLD))
        for finding in shared:
            _finding(sheet, finding)


def _finding(sheet: Sheet, finding: Finding) -> None:
    palette = sheet.palette
    sheet.field(finding.severity.value, literal(finding.message), palette.severity(finding.severity) + _BOLD)
    if finding.hint:
        sheet.field("", Text.assemble(("hint: ", palette.muted), literal(finding.hint)))


class DetailPane(VerticalScroll):
    """Scrollable details of the selected target (follows the fleet table's cursor)."""

    can_focus = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Details"
        self.shown_key: str | None = None
        self._drawn: tuple[object, ...] | None = None  # the key of the sheet on show

    def compose(self) -> ComposeResult:
        yield Static(Text("select a target"), id="detail-body")

    def show(
        self,
        target: TargetStatus | None,
        snapshot: FleetSnapshot | None,
        now: datetime,
        policy: HealthPolicy,
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if target is None or snapshot is None:
            self.shown_key = None
            self._drawn = None
            body.update(Text("no target selected"))
            return
        if target.key != self.shown_key:
            self.scroll_home(animate=False)
        self.shown_key = target.key
        palette = Palette.from_variables(self.app.theme_variables)
        sheet = detail_sheet(target, snapshot, now, palette, policy)
        drawn = sheet.key()
        if drawn == self._drawn:  # the same as on show (most polls): no layout, no paint
            return
        self._drawn = drawn
        body.update(RenderedOnce(sheet.render()))
