"""The words of every cell the check report and the dashboard both show: one place, so they never differ.

Plain strings from judged values (a target's phase, sync and link, a certificate's time left, a pod's
short name, the secret's phase badge, the mTLS state). No judgement happens here: each word reads
what the snapshot already decided. Renderers add only their own styling (Rich styles, theme colours).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from gloomon.domain.health.links import down_seconds
from gloomon.domain.health.policy import rotation_duration
from gloomon.domain.health.sds import warming
from gloomon.domain.model import MTLS_HINT as MTLS_HINT  # re-exported: the words report and UI show
from gloomon.domain.model import (
    MTLS_WORDS,
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    CertInfo,
    Component,
    EnvoyStats,
    Finding,
    FleetSnapshot,
    LinkState,
    MtlsState,
    Phase,
    Plane,
    SecretStatus,
    Severity,
    TargetRef,
    TargetStatus,
)
from gloomon.domain.parse.durations import human_duration, human_time_left
from gloomon.domain.words import counted

#: What a cell shows when there is no value.
NONE = "—"

# ------------------------------------------------------------------------------------------- pods


def name_words(ref: TargetRef) -> str:
    """What the name column says: the component, or the proxy's own name when it has one that is not
    the component's (``public-gw``; ``extauth-public-gw``, the dataplanePerProxy label; a kube-gateway's
    Gateway, ``kube-gateway/http``)."""
    proxy, component = ref.proxy, ref.component
    if not proxy or proxy == component.value:
        return component.value
    if component is Component.GATEWAY_PROXY:
        return proxy
    return f"{component.value}/{proxy}" if component is Component.KUBE_GATEWAY else f"{component}-{proxy}"


def short_pod(ref: TargetRef) -> str:
    """The pod name without its deployment's prefix (``gateway-proxy-7d9f-x2k4p`` → ``7d9f-x2k4p``,
    ``public-gw-…``, ``gloo-proxy-<gateway>-…``): what tells replicas apart where a column beside it
    already names the component or proxy."""
    pod = ref.pod
    for prefix in dict.fromkeys((f"{name_words(ref)}-", f"{ref.component.value}-", *_deployment_prefix(ref))):
        if pod.startswith(prefix) and len(pod) > len(prefix):
            return pod[len(prefix) :]
    return pod


def _deployment_prefix(ref: TargetRef) -> tuple[str, ...]:
    """The gateway2 chart names a kube-gateway's Deployment ``gloo-proxy-<gateway>``."""
    if ref.component is Component.KUBE_GATEWAY and ref.proxy:
        return (f"gloo-proxy-{ref.proxy}-",)
    return ()


def pod_suffix(pod: str) -> str:
    """The replica's own suffix: ``gateway-proxy-7d9f8b6c5-x2k4p`` → ``x2k4p``."""
    return pod.rsplit("-", 1)[-1] if "-" in pod else pod


def keep_end(text: str, width: int) -> str:
    """Trim from the left (``…b6c5-x2k4p``): the end of a pod name is what differs between replicas."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]


# ------------------------------------------------------------------------------------------- a target


def phase_words(target: TargetStatus) -> str:
    """The target's phase as the domain judged it (``unknown`` while its admin API is unreachable)."""
    return target.verdict.phase.value


def sync_words(target: TargetStatus) -> str:
    """``✓``, ``lags 1m20s``, ``copy lags`` (it holds its namespace's copy, which is behind its
    source) or ``—`` when there is no secret to compare with."""
    if target.in_sync_with_secret is None:
        return NONE
    if target.in_sync_with_secret and target.copy_behind_seconds is not None:
        return "copy lags"  # its namespace's copy does, not the pod (the detail pane says by how much)
    if target.in_sync_with_secret:
        return "✓"
    return f"lags {human_duration(target.lag_seconds)}" if target.lag_seconds is not None else "differs"


