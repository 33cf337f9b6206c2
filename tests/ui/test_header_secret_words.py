"""The header's secret line says "secret" once: its label is left out when the phase words name the
secret themselves (``--target`` mode, a secret the Role may not read, a missing secret)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

import pytest
from rich.console import Console

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, SecretState
from gloomon.lab import snapshots as fx
from gloomon.ui.widgets.header_bar import HeaderBar
from tests.ui.harness import SIZE, make_app, until


def polled(*, contexts: tuple[str, ...], secrets: list[SecretState]) -> FleetSnapshot:
    """The steady fleet's admin answers; with no context, as ``--target`` URLs (no pod behind them)."""
    steady = fx.steady()
    fetches = [target.fetch for target in steady.targets if target.fetch is not None]
    if not contexts:
        fetches = [replace(fetch, target=replace(fetch.target, pod_info=None)) for fetch in fetches]
    return build_snapshot(
        taken_at=steady.taken_at,
        namespace=steady.namespace,
        contexts=contexts,
        fetches=fetches,
        secrets=secrets,
        cronjob=None,
        policy=HealthPolicy(),
    )


def target_mode() -> FleetSnapshot:
    return polled(contexts=(), secrets=[])


def forbidden() -> FleetSnapshot:
    at = fx.steady().taken_at
    state = SecretState("gloomon-lab", "gloo-system", read_at=at, forbidden=True, observed=False)
    return polled(contexts=("gloomon-lab",), secrets=[state])


def missing() -> FleetSnapshot:
    at = fx.steady().taken_at
    state = SecretState("gloomon-lab", "gloo-system", read_at=at, missing=True, error="not found")
    return polled(contexts=("gloomon-lab",), secrets=[state])


@pytest.mark.parametrize("state", [target_mode, forbidden, missing], ids=["target", "forbidden", "missing"])
async def test_the_secret_line_says_secret_once(state: Callable[[], FleetSnapshot]) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(state())
        header = app.screen.query_one(HeaderBar)
        await until(lambda: header.size.width > 0, pilot)
        console = Console(width=header.size.width, file=io.StringIO(), color_system=None)
        with console.capture() as captured:
            console.print(header.render())
        line = captured.get().splitlines()[1]
        assert line.count("secret") == 1, line
