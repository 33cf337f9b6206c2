"""The App's actions that reach outside the screen: session calls, the clipboard's PEM, the JSON file.

Each returns what to tell the user; none raises into Textual (a failure is a calm notification).
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from textual.screen import Screen

from gloomon.domain.export import snapshot_json
from gloomon.domain.model import FleetSnapshot, TargetStatus
from gloomon.ui.format import sanitize
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen
from gloomon.ui.session import Session


def describe(error: BaseException) -> str:
    """One line for the user: the error's own message (sources raise clear ones), never a traceback."""
    text = sanitize(str(error).strip().splitlines()[0] if str(error).strip() else "")
    return text or type(error).__name__


def refresh(session: Session) -> None:
    try:
        session.refresh_now()
    except Exception:  # a failed wake-up shows up as the next poll's error, not here
        return


async def stop(session: Session) -> None:
    try:
        await session.stop()
    except Exception:  # leaving must never fail on a broken session
        return


def selected_key(stack: Sequence[Screen[Any]]) -> str | None:
    """The target the user is looking at: the open detail screen's, else the table's cursor row."""
    for screen in reversed(stack):
        if isinstance(screen, DetailScreen):
            return screen.key
        if isinstance(screen, DashboardScreen):
            return screen.table.selected_key
    return None


def leaf_pem(target: TargetStatus | None) -> tuple[str | None, str]:
    """The selected target's leaf as PEM (public certificate only) and what to tell the user."""
    if target is None:
        return None, "no target selected"
    if target.leaf is None:
        return None, f"{target.ref.pod} holds no leaf certificate"
    if target.leaf.der is None:
        return None, f"no PEM for {target.ref.pod}'s leaf (Envoy /certs gave only its summary)"
    pem = ssl.DER_cert_to_PEM_cert(target.leaf.der)
    return pem, f"copied {target.ref.pod}'s leaf certificate (serial {target.leaf.short_serial}, public PEM)"


def save_snapshot(
    snapshot: FleetSnapshot | None, now: datetime, directory: Path | None = None
) -> tuple[str, bool]:
    """Write ``gloomon-snapshot-<ts>.json`` (the ``check -o json`` schema) to the working directory."""
    if snapshot is None:
        return "nothing to save yet: no snapshot", False
    path = (directory or Path.cwd()) / f"gloomon-snapshot-{now:%Y%m%dT%H%M%SZ}.json"
    try:
        path.write_text(snapshot_json(snapshot))
    except OSError as error:
        return f"could not save: {describe(error)}", False
    return f"saved {path}", True