def compared_with_words(snapshot: FleetSnapshot, target: TargetStatus) -> str | None:
    """Which secret the target is compared with, when its context holds copies in other namespaces:
    ``apps/gloo-mtls-certs (its namespace's copy, 5m behind gloo-system's)``; None when its
    context has one secret only (the release namespace's: nothing to tell apart)."""
    ref = target.ref
    secret = snapshot.secret_for(ref.context, ref.namespace)
    ours = [s for s in snapshot.secrets if s.state.context == ref.context]
    if secret is None or len(ours) < 2:
        return None
    state = secret.state
    words = f"{state.namespace}/{state.name}"
    if state.namespace == snapshot.namespace:
        return words + " (certgen's)"
    if state.missing:
        return words + " (its namespace's copy: missing)"
    if target.copy_behind_seconds is not None:
        behind = human_duration(target.copy_behind_seconds)
        return words + f" (its namespace's copy, {behind} behind {snapshot.namespace}'s)"
    return words + f" (its namespace's copy of {snapshot.namespace}'s)"


def xds_words(target: TargetStatus, width: int | None = None) -> str:
    """The link to gloo in a cell: ``healthy`` (seen connected), ``no attempt`` (no open connection and
    no failed one: no evidence either way), ``failing ×3`` (connects fail), ``down ×3`` (the ADS stream is
    closed; gloo: its process unreachable). The connect-fail count is left out when it would not fit
    ``width`` (the counter only grows; the details have it)."""
    link = target.xds
    if link is None:
        return NONE
    if link.state is LinkState.CONNECTED:
        return "healthy"
    if link.state is LinkState.IDLE:
        return "no attempt"
    word = "down" if link.state is LinkState.DISCONNECTED else "failing"
    words = f"{word} ×{link.cx_connect_fail}" if link.cx_connect_fail else word
    return word if width is not None and len(words) > width else words


def link_words(target: TargetStatus, now: datetime) -> str:
    """The link to gloo in a sentence (the detail pane): what was seen, and since when it is down."""
    link = target.xds
    if link is None:
        return NONE
    gloo = target.ref.component is Component.GLOO
    fails = f" · {counted(link.cx_connect_fail, 'failed connect')}" if link.cx_connect_fail else ""
    if link.state is LinkState.CONNECTED:
        if gloo:
            return f"{counted(link.cx_active, 'client')} connected through the sidecar{fails}"
        if link.connected:
            return f"ADS stream open{fails}"
        if link.cx_active == 0 and link.health_checks_pass:
            return f"its health checks pass (no open connection){fails}"
        return f"{counted(link.cx_active, 'open connection')}{fails}"
    if link.state is LinkState.IDLE:
        if gloo:
            return f"no client connected{fails}"
        return f"no recent connection attempt (none open, none failed in the last minute){fails}"
    down = down_seconds(target, now)
    lasted = f" for {human_duration(down)}" if down is not None and down >= 1 else ""
    if gloo:
        return f"gloo process unreachable from its sidecar{lasted}{fails}"
    if link.state is LinkState.DISCONNECTED:
        return f"ADS stream closed{lasted}{fails}"
    checks = " · health checks fail" if link.health_checks_fail else ""
    return f"connects to gloo failing{lasted}{fails}{checks}"


def sds_stream_words(target: TargetStatus, now: datetime) -> str | None:
    """Its gRPC SDS streams in words (``open``, ``closed for 2m · 9 failed updates``) and the secrets
    still warming; None when the Envoy reports no SDS stream state and nothing warming (file SDS)."""
    stats = target.fetch.stats if target.fetch is not None else None
    held = warming(target)
    still = f" · warming: {', '.join(held)}" if held else ""
    if not isinstance(stats, EnvoyStats):
        return still.removeprefix(" · ") or None
    items = [s for s in (stats.sds_for(SERVER_CERT_SECRET), stats.sds_for(VALIDATION_CONTEXT_SECRET)) if s]
    states = [item.connected for item in items if item.connected is not None]
    if not states:
        return still.removeprefix(" · ") or None
    timeouts = sum(item.init_fetch_timeout for item in items)
    timed_out = f" · initial fetch timed out ×{timeouts}" if timeouts else ""
    if False not in states:
        return f"open{timed_out}{still}"
    failures = sum(item.update_failure for item in items)
    since = target.sds_down_since
    lasted = (
        f" for {human_duration((now - since).total_seconds())}" if since is not None and since < now else ""
    )
    return f"closed{lasted} · {counted(failures, 'failed update')}{timed_out}{still}"


