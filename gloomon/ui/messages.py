"""Messages the session workers post to the app: small immutable dataclasses, named in the past tense.

Workers never touch widgets; they post one of these and the App's handlers own every state change.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from gloomon.domain.model import FleetSnapshot, LogEvent


@dataclass
class SnapshotArrived(Message):
    """A new FleetSnapshot from the poll loop. A newer one replaces an older one still queued."""

    snapshot: FleetSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotArrived)


@dataclass
class LogsArrived(Message):
    """A batch of merged log events (never replaced: every line counts)."""

    events: tuple[LogEvent, ...]


@dataclass
class SessionFailed(Message):
    """The session could not start or a stream ended with an error; shown calmly, never as a traceback."""

    stream: str
    error: str
