"""What the rotation timeline draws, per context: the secret's phase changes and when each of its targets
picked them up; in split planes, how far behind its source each data-plane copy is.

Folded from successive FleetSnapshots (and certgen log events) as they arrive; bounded so a dashboard
left open for days keeps constant memory. Pure: no Textual.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gloomon.domain.compare.sync import CertKey, bundle_digest, cert_key, copy_behind_since
from gloomon.domain.compare.webhook_history import WebhookHistory
from gloomon.domain.model import (
    CertInfo,
    FleetSnapshot,
    LogEvent,
    LogKind,
    Phase,
    Plane,
    SecretStatus,
    TargetStatus,
    TrustBundle,
    WebhookState,
)

#: the leaf's :func:`cert_key` and the bundle's :func:`bundle_digest`: small and fixed-size, so a sample
#: of a bundle of thousands of CAs costs what any other does, in memory and in every comparison
Content = tuple[CertKey | None, str]
#: how long before the first sample a secret's write still starts the axis (a rotation's three writes,
#: 65 s apart, with room); an older write is in effect from the first sample on
EARLIER_WRITES = 300.0


def content_of(leaf: CertInfo | None, bundle: TrustBundle | None) -> Content:
    """What tells two (leaf, bundle) pairs apart: the certificates' :func:`cert_key`, whatever the source."""
    return (cert_key(leaf) if leaf else None, bundle_digest(bundle) if bundle else "")


@dataclass(frozen=True, slots=True)
class TargetSample:
    phase: Phase
    content: Content
    in_sync: bool | None
    reachable: bool
    #: when its current certificates arrived (SDS ``last_updated``): the pickup of a change written
    #: before the first sample
    since: datetime | None = None


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
    #: the context whose certgen wrote it; None when the line's context is unknown
    context: str | None = None


@dataclass(frozen=True, slots=True)
class CopyLag:
    """How a copy of the secret (a data-plane context's, or a namespace's) stands against its source."""

    #: where it is copied from: the management context, or (a namespace's copy) the release namespace
    source: str
    #: the copy's latest change came this long after the source's write of the same content (None: the
    #: source never held it)
    seconds: float | None
    #: the source's latest write, when the copy does not hold it (the copy is behind since then)
    behind_since: datetime | None = None


class SecretTimeline:
    """One secret and the pods compared with it: a context's own (``namespace`` None), or a namespace's
    copy in it (kube-gateway proxies, proxies moved to another namespace); a bounded record of samples,
    the secret's changes (certgen's writes, or a copy's arrivals) and when each pod picked each one up."""

    def __init__(self, context: str, plane: Plane, max_samples: int, namespace: str | None = None) -> None:
        self.context, self.plane, self.namespace = context, plane, namespace
        self.samples: deque[Sample] = deque(maxlen=max_samples)
        self.changes: deque[SecretChange] = deque(maxlen=64)
        #: this context's validation webhook
        self.webhook = WebhookHistory(max_samples)
        #: the secret as the latest snapshot judged it
        self.secret: SecretStatus | None = None
        self._pickups: dict[tuple[object, ...], dict[str, datetime]] = {}

    def add(
        self,
        at: datetime,
        secret: SecretStatus | None,
        targets: Iterable[TargetStatus],
        plane: Plane,
        webhook: WebhookState | None = None,
    ) -> None:
        """Fold in one snapshot's view: the secret, the targets the domain compared with it, and (a
        context's own) its validation webhook."""
        self.plane, self.secret = plane, secret
        self.webhook.add(webhook, at)
        phase = secret.verdict.phase if secret else Phase.UNKNOWN
        content = content_of(secret.state.leaf, secret.state.bundle) if secret else (None, "")
        samples = {
            target.key: TargetSample(
                target.verdict.phase,
                content_of(target.leaf, target.bundle),
                target.in_sync_with_secret,
                target.reachable,
                target.certs_since,
            )
            for target in targets
        }
        self.samples.append(Sample(at, content, samples))
        if secret and (not self.changes or self.changes[-1].content != content):
            self.changes.append(SecretChange(secret.content_since or at, phase, content))

    @property
    def copy(self) -> bool:
        """A copy of a secret certgen writes elsewhere (a data-plane context's, or a namespace's)."""
        return self.plane is Plane.DATA or self.namespace is not None

    @property
    def start(self) -> datetime | None:
        """Where its axis begins: the first sample, or a write up to :data:`EARLIER_WRITES` before it (a
        rotation under way when watching began); an older write is in effect from the first sample on."""
        if not self.samples:
            return None
        first = self.samples[0].at
        recent = [c.at for c in self.changes if c.at >= first - timedelta(seconds=EARLIER_WRITES)]
        return min([first, *recent])

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
        first = self.samples[0].at if self.samples else None
        for sample in self.samples:
            if sample.at < change.at or sample.secret_content != change.content:
                continue
            for key, target in sample.targets.items():
                if key in found:
                    continue
                if target.in_sync or (target.in_sync is None and target.content == change.content):
                    found[key] = max(sample.at, change.at)
                    # held at the first sample: it arrived before watching began, when Envoy says
                    if sample.at == first and target.since is not None and change.at <= target.since:
                        found[key] = min(target.since, sample.at)
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