def time_left_words(cert: CertInfo | None, now: datetime, *, compact: bool = False) -> str:
    """``45d`` / ``6h12m`` / ``expired 3d ago``.

    ``compact`` (a narrow column) drops "ago" and keeps the largest unit of an expiry that has passed:
    ``expired 3d``, ``expired 6h`` (at most 11 cells up to 999 days).
    """
    if cert is None:
        return NONE
    left = cert.seconds_left(now)
    if compact and left < 0:
        return "expired " + re.split(r"(?<=[a-z])(?=\d)", human_duration(-left))[0]
    return human_time_left(left)


# ------------------------------------------------------------------------------------------- the fleet


def severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    """How many findings of each severity (every severity present, zero or not)."""
    counts = {severity: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity] += 1
    return counts


PHASE_WORDS = {
    Phase.STEADY: "steady",
    Phase.CA_ADDED: "rotation · phase 1/3 · both CAs trusted",
    Phase.LEAF_ROTATED: "rotation · phase 2/3 · new server cert",
    Phase.STALLED: "stalled",
    Phase.BROKEN: "broken",
    Phase.UNKNOWN: "unknown",
}
#: Narrow terminals: the same facts in fewer words.
SHORT_PHASE_WORDS = {Phase.CA_ADDED: "phase 1/3 · CAs added", Phase.LEAF_ROTATED: "phase 2/3 · new leaf"}


def _phase_time(elapsed: float, phase: float, short: bool) -> str:
    """How long the secret has held this phase against certgen's wait between phases: ``41 s of 65 s``,
    or, once the wait is over, by how much (``1 s past the 20 s phase``, never ``21 s of 20 s``)."""
    if round(elapsed) <= round(phase):
        return f"{elapsed:.0f}/{phase:.0f} s" if short else f"{elapsed:.0f} s of {phase:.0f} s"
    over = round(elapsed) - round(phase)
    return f"+{over} s past {phase:.0f} s" if short else f"{over} s past the {phase:.0f} s phase"


def _judged(snapshot: FleetSnapshot, code: str, context: str | None = None) -> Severity:
    """The severity the domain gave the secret's finding ``code`` (the badge says what the finding says);
    a warning when there is none, as for a secret the API could not be asked about (its error says why)."""
    severities = [
        finding.severity
        for finding in snapshot.findings
        if finding.code == code and (context is None or finding.context == context)
    ]
    return max(severities, key=lambda severity: severity.rank, default=Severity.WARNING)


