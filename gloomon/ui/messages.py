"""Messages the session workers post to the app: small immutable dataclasses, named in the past tense.

Workers never touch widgets; they post one of these and the App's handlers own every state change.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gloomon.domain.model import FleetSnapshot, LogBatch


@dataclass
class SnapshotArrived(Message):
    """A new FleetSnapshot from the poll loop. A newer one replaces an older one still queued."""

    snapshot: FleetSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotArrived)


@dataclass
class LogsArrived(Message):
    """What the session's log ring took in (never replaced: every line counts)."""

    batch: LogBatch


@dataclass
class SessionFailed(Message):
    """The session could not start or a stream ended with an error; shown calmly, never as a traceback."""

    stream: str
    error: str
