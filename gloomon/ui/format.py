"""Domain values → Rich ``Text`` for every widget: colours, validity bars, bundle cells.

Pure presentation: no judgement lives here (that is ``gloomon.domain.health.judge``), only how a judged
value looks; the words of cells the check report shows too come from :mod:`gloomon.domain.cells`.
Colours come from the active Textual theme (:class:`Palette`), never from hex codes, and remote text is
always wrapped in ``Text`` literally (never parsed as markup).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.style import Style
from rich.text import Text

from gloomon.domain.cells import (
    NONE,
    keep_end,
    phase_words,
    pod_suffix,
    sync_words,
    time_left_words,
    xds_words,
)
from gloomon.domain.health.judge import HealthPolicy, expiry_severity
from gloomon.domain.model import CertInfo, Component, Phase, Severity, TargetStatus, TrustBundle
from gloomon.domain.parse.durations import human_duration, human_time_left
from gloomon.domain.text import reveal

__all__ = ["human_duration", "human_time_left", "keep_end", "pod_suffix"]

#: component names that keep narrow columns narrow (the log pane's source, the timeline's labels)
_SHORT_COMPONENTS = {Component.GATEWAY_PROXY: "gw-proxy", Component.KUBE_GATEWAY: "kube-gw"}


def short_component(component: Component) -> str:
    """``gw-proxy``, ``kube-gw``; the others are short already."""
    return _SHORT_COMPONENTS.get(component, component.value)


@dataclass(frozen=True, slots=True)
class Palette:
    """Rich styles resolved from the theme's variables, so DataTable cells follow the theme too."""

    ok: Style
    warn: Style
    error: Style
    accent: Style
    muted: Style
    text: Style

    @classmethod
    def from_variables(cls, variables: dict[str, str]) -> Palette:
        """Map theme variables to styles.

        ``accent`` is the theme's lightened primary: many themes make ``$accent`` the same orange as
        ``$warning``, and a rotation in progress is not a warning.
        """

        def color(*names: str) -> Style:
            for name in names:
                value = variables.get(name, "")
                if value.startswith("#"):
                    return Style(color=value)
            return Style()

        return cls(
            ok=color("success"),
            warn=color("warning"),
            error=color("error-lighten-1", "error"),
            accent=color("primary-lighten-2", "primary-lighten-1", "primary"),
            muted=color("foreground-darken-3", "foreground"),
            text=Style(),
        )

    def severity(self, severity: Severity | None) -> Style:
        if severity is Severity.CRITICAL:
            return self.error
        if severity is Severity.WARNING:
            return self.warn
        if severity is Severity.INFO:
            return self.accent
        return self.ok

    def phase(self, phase: Phase) -> Style:
        return {
            Phase.STEADY: self.ok,
            Phase.CA_ADDED: self.accent,
            Phase.LEAF_ROTATED: self.accent,
            Phase.STALLED: self.warn,
            Phase.BROKEN: self.error,
        }.get(phase, self.muted)


def literal(text: str | None) -> Text:
    """Remote text as inert ``Text``: no markup parsing, control characters (ESC…) made visible."""
    return Text(sanitize(text or ""))


def sanitize(text: str) -> str:
    """Remote text for a widget, on :func:`gloomon.domain.text.reveal`: escape sequences gone, every other
    control or format character (NUL, C1, a bidi override) shown as ``\\xNN``/``\\uNNNN`` so a hostile
    name is seen for what it is, tabs as four spaces."""
    return reveal(text, _mark).replace("\t", "    ")


