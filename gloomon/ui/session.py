"""The Session protocol: exactly what the dashboard asks of its data source, and nothing more.

:class:`gloomon.sources.session.MonitorSession` implements it structurally (it never imports this
module), so the UI reaches the sources only through these five calls and never imports
``gloomon.sources``, kubernetes or aiohttp (the import-linter contracts in pyproject.toml).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from gloomon.domain.model import FleetSnapshot, LogBatch


class Session(Protocol):
    """A live source of snapshots and log batches; its errors carry a message fit for the user."""

    async def start(self) -> None:
        """Connect and discover; raises with a clear message when nothing can be monitored."""

    def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        """One snapshot per poll, for as long as the session runs."""

    def log_batches(self) -> AsyncIterator[LogBatch]:
        """What the session's log ring took in, batch by batch (the first: its backlog)."""

    def refresh_now(self) -> None:
        """Wake the poll loop now instead of at the next interval."""

    async def stop(self) -> None:
        """Close every connection; safe to call once the streams' readers have finished."""
