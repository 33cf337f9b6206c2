"""The detail pane lists the secret's and the fleet's findings that concern its pod."""

from __future__ import annotations

import io

from rich.console import Console

from gloomon.domain.health.judge import HealthPolicy
from gloomon.lab import snapshots as fx
from gloomon.ui.widgets.detail_pane import concerns, detail_renderable
from tests.ui.harness import PALETTE


def test_detail_pane_lists_the_secret_findings_that_concern_the_pod() -> None:
    snapshot = fx.expired()
    (secret_finding,) = snapshot.findings
    assert secret_finding.pod is None
    assert all(concerns(secret_finding, target) for target in snapshot.targets)
    other = fx.leaf_rotated().targets[0]  # holds another leaf than the expired one
    assert not concerns(secret_finding, other)
    console = Console(width=50, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(detail_renderable(snapshot.targets[1], snapshot, fx.NOW, PALETTE, HealthPolicy()))
    text = captured.get()
    assert "Findings · 1" in text and "secret / fleet" in text
    assert "leaf expired 3d ago" in text and "--from=cronjob/gloo-mtls-certgen-cronjob" in text.replace(
        "\n", ""
    )
