"""Comparing what a target holds with the secret: same certificate, same bundle, lagging or ahead.

Certificates from ``/certs`` have no fingerprint, so two certificates are the same when their
fingerprints match or, lacking one, when serial and expiry match.
"""

from __future__ import annotations

from dataclasses import dataclass

from gloomon.domain.models import CertInfo, SecretState, TrustBundle


def same_cert(a: CertInfo, b: CertInfo) -> bool:
    if a.sha256 and b.sha256:
        return a.sha256 == b.sha256
    return a.serial == b.serial and a.not_after == b.not_after


def same_bundle(held: TrustBundle, secret: TrustBundle) -> bool:
    """Equal CA lists; a bundle read from ``/certs`` (maybe only the first CA) need only be a prefix."""
    if held.complete:
        return len(held.cas) == len(secret.cas) and all(
            same_cert(a, b) for a, b in zip(held.cas, secret.cas, strict=True)
        )
    return (
        bool(held.cas)
        and len(held.cas) <= len(secret.cas)
        and all(same_cert(a, b) for a, b in zip(held.cas, secret.cas, strict=False))
    )


@dataclass(frozen=True, slots=True)
class SyncResult:
    in_sync: bool | None
    ahead: bool
    reason: str


def compare_with_secret(leaf: CertInfo | None, bundle: TrustBundle, secret: SecretState | None) -> SyncResult:
    """Whether the target holds the secret's leaf and bundle; if not, why, and whether it is ahead."""
    if secret is None or secret.error is not None or (secret.leaf is None and secret.bundle is None):
        return SyncResult(None, False, "no secret to compare with")
    if leaf is None and not bundle.cas:
        return SyncResult(None, False, "target holds no certificates")
    secret_bundle = secret.bundle or TrustBundle()
    problems: list[str] = []
    ahead = False
    if secret.leaf is not None and (leaf is None or not same_cert(leaf, secret.leaf)):
        if leaf is None:
            problems.append("no leaf (the secret has one)")
        else:
            problems.append(f"leaf {leaf.short_serial} ≠ secret's {secret.leaf.short_serial}")
            if leaf.not_before > secret.leaf.not_before:
                ahead = True
    if not same_bundle(bundle, secret_bundle):
        problems.append(f"bundle of {len(bundle)} CA(s) ≠ secret's {len(secret_bundle)}")
        newest_secret_ca = max((ca.not_before for ca in secret_bundle.cas), default=None)
        extra = [ca for ca in bundle.cas if not any(same_cert(ca, s) for s in secret_bundle.cas)]
        if newest_secret_ca is not None and any(ca.not_before > newest_secret_ca for ca in extra):
            ahead = True
    if not problems:
        return SyncResult(True, False, "holds the secret's leaf and bundle")
    prefix = "newer than the secret: " if ahead else ""
    return SyncResult(False, ahead, prefix + "; ".join(problems))
