"""The ``s`` key writes its JSON file into ``--save-dir`` when one is given (else the current directory)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gloomon.lab import snapshots as fx
from gloomon.settings import Settings
from gloomon.ui.app import GloomonApp
from tests.ui.harness import SIZE, Toasts, until


async def test_save_writes_into_the_save_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, chosen = tmp_path / "cwd", tmp_path / "chosen"
    cwd.mkdir()
    chosen.mkdir()
    monkeypatch.chdir(cwd)
    app, toasts = GloomonApp(clock=fx.CLOCK, settings=Settings(save_dir=str(chosen))), Toasts()
    async with app.run_test(size=SIZE, message_hook=toasts) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.press("s")
        path = chosen / "gloomon-snapshot-20261125T210000Z.json"
        await until(path.exists, pilot)
        assert json.loads(path.read_text())["schema"] == 1
        assert list(cwd.iterdir()) == []
        await until(lambda: any(f"saved {path}" in message for message in toasts.messages), pilot)
