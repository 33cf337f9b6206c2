"""Comparing what a target holds with the secret: same certificate, same bundle, lagging or ahead.

Certificates from ``/certs`` have no fingerprint, so certificates are compared on what every source
gives: serial and expiry (:func:`cert_key`). Everything in the domain that asks "is this the same
certificate?" or groups by certificate goes through it, so the answer never depends on the source.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.model import CertInfo, Phase, SecretState, SecretStatus, TargetStatus, TrustBundle
from gloomon.domain.words import counted, plural

#: What tells two certificates apart: (serial, not_after).
CertKey = tuple[str, datetime]


def cert_key(cert: CertInfo) -> CertKey:
    """(serial, not_after): the same for one certificate read from PEM, ``/config_dump`` or ``/certs``."""
    return (cert.serial.lower(), cert.not_after)


#: :func:`bundle_key` of the bundles seen lately, by object: a bundle of thousands of CAs (a rotation that
#: never finished) is keyed once per poll, not once per comparison, group and finding
_BUNDLE_KEYS: dict[int, tuple[TrustBundle, tuple[CertKey, ...]]] = {}


#: :func:`bundle_digest` likewise
_BUNDLE_DIGESTS: dict[int, tuple[TrustBundle, str]] = {}


def bundle_key(bundle: TrustBundle) -> tuple[CertKey, ...]:
    """The bundle's CAs as :func:`cert_key`s, in order."""
    cached = _BUNDLE_KEYS.get(id(bundle))
    if cached is not None and cached[0] is bundle:
        return cached[1]
    keys = tuple(cert_key(ca) for ca in bundle.cas)
    if len(_BUNDLE_KEYS) >= 64:
        _BUNDLE_KEYS.clear()
    _BUNDLE_KEYS[id(bundle)] = (bundle, keys)
    return keys


def bundle_digest(bundle: TrustBundle) -> str:
    """A fixed-size stand-in for :func:`bundle_key` (equal keys, equal digest): 64 characters that compare
    in one step, however many CAs the bundle holds (what the rotation history keeps for every sample)."""
    cached = _BUNDLE_DIGESTS.get(id(bundle))
    if cached is not None and cached[0] is bundle:
        return cached[1]
    text = "\n".join(f"{serial}@{not_after.isoformat()}" for serial, not_after in bundle_key(bundle))
    digest = hashlib.sha256(text.encode()).hexdigest()
    if len(_BUNDLE_DIGESTS) >= 64:
        _BUNDLE_DIGESTS.clear()
    _BUNDLE_DIGESTS[id(bundle)] = (bundle, digest)
    return digest


def same_cert(a: CertInfo, b: CertInfo) -> bool:
    return cert_key(a) == cert_key(b)


def same_bundle(held: TrustBundle, secret: TrustBundle) -> bool:
    """Equal CA lists; a bundle read from ``/certs`` (maybe only the first CA) need only be a prefix."""
    mine, theirs = bundle_key(held), bundle_key(secret)
    if held.complete:
        return mine == theirs
    return bool(mine) and len(mine) <= len(theirs) and theirs[: len(mine)] == mine


def bundle_differences(held: TrustBundle, secret: TrustBundle) -> tuple[list[int], list[int]]:
    """(indices of the held CAs the secret lacks, indices of the secret's CAs not held).

    A bundle read from ``/certs`` lists maybe only its first CAs: the secret's CAs past what it lists
    are unknown there, not missing.
    """
    if bundle_digest(held) == bundle_digest(secret):  # the common case, in one step at any size
        return [], []
    secret_keys, held_keys = bundle_key(secret), bundle_key(held)
    secret_set, held_set = set(secret_keys), set(held_keys)
    extra = [index for index, key in enumerate(held_keys) if key not in secret_set]
    listed = len(secret_keys) if held.complete else len(held_keys)
    missing = [index for index, key in enumerate(secret_keys[:listed]) if key not in held_set]
    return extra, missing


def _bundle_words(held: TrustBundle, secret: TrustBundle, extra: list[int], missing: list[int]) -> str:
    """What differs between two bundles, by serial: ``bundle differs from the secret's: CA 1a2b3c4d
    instead of 5e6f7a8b`` (one for one), else the counts and which CAs one has that the other lacks."""
    if len(extra) == 1 and len(missing) == 1:
        theirs, mine = secret.cas[missing[0]].short_serial, held.cas[extra[0]].short_serial
        return f"bundle differs from the secret's: CA {mine} instead of {theirs}"
    if len(held) == len(secret):
        head = f"bundle differs from the secret's (both {counted(len(held), 'CA')})"
    else:
        head = f"bundle of {counted(len(held), 'CA')} differs from the secret's {counted(len(secret), 'CA')}"
    parts = []
    if extra:
        parts.append(f"{_serials(held, extra)} not in the secret")
    if missing:
        parts.append(f"lacks the secret's {_serials(secret, missing)}")
    if not parts:
        parts.append("the same CAs in another order")
    return f"{head}: {'; '.join(parts)}"


def _serials(bundle: TrustBundle, indices: list[int]) -> str:
    """``CA 1a2b3c4d``, ``CAs 1a2b3c4d, 5e6f7a8b and 9,998 more``."""
    named = ", ".join(bundle.cas[index].short_serial for index in indices[:2])
    more = f" and {len(indices) - 2:,} more" if len(indices) > 2 else ""
    return f"{plural(len(indices), 'CA')} {named}{more}"


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
        extra, missing = bundle_differences(bundle, secret_bundle)
        problems.append(_bundle_words(bundle, secret_bundle, extra, missing))
        newest_secret_ca = max((ca.not_before for ca in secret_bundle.cas), default=None)
        if newest_secret_ca is not None and any(bundle.cas[i].not_before > newest_secret_ca for i in extra):
            ahead = True
    if not problems:
        return SyncResult(True, False, "holds the secret's leaf and bundle")
    return SyncResult(False, ahead, "; ".join(problems))  # ``ahead`` is the target-ahead finding's to say


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


def copy_behind_since(copy: SecretStatus, source: SecretStatus) -> datetime | None:
    """Since when a copy of the secret that differs from its source is behind it: the source's last
    write, or earlier when the copy lacks a CA of the source's — certgen makes a new CA when a rotation
    starts, so a copy missing it has been behind since that CA's birth (not before the copy's own
    write): a copy that missed a whole three-write rotation is behind since its first write, which a
    one-shot check sees too. A source in ``ca-added`` holds that first write: its write time says it."""
    since = source.content_since or source.state.updated_at
    src_bundle, bundle = source.state.bundle, copy.state.bundle
    if src_bundle is None or source.verdict.phase is Phase.CA_ADDED:  # its last write began the rotation
        return since
    held = set(bundle_key(bundle)) if bundle else set()
    missing = [ca for ca, key in zip(src_bundle.cas, bundle_key(src_bundle), strict=True) if key not in held]
    if not missing:
        return since
    birth = min(ca.not_before for ca in missing)
    written = copy.content_since or copy.state.updated_at
    earliest = max(birth, written) if written is not None else birth
    return min(since, earliest) if since is not None else earliest
