"""What the rotation timeline draws: the secret's phase changes and when each target picked them up.

Folded from successive FleetSnapshots (and certgen log events) as they arrive; bounded so a dashboard
left open for days keeps constant memory. Pure: no Textual.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.compare.sync import CertKey, bundle_digest, cert_key
from gloomon.domain.compare.webhook_history import WebhookHistory
from gloomon.domain.model import (
    CertInfo,
    FleetSnapshot,
    LogEvent,
    LogKind,
    Phase,
    Plane,
    TargetStatus,
    TrustBundle,
)

#: the leaf's :func:`cert_key` and the bundle's :func:`bundle_digest`: small and fixed-size, so a sample
#: of a bundle of thousands of CAs costs what any other does, in memory and in every comparison
Content = tuple[CertKey | None, str]


def content_of(leaf: CertInfo | None, bundle: TrustBundle | None) -> Content:
    """What tells two (leaf, bundle) pairs apart: the certificates' :func:`cert_key`, whatever the source."""
    return (cert_key(leaf) if leaf else None, bundle_digest(bundle) if bundle else "")


@dataclass(frozen=True, slots=True)
class TargetSample:
    phase: Phase
    content: Content
    in_sync: bool | None
    reachable: bool


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    secret_content: Content
    targets: dict[str, TargetSample]


@dataclass(frozen=True, slots=True)
class SecretChange:
    at: datetime
    phase: Phase
    content: Content


@dataclass(frozen=True, slots=True)
class CertgenMark:
    at: datetime
    message: str


def on_timeline(snapshot: FleetSnapshot) -> tuple[TargetStatus, ...]:
    """The targets that follow the first context's secret: its own and the data-plane contexts' (their
    secret is a copy of it)."""
    secret = snapshot.secret
    if secret is None or len(snapshot.contexts) < 2:
        return snapshot.targets
    first = secret.state.context
    return tuple(
        t
        for t in snapshot.targets
        if t.ref.context == first or snapshot.plane_of(t.ref.context) is Plane.DATA
    )


class RotationHistory:
    """A bounded record of samples, secret changes, certgen phase log lines and the validation webhook."""

    def __init__(self, max_samples: int = 720) -> None:
        self.samples: deque[Sample] = deque(maxlen=max_samples)
        self.changes: deque[SecretChange] = deque(maxlen=64)
        self.certgen: deque[CertgenMark] = deque(maxlen=64)
        self.webhook = WebhookHistory(max_samples)
        self._pickups: dict[tuple[object, ...], dict[str, datetime]] = {}

    def add_snapshot(self, snapshot: FleetSnapshot) -> None:
        secret = snapshot.secret
        phase = secret.verdict.phase if secret else Phase.UNKNOWN
        content = content_of(secret.state.leaf, secret.state.bundle) if secret else (None, "")
        # the timeline follows the first context's secret: a target of another context (its own secret,
        # or a data-plane copy) has picked a change up when it holds that content, not its own secret's
        # (another management context has its own certgen and secret: not on this timeline)
        context = secret.state.context if secret else None
        targets = {
            target.key: TargetSample(
                target.verdict.phase,
                content_of(target.leaf, target.bundle),
                target.in_sync_with_secret if context is None or target.ref.context == context else None,
                target.reachable,
            )
            for target in on_timeline(snapshot)
        }
        if self.samples and snapshot.taken_at < self.samples[-1].at:
            return
        self.webhook.add(snapshot)
        self.samples.append(Sample(snapshot.taken_at, content, targets))
        if secret and (not self.changes or self.changes[-1].content != content):
            self.changes.append(SecretChange(secret.content_since or snapshot.taken_at, phase, content))

    def add_log_events(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            if event.ts is not None and event.kind in (LogKind.CERTGEN_PHASE, LogKind.CERTGEN_DONE):
                self.certgen.append(CertgenMark(event.ts, event.message))

    @property
    def start(self) -> datetime | None:
        times = [self.samples[0].at] if self.samples else []
        times += [change.at for change in self.changes]
        return min(times) if times else None

    def pickup(self, key: str, change: SecretChange) -> datetime | None:
        """When ``key`` first held ``change``'s content (in sync with the secret), or None if not yet."""
        return self.pickups(change).get(key)

    def pickups(self, change: SecretChange) -> dict[str, datetime]:
        """Every target's pickup time of ``change``, in one pass over the samples (cached per sample)."""
        stamp = (change.at, change.content, self.samples[-1].at if self.samples else None, len(self.samples))
        cached = self._pickups.get(stamp)
        if cached is not None:
            return cached
        found: dict[str, datetime] = {}
        for sample in self.samples:
            if sample.at < change.at or sample.secret_content != change.content:
                continue
            for key, target in sample.targets.items():
                if key in found:
                    continue
                if target.in_sync or (target.in_sync is None and target.content == change.content):
                    found[key] = max(sample.at, change.at)
        if len(self._pickups) > 256:
            self._pickups.clear()
        self._pickups[stamp] = found
        return found

    def target_along(self, key: str, times: list[datetime]) -> list[TargetSample | None]:
        """The target's sample in effect at each of ``times`` (ascending): one pass over the samples."""
        result: list[TargetSample | None] = []
        current: TargetSample | None = None
        samples = iter(self.samples)
        pending = next(samples, None)
        for at in times:
            while pending is not None and pending.at <= at:
                current = pending.targets.get(key, current)
                pending = next(samples, None)
            result.append(current)
        return result

    def secret_along(self, times: list[datetime]) -> list[Phase | None]:
        """The secret's phase in effect at each of ``times`` (ascending)."""
        result: list[Phase | None] = []
        current: Phase | None = None
        changes = iter(self.changes)
        pending = next(changes, None)
        for at in times:
            while pending is not None and pending.at <= at:
                current = pending.phase
                pending = next(changes, None)
            result.append(current)
        return result
