"""Comparing what a target holds with the secret: same certificate, same bundle, lagging or ahead.

Certificates from ``/certs`` have no fingerprint, so certificates are compared on what every source
gives: serial and expiry (:func:`cert_key`). Everything in the domain that asks "is this the same
certificate?" or groups by certificate goes through it, so the answer never depends on the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.model import CertInfo, SecretState, TargetStatus, TrustBundle

#: What tells two certificates apart: (serial, not_after).
CertKey = tuple[str, datetime]


def cert_key(cert: CertInfo) -> CertKey:
    """(serial, not_after): the same for one certificate read from PEM, ``/config_dump`` or ``/certs``."""
    return (cert.serial.lower(), cert.not_after)


def bundle_key(bundle: TrustBundle) -> tuple[CertKey, ...]:
    """The bundle's CAs as :func:`cert_key`s, in order."""
    return tuple(cert_key(ca) for ca in bundle.cas)


def same_cert(a: CertInfo, b: CertInfo) -> bool:
    return cert_key(a) == cert_key(b)


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


def bundle_differences(held: TrustBundle, secret: TrustBundle) -> tuple[list[int], list[int]]:
    """(indices of the held CAs the secret lacks, indices of the secret's CAs not held).

    A bundle read from ``/certs`` lists maybe only its first CAs: the secret's CAs past what it lists
    are unknown there, not missing.
    """
    secret_keys = {cert_key(ca) for ca in secret.cas}
    held_keys = {cert_key(ca) for ca in held.cas}
    extra = [index for index, ca in enumerate(held.cas) if cert_key(ca) not in secret_keys]
    listed = len(secret.cas) if held.complete else len(held.cas)
    missing = [index for index, ca in enumerate(secret.cas[:listed]) if cert_key(ca) not in held_keys]
    return extra, missing


@dataclass(frozen=True, slots=True)
class SyncResult:
    in_sync: bool | None
    ahead: bool
    reason: str


def compare_with_secret(leaf: CertInfo | None, bundle: TrustBundle, secret: SecretState | None) -> SyncResult:
    """Whether the target holds the secret's leaf and bundle; if not, why, and whether it is ahead.

    A secret this poll could not read (``observed`` False) compares with the content last observed."""
    unreadable = secret is not None and secret.observed and secret.error is not None
    if secret is None or unreadable or (secret.leaf is None and secret.bundle is None):
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


def bundle_groups(targets: Sequence[TargetStatus]) -> list[list[TargetStatus]]:
    """Reachable targets grouped by the bundle they hold, the reference group first.

    A bundle read from ``/certs`` (maybe only its first CA) joins the group whose bundle starts with it.
    The reference group is the largest; on a tie, the one holding the newest CA (the one a rotation
    moves towards).
    """
    held = [t for t in targets if t.reachable and t.bundle.cas]
    groups: dict[tuple[CertKey, ...], list[TargetStatus]] = {}
    for target in sorted(held, key=lambda t: not t.bundle.complete):
        key = bundle_key(target.bundle)
        if not target.bundle.complete and key not in groups:
            prefixed = [k for k in groups if k[: len(key)] == key]
            if prefixed:
                key = max(prefixed, key=lambda k: len(groups[k]))
        groups.setdefault(key, []).append(target)
    return sorted(
        groups.values(),
        key=lambda group: (
            -len(group),
            -max(ca.not_before.timestamp() for ca in group[0].bundle.cas),
            bundle_key(group[0].bundle),
        ),
    )
