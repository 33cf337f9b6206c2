"""While the Kubernetes API is unreachable, a row shows the certificates last read, says it is stale
and how old its data is: in the table and in the detail pane."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

from rich.console import Console, RenderableType

from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot
from gloomon.ui.format import Palette
from gloomon.ui.widgets.detail_pane import detail_renderable
from gloomon.ui.widgets.fleet_table import row_cells
from tests.domain.certs import NOW, make_ca, make_leaf
from tests.domain.fleet_helpers import fetch, secret, snap

PALETTE = Palette.from_variables({"success": "#00ff00", "warning": "#ffaa00", "error": "#ff0000"})
OUTAGE = "cannot reach the Kubernetes API at https://127.0.0.1:6443: connection refused"


def text_of(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


def outage_after(seconds: float) -> tuple[FleetSnapshot, FleetSnapshot]:
    """A healthy poll, then one ``seconds`` later that reached no Envoy because the API was down."""
    ca = make_ca(not_before=NOW - timedelta(days=30))
    leaf = make_leaf(ca)
    state = secret(leaf.info, [ca.info])
    before = snap([fetch("gateway-proxy-1", leaf.info, [ca.info])], [state])
    later = NOW + timedelta(seconds=seconds)
    down = replace(
        fetch("gateway-proxy-1", None, [], at=later, error=f"port-forward: {OUTAGE}"), api_down=True
    )
    return before, snap([down], [state], at=later, previous=before, errors=[OUTAGE])


def test_a_stale_row_keeps_its_certificates_and_says_how_old_they_are() -> None:
    before, during = outage_after(20)
    (target,) = during.targets
    cells = row_cells(target, during.taken_at, PALETTE, HealthPolicy())
    assert cells["forward"].plain == "stale"
    assert cells["serial"].plain == row_cells(before.targets[0], NOW, PALETTE, HealthPolicy())["serial"].plain
    assert "unreachable" not in " ".join(cell.plain for cell in cells.values())
    pane = text_of(detail_renderable(target, during, during.taken_at, PALETTE, HealthPolicy()))
    assert "last read 20s ago" in pane and "Kubernetes API is unreachable" in pane
    assert "unknown while its admin endpoint is unreachable" not in pane