def _mark(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def short_version(version: str | None, width: int = 8) -> Text:
    """The first ``width`` characters of a version (an SDS ``version_info`` is a long hash) as shown,
    literal (cut after :func:`sanitize`, so an escape sequence costs no cells); the detail pane shows it
    whole."""
    if not version:
        return Text("—")
    return Text(sanitize(version)[:width])


# ---------------------------------------------------------------------------------------------- expiry


def time_left(
    cert: CertInfo | None, now: datetime, palette: Palette, policy: HealthPolicy, *, compact: bool = False
) -> Text:
    """:func:`~gloomon.domain.cells.time_left_words`, coloured by the policy's expiry thresholds."""
    if cert is None:
        return Text(NONE, style=palette.muted)
    severity = expiry_severity(cert, now, policy)
    return Text(time_left_words(cert, now, compact=compact), style=palette.severity(severity))


def validity_bar(
    cert: CertInfo, now: datetime, palette: Palette, policy: HealthPolicy, width: int = 28
) -> Text:
    """``2025-11-25 ━━━━━━━━┃──────── 2026-11-25``: elapsed part dim, ``┃`` is now, rest by urgency."""
    total = max(cert.lifetime_seconds, 1.0)
    elapsed = (now - cert.not_before).total_seconds()
    fraction = min(max(elapsed / total, 0.0), 1.0)
    marker = min(round(fraction * (width - 1)), width - 1)
    style = palette.severity(expiry_severity(cert, now, policy))
    bar = Text()
    bar.append(cert.not_before.strftime("%Y-%m-%d "), style=palette.muted)
    bar.append("━" * marker, style=palette.muted)
    bar.append("┃", style=style + Style(bold=True))
    bar.append("━" * (width - 1 - marker), style=style)
    bar.append(cert.not_after.strftime(" %Y-%m-%d"), style=palette.muted)
    return bar


# ---------------------------------------------------------------------------------------------- bundle


#: the CAs a bundle cell names; the count in front says how many there are
BUNDLE_CELL_CAS = 3


def bundle_cell(bundle: TrustBundle, signer: int | None, palette: Palette, digits: int = 6) -> Text:
    """``2× 3fa2c1 ◆9b07e4``: CA count, short fingerprints (or serials), ``◆`` marks the leaf's signer."""
    if not bundle.cas:
        return Text("none", style=palette.error)
    count = len(bundle.cas)
    cell = Text(f"{count}× ", style=palette.muted if count == 1 else palette.accent)
    # A cell names a few CAs at most; a longer bundle is named by its signer alone (``10000× …◆3bb5 …``),
    # so the cell costs the same at any bundle size and still says which CA signed the leaf.
    if count <= BUNDLE_CELL_CAS:
        shown = list(range(count))
    else:
        shown = [signer if signer is not None and signer < count else 0]
    if shown[0] > 0:
        cell.append("…", style=palette.muted)
    for position, index in enumerate(shown):
        if position:
            cell.append(" ")
        label = ca_label(bundle.cas[index], digits)
        if index == signer:
            cell.append("◆" + label, style=Style(bold=True))
        else:
            cell.append(label, style=palette.muted if signer is not None else palette.text)
    if not bundle.complete or shown[-1] < count - 1:
        cell.append(" …", style=palette.muted)
    return cell


def ca_label(ca: CertInfo, digits: int = 8) -> str:
    """A CA's short name: its fingerprint, else its serial (from Envoy's /certs: remote text, sanitized)."""
    return sanitize((ca.sha256 or ca.serial)[:digits])


# ---------------------------------------------------------------------------------------------- phase


def phase_cell(target: TargetStatus, palette: Palette) -> Text:
    return Text(phase_words(target), style=palette.phase(target.verdict.phase))


def sync_cell(target: TargetStatus, palette: Palette) -> Text:
    in_sync = target.in_sync_with_secret
    behind = target.copy_behind_seconds is not None  # its namespace's copy lags: not green
    style = palette.muted if in_sync is None else palette.ok if in_sync and not behind else palette.warn
    return Text(sync_words(target), style=style)


def xds_cell(target: TargetStatus, palette: Palette, width: int | None = None) -> Text:
    xds = target.xds
    style = palette.muted if xds is None else palette.ok if xds.healthy else palette.error
    return Text(xds_words(target, width), style=style)


def count_cell(count: int, palette: Palette) -> Text:
    return Text(str(count), style=palette.error if count else palette.muted)


def stale_note(target: TargetStatus, now: datetime) -> str | None:
    """``last read 20s ago`` for a row shown from its last observation while the Kubernetes API is
    unreachable (``stale_since``), else None."""
    if target.stale_since is None or target.fetch is None:
        return None
    age = max((now - target.fetch.fetched_at).total_seconds(), 0.0)
    return f"last read {human_duration(age)} ago"
