"""A lab for synchronous callers (``gloomon --demo``): runs in a daemon thread with its own event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from gloomon.lab.lab import Lab


class RunningLab:
    """Handle on a lab running in a background thread. ``stop()`` stops it and waits for the thread."""

    def __init__(
        self, lab: Lab, loop: asyncio.AbstractEventLoop, thread: threading.Thread, stopped: asyncio.Event
    ) -> None:
        self.lab = lab
        self._loop = loop
        self._thread = thread
        self._stopped = stopped

    @property
    def kubeconfig_path(self) -> Path:
        return self.lab.kubeconfig_path

    @property
    def context(self) -> str:
        return self.lab.context

    @property
    def namespace(self) -> str:
        return self.lab.namespace

    @property
    def scenario(self) -> str:
        return self.lab.scenario

    def call(self, coro_fn: Any, *args: Any, timeout: float = 60.0) -> Any:
        """Run ``coro_fn(*args)`` (e.g. ``lab.restart_pod``) on the lab's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)

    def __enter__(self) -> RunningLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_background(
    scenario: str = "healthy", namespace: str = "gloo-system", timeout: float = 60.0, **kwargs: Any
) -> RunningLab:
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stopped = asyncio.Event()
        box["loop"], box["stopped"] = loop, stopped

        async def main() -> None:
            lab = Lab(scenario=scenario, namespace=namespace, **kwargs)
            box["lab"] = lab
            try:
                await lab.start()
            except BaseException as exc:
                box["error"] = exc
                ready.set()
                return
            ready.set()
            try:
                await stopped.wait()
            finally:
                await lab.stop()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=f"gloomon-lab-{scenario}", daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise TimeoutError(f"the lab did not start within {timeout}s")
    if "error" in box:
        raise box["error"]
    return RunningLab(box["lab"], box["loop"], thread, box["stopped"])
