"""What the Pilot tests share: the terminal size, an app on the fixtures' clock, a wait with a deadline,
and the toasts an app posted (through ``run_test(message_hook=...)``, not the app's private state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot

from gloomon.lab import snapshots as fx
from gloomon.ui.app import GloomonApp
from gloomon.ui.format import Palette

SIZE = (120, 40)
#: a palette with plain colours, for comparing cell styles
PALETTE = Palette.from_variables({"success": "#00ff00", "warning": "#ffaa00", "error": "#ff0000"})


def make_app() -> GloomonApp:
    return GloomonApp(clock=fx.CLOCK)


async def until(condition: Callable[[], bool], pilot: Pilot[object], timeout: float = 10.0) -> None:
    """Let the app run until ``condition`` holds; fail after ``timeout`` seconds (never a bare sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met before the deadline"
        await pilot.pause(0.02)


class Toasts:
    """A ``message_hook`` for ``run_test`` that keeps the text of every notification the app posts."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.messages.append(message.notification.message)
