"""What keys do outside the screen, and when toasts come: s saves the check JSON, c copies only the public
PEM, a toast only on a change of state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gloomon.lab import snapshots as fx
from tests.ui.harness import SIZE, Toasts, make_app, until


async def test_save_writes_the_check_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app, toasts = make_app(), Toasts()
    async with app.run_test(size=SIZE, message_hook=toasts) as pilot:
        app.show_snapshot(fx.lagging())
        await pilot.press("s")
        path = tmp_path / "gloomon-snapshot-20261125T210000Z.json"
        await until(path.exists, pilot)
        document = json.loads(path.read_text())
        assert document["schema"] == 1
        assert "PRIVATE" not in path.read_text()
        await until(lambda: any(str(path) in message for message in toasts.messages), pilot)


async def test_copy_puts_only_the_public_pem_on_the_clipboard() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.press("c")
        await until(lambda: "BEGIN CERTIFICATE" in app.clipboard, pilot)
        assert "PRIVATE KEY" not in app.clipboard


async def test_toasts_only_on_changes() -> None:
    app, toasts = make_app(), Toasts()
    lagging = fx.lagging()
    (finding,) = lagging.findings
    async with app.run_test(size=SIZE, message_hook=toasts) as pilot:
        app.show_snapshot(fx.steady())
        app.show_snapshot(fx.steady())
        await pilot.pause()
        assert toasts.messages == []
        app.show_snapshot(lagging)
        await until(lambda: len(toasts.messages) >= 2, pilot)
        assert any("phase steady → leaf-rotated" in m for m in toasts.messages)
        assert any(m.startswith(f"new: {finding.message[:40]}") for m in toasts.messages), toasts.messages