class RotationHistory:
    """The timeline of each watched context's secret (its pods and its validation webhook with it) and
    of each namespace's copy (:class:`SecretTimeline`), and certgen's phase log lines; bounded."""

    def __init__(self, max_samples: int = 720) -> None:
        self.max_samples = max_samples
        self._timelines: dict[tuple[str, str | None], SecretTimeline] = {}
        self._contexts: list[str] = []  # in the order first seen
        self.certgen: deque[CertgenMark] = deque(maxlen=64)
        self._last: datetime | None = None

    @property
    def timelines(self) -> tuple[SecretTimeline, ...]:
        """One per context, in the order the snapshots first listed them, each followed by its
        namespaces' copies."""
        order = {context: index for index, context in enumerate(self._contexts)}
        return tuple(
            self._timelines[key]
            for key in sorted(self._timelines, key=lambda k: (order[k[0]], k[1] is not None, k[1] or ""))
        )

    def add_snapshot(self, snapshot: FleetSnapshot) -> None:
        if self._last is not None and snapshot.taken_at < self._last:
            return
        self._last = snapshot.taken_at
        groups: dict[tuple[str, str | None], list[TargetStatus]] = {(c, None): [] for c in snapshot.contexts}
        for status in snapshot.secrets:
            groups.setdefault(_group_of(snapshot, status.state.context, status), [])
        for target in snapshot.targets:
            secret = snapshot.secret_for(target.ref.context, target.ref.namespace)
            groups.setdefault(_group_of(snapshot, target.ref.context, secret), []).append(target)
        for (context, namespace), targets in groups.items():
            if context not in self._contexts:
                self._contexts.append(context)
            plane = snapshot.plane_of(context)
            timeline = self._timelines.get((context, namespace))
            if timeline is None:
                timeline = SecretTimeline(context, plane, self.max_samples, namespace)
                self._timelines[(context, namespace)] = timeline
            secret = snapshot.secret_for(context, namespace)
            webhook = None
            if namespace is None:
                webhook = next((w for w in snapshot.webhooks if w.context == context and w.installed), None)
            timeline.add(snapshot.taken_at, secret, targets, plane, webhook)

    def add_log_events(self, events: Iterable[LogEvent]) -> None:
        for event in events:
            if event.ts is not None and event.kind in (LogKind.CERTGEN_PHASE, LogKind.CERTGEN_DONE):
                self.certgen.append(CertgenMark(event.ts, event.message, event.context))

    @property
    def start(self) -> datetime | None:
        starts = [start for timeline in self._timelines.values() if (start := timeline.start) is not None]
        return min(starts) if starts else None

    def certgen_of(self, timeline: SecretTimeline) -> list[CertgenMark]:
        """The certgen lines of ``timeline``'s context (a line of no known context: the first's)."""
        first = next(iter(self._timelines.values()), None)
        return [
            mark
            for mark in self.certgen
            if not timeline.namespace
            and (mark.context == timeline.context or (mark.context is None and timeline is first))
        ]

    def copy_lag(self, copy: SecretTimeline) -> CopyLag | None:
        """A copy against its source (a namespace's copy: its context's own secret; a data-plane
        context's: the management timeline that wrote the copy's latest content, else the first one):
        how long after that write the copy held it, and whether the source has written since. None for
        a secret certgen writes."""
        if copy.namespace is not None:
            own = self._timelines.get((copy.context, None))
            sources = [own] if own is not None and own.changes else []
        else:
            sources = [
                t
                for t in self._timelines.values()
                if t.plane is Plane.MANAGEMENT and t.namespace is None and t.changes
            ]
        if not copy.copy or not copy.changes or not sources:
            return None
        held = copy.changes[-1]
        for source in sources:
            written = next((c for c in reversed(source.changes) if c.content == held.content), None)
            if written is not None:
                behind = self._behind(copy, source) if source.changes[-1].content != held.content else None
                return CopyLag(
                    _source_name(copy, source), max((held.at - written.at).total_seconds(), 0.0), behind
                )
        return CopyLag(_source_name(copy, sources[0]), None, self._behind(copy, sources[0]))

    @staticmethod
    def _behind(copy: SecretTimeline, source: SecretTimeline) -> datetime:
        """Since when the copy is behind its source, as the copy findings say (:func:`copy_behind_since`),
        else since the source's last write."""
        since = copy_behind_since(copy.secret, source.secret) if copy.secret and source.secret else None
        return since or source.changes[-1].at


def _group_of(snapshot: FleetSnapshot, context: str, secret: SecretStatus | None) -> tuple[str, str | None]:
    """Which timeline a secret (or a target compared with it) goes on: its context's own, or (another
    namespace's copy of it) that namespace's."""
    if secret is None or secret is snapshot.secret_for(context):
        return (context, None)
    return (context, secret.state.namespace)


def _source_name(copy: SecretTimeline, source: SecretTimeline) -> str:
    """A namespace's copy is copied from its context's release namespace; a data plane's, from mgmt."""
    if copy.namespace is not None and source.secret is not None:
        return source.secret.state.namespace or source.context
    return source.context
