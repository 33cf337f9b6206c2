"""The look of the dashboard, pinned as SVG snapshots (pytest-textual-snapshot).

Every test feeds deterministic snapshots (gloomon/lab/snapshots, made by build_snapshot) to an App with a
fixed clock and no session. Regenerate with ``pytest tests/ui --snapshot-update`` and look at the SVGs
before committing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from textual.pilot import Pilot

from gloomon.domain.model import FleetSnapshot, LogEvent
from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp

WIDE = (120, 40)


def feed(
    snapshots: Sequence[FleetSnapshot],
    *,
    logs: bool = True,
    certgen: bool = False,
    events: Sequence[LogEvent] | None = None,
) -> Callable[[Pilot[None]], object]:
    """Show ``snapshots`` in turn, then the log lines: ``events``, or else the fixtures' mix (``logs``)
    after certgen's phase lines (``certgen``)."""

    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, GloomonApp)
        for snapshot in snapshots:
            app.show_snapshot(snapshot)
        if certgen:
            app.add_log_events(fx.certgen_events())
        if logs:
            app.add_log_events(fx.log_events() if events is None else list(events))
        await pilot.pause()  # notify() posts a message: let the toasts arrive, then clear them
        app.clear_notifications()
        await pilot.pause()

    return run_before


def app() -> GloomonApp:
    return GloomonApp(clock=fx.CLOCK)


@pytest.mark.parametrize(
    "scenario",
    ["steady", "ca_added", "leaf_rotated", "lagging", "expired", "untrusted", "unreachable", "api_down"],
)
def test_dashboard_states(snap_compare, scenario: str) -> None:
    """You should see the fleet table, the header's phase badge and status, details of the first row, logs."""
    snapshot = getattr(fx, scenario)()
    assert snap_compare(app(), run_before=feed([snapshot]), terminal_size=WIDE)


def test_dashboard_80x24(snap_compare) -> None:
    """At 80×24 the detail pane is hidden and the table keeps component, pod, time left, phase, sync, xDS."""
    assert snap_compare(app(), run_before=feed([fx.lagging()]), terminal_size=(80, 24))


def test_dashboard_wide(snap_compare) -> None:
    """At 160 columns every column shows, including the Envoy and SDS versions."""
    assert snap_compare(app(), run_before=feed([fx.leaf_rotated()]), terminal_size=(160, 48))


@pytest.mark.parametrize("scenario", ["no_gloo", "no_mtls"])
def test_empty_states(snap_compare, scenario: str) -> None:
    """A banner explains the empty screen (and, without mTLS, names the Helm value)."""
    assert snap_compare(app(), run_before=feed([getattr(fx, scenario)()], logs=False), terminal_size=WIDE)


def test_connecting(snap_compare) -> None:
    """Before the first snapshot: "connecting…", no table rows, no traceback."""
    assert snap_compare(app(), run_before=feed([], logs=False), terminal_size=WIDE)


def test_detail_screen(snap_compare) -> None:
    """Enter on the lagging pod: its leaf and bundle next to the secret's, differences highlighted."""
    assert snap_compare(
        app(), run_before=feed([fx.lagging()]), press=["down", "down", "enter"], terminal_size=WIDE
    )


def test_timeline(snap_compare) -> None:
    """A full rotation on one axis: secret row, certgen marks, one row per pod, pickup lags."""
    assert snap_compare(
        app(), run_before=feed(fx.rotation_series(), certgen=True), press=["t"], terminal_size=WIDE
    )


def test_expiry(snap_compare) -> None:
    """Bars per leaf and per CA, soonest first, expired ones red."""
    assert snap_compare(app(), run_before=feed([fx.expired()]), press=["e"], terminal_size=WIDE)


def test_findings(snap_compare) -> None:
    """Findings sorted by severity with their hints."""
    assert snap_compare(app(), run_before=feed([fx.untrusted()]), press=["i"], terminal_size=WIDE)


def test_logs_full_screen(snap_compare) -> None:
    """Known events highlighted, levels marked, the hostile line shown literally."""
    assert snap_compare(app(), run_before=feed([fx.steady()]), press=["l"], terminal_size=WIDE)
