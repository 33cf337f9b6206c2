"""The footer shows every key at any width: words give way before keys do (issue 11: at 100 columns the
dashboard's footer scrolled ``c`` and ``s`` out of sight)."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from gloomon.lab import snapshots as fx
from gloomon.ui.screens.overlays import DetailScreen
from gloomon.ui.widgets.key_footer import KeyFooter
from tests.ui.harness import make_app, until

DASHBOARD_KEYS = {"enter", "f", "w", "q", "r", "slash", "t", "e", "i", "l", "c", "s", "ctrl+p"}
DETAIL_KEYS = {"escape", "q", "r", "t", "e", "i", "l", "c", "s", "ctrl+p"}


@pytest.mark.parametrize("width", [80, 100, 160])
async def test_every_key_fits_in_the_footer(width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 30)) as pilot:
        app.show_snapshot(fx.lagging())
        for keys, enter in ((DASHBOARD_KEYS, ()), (DETAIL_KEYS, ("enter",))):
            await pilot.press(*enter)
            opened = bool(enter)
            await until(lambda opened=opened: isinstance(app.screen, DetailScreen) == opened, pilot)
            footer, count = app.screen.query_one(KeyFooter), len(keys)
            await until(lambda footer=footer, count=count: len(footer.query(FooterKey)) >= count, pilot)
            await pilot.pause()
            shown = list(footer.query(FooterKey))
            assert {key.key for key in shown} == keys
            assert all(key.region.right <= width for key in shown), [
                (key.key, key.region.right) for key in shown
            ]
            if width >= 160:  # room for every word
                assert all(key.description for key in shown)
            words = {key.key: key.description for key in shown}
            if not all(words.values()):  # the keys everyone knows lose their words first
                assert words["q"] == "" and words["c"] == "Copy PEM"