def secret_phase_words(
    snapshot: FleetSnapshot, now: datetime, *, short: bool = False, secret: SecretStatus | None = None
) -> tuple[str, Severity | None]:
    """The secret's phase in words (the first context's, or ``secret``), and how loud the domain's
    verdict is (None: all is well).

    A rotation in progress says how long the secret has held its content against certgen's
    rotationDuration (the wait between two phases); it is loud only once the domain calls it stalled.
    """
    context = secret.state.context if secret is not None else None
    secret = secret or snapshot.secret
    if snapshot.mtls is MtlsState.NOT_OBSERVED:
        return MTLS_WORDS[MtlsState.NOT_OBSERVED], None
    if context is not None and snapshot.plane_of(context) is Plane.DATA:
        copy = _copy_words(snapshot, context, snapshot.namespace)
        if copy is not None:
            return copy
    if secret is None or secret.state.missing:
        return "no gloo-mtls-certs secret", _judged(snapshot, "secret-missing", context)
    if secret.state.forbidden:
        return "secret not readable (403)", _judged(snapshot, "secret-forbidden", context)
    verdict = secret.verdict
    if verdict.phase is Phase.STEADY:
        return f"steady · {counted(verdict.ca_count, 'CA')}", None
    if verdict.phase in (Phase.CA_ADDED, Phase.LEAF_ROTATED):
        words = (SHORT_PHASE_WORDS if short else PHASE_WORDS)[verdict.phase]
        if secret.content_since is not None:
            words += " · " + _phase_time(
                max((now - secret.content_since).total_seconds(), 0.0),
                rotation_duration(
                    next(
                        (c for c in snapshot.cronjobs if c.context == secret.state.context), snapshot.cronjob
                    )
                ),  # its own context's certgen (two clusters may rotate at different paces)
                short,
            )
        return words, Severity.INFO
    if verdict.phase is Phase.STALLED:
        return f"stalled · {verdict.reason}", Severity.WARNING  # every stall's reason starts with its count
    if verdict.phase is Phase.BROKEN:
        return f"broken · {verdict.reason}", Severity.CRITICAL
    return f"unknown · {verdict.reason}", Severity.WARNING


def _copy_words(snapshot: FleetSnapshot, context: str, namespace: str) -> tuple[str, Severity | None] | None:
    """A copy of the secret (a data-plane context's, a namespace's), as the domain judged it against
    its source."""
    for finding in snapshot.findings:
        if finding.context != context or finding.namespace != namespace:
            continue
        if finding.code == "secret-copy-missing":
            return "copy missing", finding.severity
        if finding.code == "secret-copy-stale":
            words = "copy shares no CA" if finding.severity is Severity.CRITICAL else "copy behind"
            return words, finding.severity
    return None


def context_phase_words(
    snapshot: FleetSnapshot, now: datetime, *, short: bool = False
) -> list[tuple[str, str, Severity | None]]:
    """(context, its secret's phase words, loudness) for every context watched, in order: the header's
    per-context badges when several contexts are watched (a data-plane copy in sync says "copy")."""
    out: list[tuple[str, str, Severity | None]] = []
    for context in snapshot.contexts:
        secret = snapshot.secret_for(context)
        state = next((c for c in snapshot.context_states if c.name == context), None)
        if state is not None and state.error is not None and (secret is None or secret.state.leaf is None):
            out.append((context, "unreachable" if short else "not watched: API error", Severity.WARNING))
            continue
        if secret is None:
            out.append((context, "secret not read", Severity.WARNING))
            continue
        words, loudness = secret_phase_words(snapshot, now, short=short, secret=secret)
        if snapshot.plane_of(context) is Plane.DATA and loudness is None:
            words = f"copy · {words}"
        out.append((context, words, loudness))
        out += [
            (f"{context}/{ns}", words, loud) for ns, words, loud in namespace_copy_words(snapshot, context)
        ]
    return out


def namespace_copy_words(snapshot: FleetSnapshot, context: str) -> list[tuple[str, str, Severity | None]]:
    """(namespace, words, loudness) of each copy of the secret in another namespace of ``context`` than
    the release's (a kube-gateway's): its phase while it equals its source, else what the domain's copy
    finding says (``copy behind · steady``, ``copy missing``)."""
    out: list[tuple[str, str, Severity | None]] = []
    for secret in snapshot.secrets:
        state = secret.state
        if state.context != context or state.namespace == snapshot.namespace:
            continue
        judged = _copy_words(snapshot, context, state.namespace)
        if judged is not None:
            words, loudness = judged
            if not state.missing and state.leaf is not None:
                words += f" · {secret.verdict.phase.value}"
        elif state.forbidden:
            words, loudness = "not readable (403)", _judged(snapshot, "secret-forbidden", context)
        else:
            words, loudness = secret.verdict.phase.value, None
        out.append((state.namespace, words, loudness))
    return out
