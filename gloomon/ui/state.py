"""What the App knows, owned and changed only by its message handlers; screens read it to draw.

Also the two pure judgements of *presentation* the App needs: which banner to show, and which changes
deserve a toast (a finding appeared or cleared, a phase moved — never merely "another poll").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gloomon.domain.cells import MTLS_HINT, MTLS_WORDS
from gloomon.domain.compare.history import RotationHistory
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Finding, FleetSnapshot, LogBatch, LogEvent, MtlsState, Severity, TargetStatus


@dataclass
class ViewState:
    """The latest snapshot, the last session failure, the rotation history and the log ring, and the
    health policy the session judges by (expiry colours follow the same thresholds as the findings)."""

    log_capacity: int = 5000
    policy: HealthPolicy = field(default_factory=HealthPolicy)
    snapshot: FleetSnapshot | None = None
    failure: str | None = None
    history: RotationHistory = field(default_factory=RotationHistory)
    logs: LogMirror = field(init=False)

    def __post_init__(self) -> None:
        self.logs = LogMirror(self.log_capacity)

    def target(self, key: str | None) -> TargetStatus | None:
        if key is None or self.snapshot is None:
            return None
        return next((target for target in self.snapshot.targets if target.key == key), None)


@dataclass(frozen=True, slots=True)
class Banner:
    text: str
    severity: Severity


def banner_for(state: ViewState) -> Banner | None:
    """The one line that explains an empty or stale screen (API down, no Gloo, mTLS off)."""
    snapshot = state.snapshot
    if state.failure:
        stale = " · showing the last data" if snapshot else ""
        return Banner(f"{state.failure}{stale} · retrying", Severity.CRITICAL)
    if snapshot is None:
        return None
    if snapshot.errors:
        return Banner(" · ".join(snapshot.errors) + " · showing the last data", Severity.CRITICAL)
    secret = snapshot.secret
    no_secret = secret is None or secret.state.missing
    if snapshot.mtls is MtlsState.NOT_ENABLED and snapshot.targets:
        return Banner(f"{MTLS_WORDS[snapshot.mtls]} · {MTLS_HINT}", Severity.WARNING)
    if not snapshot.targets:
        if no_secret:
            return Banner(
                f"No Gloo in namespace {snapshot.namespace!r}: no gloo, gateway-proxy, extauth, rate-limit "
                "or kube-gateway pods and no gloo-mtls-certs secret · check --namespace / --context",
                Severity.WARNING,
            )
        missing = ", ".join(component.value for component in snapshot.missing_components) or "all components"
        return Banner(
            f"No Envoy targets running ({missing}): the secret exists but no pod serves it", Severity.WARNING
        )
    return None


def _finding_key(finding: Finding) -> tuple[str, str, str]:
    return (finding.code, finding.component.value if finding.component else "", finding.pod or "")


def notices(previous: FleetSnapshot | None, current: FleetSnapshot) -> list[tuple[str, Severity]]:
    """Toasts for what changed between two snapshots; nothing on the first one or on a quiet poll."""
    if previous is None:
        return []
    result: list[tuple[str, Severity]] = []
    old_phase = previous.secret.verdict.phase if previous.secret else None
    new_phase = current.secret.verdict.phase if current.secret else None
    if old_phase != new_phase and new_phase is not None:
        old = old_phase.value if old_phase else "none"
        result.append((f"secret phase {old} → {new_phase.value}", Severity.INFO))
    old_findings = {_finding_key(f): f for f in previous.findings}
    new_findings = {_finding_key(f): f for f in current.findings}
    appeared = [f for key, f in new_findings.items() if key not in old_findings]
    cleared = [f for key, f in old_findings.items() if key not in new_findings]
    if len(appeared) > 3:
        worst = max(appeared, key=lambda f: f.severity.rank).severity
        result.append((f"{len(appeared)} new findings", worst))
    else:
        result.extend((f"new: {f.message}", f.severity) for f in appeared)
    if len(cleared) > 3:
        result.append((f"{len(cleared)} findings cleared", Severity.INFO))
    else:
        result.extend((f"cleared: {f.message}", Severity.INFO) for f in cleared)
    return result


class LogMirror:
    """The session's log ring as the UI holds it, bounded, its lines numbered as the ring numbers them.

    It never orders anything: a :class:`LogBatch` says from which line on the ring changed, and the
    mirror keeps what stands before that line and takes the rest from the batch.
    """

    def __init__(self, capacity: int) -> None:
        self.events: deque[LogEvent] = deque(maxlen=max(capacity, 1))
        #: the line number of ``events[0]``
        self.first = 0

    @property
    def end(self) -> int:
        """The number the next appended line gets."""
        return self.first + len(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[LogEvent]:
        return iter(self.events)

    def numbered(self) -> Iterator[tuple[int, LogEvent]]:
        return enumerate(self.events, self.first)

    def appended(self, events: Iterable[LogEvent]) -> LogBatch:
        """A batch that adds ``events`` after the last line (the app fed without a session)."""
        return LogBatch(self.end, tuple(events))

    def apply(self, batch: LogBatch) -> list[LogEvent]:
        """Take ``batch`` in; returns its lines that are new here (not merely moved below late ones).

        The ring hands the lines it moves down as the same objects again, which is how they are told
        from new ones. A batch starting outside what is held (a reopened stream's backlog) replaces it.
        """
        keep = batch.start - self.first
        if not 0 <= keep <= len(self.events):
            self.events.clear()
            self.first, keep = batch.start, 0
        moved = {id(self.events.pop()) for _ in range(len(self.events) - keep)}
        self.events.extend(batch.events)
        self.first += keep + len(batch.events) - len(self.events)
        return [event for event in batch.events if id(event) not in moved]
