"""Where a (bundle, leaf) pair stands in certgen's three-phase rotation (reference/gloo-mtls.md §4.5).

certgen appends the new CA after the old one (phase 1), then swaps the leaf (phase 2), then drops the old
CA (phase 3). So the phase follows from the CA count and which CA signed the leaf, decided by signature.
Data from ``/certs`` only has no DER; there the signer is matched by validity start, which certgen sets
to the CA's (``NotBefore = CA NotBefore``), and the reason says so.
"""

from __future__ import annotations

from datetime import datetime

from gloomon.domain.model import CertInfo, Phase, PhaseVerdict, TrustBundle
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.x509 import find_signer
from gloomon.domain.words import counted

#: Helm default ``gateway.certGenJob.rotationDuration``.
DEFAULT_ROTATION_DURATION = 65.0
#: How far a certificate's start may lie in the future before it counts as not yet valid: certgen mints
#: it "now" by its own clock, which may run a little ahead of this machine's.
CLOCK_SKEW_SECONDS = 300.0


def signer_of(leaf: CertInfo, bundle: TrustBundle) -> tuple[int | None, bool]:
    """The signing CA's index and whether it was inferred from validity dates (no PEM to verify)."""
    found = find_signer(leaf, bundle)
    if found is not None or (leaf.der is not None and all(ca.der is not None for ca in bundle.cas)):
        return found, False
    for index, ca in enumerate(bundle.cas):
        if ca.not_before == leaf.not_before:
            return index, True
    return None, True


def not_yet_valid(cert: CertInfo, now: datetime) -> bool:
    """True when the certificate starts later than ``now`` plus the allowed clock skew."""
    return (cert.not_before - now).total_seconds() > CLOCK_SKEW_SECONDS


def phase_of(
    bundle: TrustBundle,
    leaf: CertInfo | None,
    now: datetime,
    *,
    rotation_duration_seconds: float | None = None,
    held_since: datetime | None = None,
    stall_slack_seconds: float = 0.0,
) -> PhaseVerdict:
    """The phase of this pair, with the reason in words.

    ``held_since`` is when the bundle was first seen with 2+ CAs; two CAs held longer than
    2×rotationDuration (default 65 s), plus ``stall_slack_seconds`` for propagation to pods, mean a
    rotation stopped half way.
    """
    count = len(bundle.cas)
    partial = "" if bundle.complete else " (bundle read from /certs; older Envoys list only the first CA)"
    if leaf is None:
        if count >= 3:
            return PhaseVerdict(
                Phase.STALLED, f"{counted(count, 'CA')} in the bundle and no server certificate", count
            )
        if count == 0:
            return PhaseVerdict(Phase.UNKNOWN, "no data: neither server certificate nor CA bundle", 0)
        return PhaseVerdict(
            Phase.UNKNOWN, f"no server certificate; {counted(count, 'CA')} in the bundle", count
        )
    if count == 0:
        return PhaseVerdict(Phase.UNKNOWN, "server certificate present but no CA bundle", 0)
    signer, inferred = signer_of(leaf, bundle)
    how = " (matched by validity start; no PEM to verify)" if inferred and signer is not None else ""
    left = leaf.seconds_left(now)
    if left < 0:
        return PhaseVerdict(
            Phase.BROKEN,
            f"leaf expired {human_duration(-left)} ago ({leaf.not_after:%Y-%m-%d %H:%M} UTC)",
            count,
            signer,
        )
    if not_yet_valid(leaf, now):
        how += f"; leaf not valid before {leaf.not_before:%Y-%m-%d %H:%M} UTC (clock skew?)"
    if signer is None:
        cas = "the only CA" if count == 1 else f"any of the {count} CAs"
        return PhaseVerdict(Phase.BROKEN, f"leaf not signed by {cas} in the bundle{partial}", count)
    position = f"CA #{signer + 1}"
    if count >= 3:
        return PhaseVerdict(
            Phase.STALLED,
            f"{counted(count, 'CA')}: a rotation did not finish (each certgen run appends a CA); "
            f"leaf signed by {position}{how}",
            count,
            signer,
        )
    if count == 1:
        return PhaseVerdict(Phase.STEADY, f"1 CA; leaf signed by it{how}{partial}", count, signer)
    duration = rotation_duration_seconds or DEFAULT_ROTATION_DURATION
    limit = 2 * duration + max(stall_slack_seconds, 0.0)
    if held_since is not None and (now - held_since).total_seconds() > limit:
        held = human_duration((now - held_since).total_seconds())
        step = "phase 1 (new CA added)" if signer == 0 else "phase 2 (new server cert)"
        slack = f" + {human_duration(stall_slack_seconds)} for propagation" if stall_slack_seconds > 0 else ""
        return PhaseVerdict(
            Phase.STALLED,
            f"2 CAs held for {held}, longer than 2×rotationDuration ({human_duration(2 * duration)}){slack}: "
            f"the rotation stopped after {step}; leaf signed by {position}{how}",
            count,
            signer,
        )
    if signer == 0:
        return PhaseVerdict(
            Phase.CA_ADDED,
            f"2 CAs; leaf signed by CA #1 (older): new CA trusted, server cert not yet rotated{how}",
            count,
            signer,
        )
    return PhaseVerdict(
        Phase.LEAF_ROTATED,
        f"2 CAs; leaf signed by CA #2 (newer): new server cert in place, old CA not yet removed{how}",
        count,
        signer,
    )
