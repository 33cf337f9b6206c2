"""Findings that depend on which Gloo release runs (reference/real-clusters.md §4).

- Before 1.15.13 (1.15 line) and 1.16.0, certgen rotates ``gloo-mtls-certs`` in **one** write: no
  ``ca-added`` phase, so every pod drops its link to gloo until it picks up the new secret.
- Before 1.14.30 (1.14 line), 1.15.13 and 1.16.0, certgen has no ``--renew-before`` window.
- A release newer than the newest known (or a tag that names none) is judged as the newest known, and
  said once.
"""

from __future__ import annotations

from gloomon.domain.health.policy import Context
from gloomon.domain.model import Finding, GlooRelease, Severity
from gloomon.domain.text import one_line

#: the newest Gloo line whose behaviour gloomon's checks were read from (solo-io/gloo main, 1.22)
NEWEST_KNOWN = (1, 22)


def _since(version: tuple[int, int, int], *firsts: tuple[int, int, int]) -> bool:
    """Whether ``version`` has a change that first shipped in each of ``firsts`` (one per release line;
    the last one also holds for every later line)."""
    for first in firsts:
        if version[:2] == first[:2]:
            return version >= first
    return version >= firsts[-1]


def phased_rotation(version: tuple[int, int, int]) -> bool:
    """certgen rotates in three writes (``ca-added`` → ``leaf-rotated`` → steady) from 1.15.13 / 1.16.0."""
    return _since(version, (1, 15, 13), (1, 16, 0))


def renew_before_window(version: tuple[int, int, int]) -> bool:
    """certgen has ``--renew-before`` (2160h) from 1.14.30 / 1.15.13 / 1.16.0."""
    return _since(version, (1, 14, 30), (1, 15, 13), (1, 16, 0))


def release_findings(release: GlooRelease | None, ctx: Context) -> list[Finding]:
    """The findings about the release: none when it is unknown because nothing was listed (``--target``)."""
    if release is None:
        return []
    newest = ".".join(str(part) for part in NEWEST_KNOWN)
    version = release.version
    if version is None or version[:2] > NEWEST_KNOWN:
        what = (
            f"{release.label} is newer than the newest Gloo gloomon knows ({newest})"
            if version is not None
            else f"cannot tell the Gloo release from image {release.image}"
        )
        return [
            Finding(
                Severity.INFO,
                "gloo-version-unknown",
                None,
                None,
                one_line(f"{what}: judged as Gloo {newest}", 300),
                f"kubectl -n {ctx.namespace} get deploy gloo -o jsonpath='{{..image}}'",
            )
        ]
    out: list[Finding] = []
    upgrade = "upgrade Gloo to 1.15.13 (1.15 line), 1.16.0 or later"
    if not phased_rotation(version):
        scheduled = ctx.cronjob_present and not (ctx.cronjob is not None and ctx.cronjob.suspended)
        out.append(
            Finding(
                Severity.WARNING if scheduled else Severity.INFO,
                "certgen-single-write",
                None,
                None,
                f"{release.label}: certgen rotates the secret in one write (no ca-added phase), so every "
                "pod drops its link to gloo until it picks up the new secret"
                + ("; the certgen CronJob rotates it unattended" if scheduled else ""),
                f"{upgrade} for the three-phase rotation; until then schedule "
                "gateway.certGenJob.cron.schedule for a quiet hour",
            )
        )
    if not renew_before_window(version):
        out.append(
            Finding(
                Severity.INFO,
                "certgen-no-renew-before",
                None,
                None,
                f"{release.label}: certgen has no --renew-before window (from 1.14.30 / 1.15.13 / 1.16.0)",
                f"{upgrade}; keep gateway.certGenJob.forceRotation=true so scheduled runs renew",
            )
        )
    return out
