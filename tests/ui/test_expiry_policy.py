"""Time-left colours follow the health policy, and the app takes its policy from the settings."""

from __future__ import annotations

from rich.text import Text

from gloomon.domain.health.judge import HealthPolicy, Threshold
from gloomon.domain.model import Severity
from gloomon.lab import snapshots as fx
from gloomon.settings import Settings
from gloomon.ui.app import GloomonApp
from gloomon.ui.format import Palette, time_left
from gloomon.ui.widgets.fleet_table import (
    FleetTable,
)
from tests.ui.harness import PALETTE, SIZE


def test_expiry_colours_follow_the_policy() -> None:
    left_45d = fx.LEAF_OLD  # 45 days left at NOW, a year's lifetime: calm by default
    assert time_left(left_45d, fx.NOW, PALETTE, HealthPolicy()).style == PALETTE.ok
    strict = HealthPolicy(warn=(Threshold(seconds=60 * 86400),))
    assert time_left(left_45d, fx.NOW, PALETTE, strict).style == PALETTE.warn
    assert PALETTE.severity(Severity.WARNING) == PALETTE.warn


async def test_app_takes_the_policy_from_the_settings() -> None:
    strict = HealthPolicy(warn=(Threshold(seconds=60 * 86400),))
    app = GloomonApp(clock=fx.CLOCK, settings=Settings(policy=strict))
    assert app.state.policy is strict
    assert GloomonApp(clock=fx.CLOCK, settings=Settings()).state.policy == HealthPolicy()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        cell = table.get_cell(fx.steady().targets[0].key, "left")
        assert isinstance(cell, Text) and cell.plain == "45d"
        assert cell.style == Palette.from_variables(app.theme_variables).warn
