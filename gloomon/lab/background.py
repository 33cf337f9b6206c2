"""Labs for synchronous callers (``gloomon --demo``): each runs in a daemon thread with its own event loop.

``start_background`` runs one :class:`Lab`, ``start_fleet_background`` a :class:`LabFleet`;
``start_demo`` picks by scenario name. Both handles give the kubeconfig, every context and the namespace.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

from gloomon.lab.fleet import LabFleet
from gloomon.lab.lab import Lab
from gloomon.lab.topologies import TOPOLOGIES

T = TypeVar("T", Lab, LabFleet)


class _Running(Generic[T]):
    """Handle on a lab or fleet running in a background thread. ``stop()`` stops it and waits."""

    def __init__(
        self, running: T, loop: asyncio.AbstractEventLoop, thread: threading.Thread, stopped: asyncio.Event
    ) -> None:
        self._running: T = running
        self._loop = loop
        self._thread = thread
        self._stopped = stopped

    @property
    def kubeconfig_path(self) -> Path:
        return self._running.kubeconfig_path

    @property
    def namespace(self) -> str:
        return self._running.namespace

    @property
    def scenario(self) -> str:
        return self._running.scenario

    def call(self, coro_fn: Any, *args: Any, timeout: float = 60.0) -> Any:
        """Run ``coro_fn(*args)`` (e.g. ``lab.restart_pod``) on the lab's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro_fn(*args), self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout)

    def __enter__(self) -> _Running[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RunningLab(_Running[Lab]):
    @property
    def lab(self) -> Lab:
        return self._running

    @property
    def context(self) -> str:
        return self._running.context

    @property
    def contexts(self) -> tuple[str, ...]:
        return (self._running.context,)


class RunningFleet(_Running[LabFleet]):
    @property
    def fleet(self) -> LabFleet:
        return self._running

    @property
    def contexts(self) -> tuple[str, ...]:
        return self._running.contexts


def _run_in_thread(
    make: Callable[[], T], name: str, timeout: float
) -> tuple[T, asyncio.AbstractEventLoop, threading.Thread, asyncio.Event]:
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stopped = asyncio.Event()
        box["loop"], box["stopped"] = loop, stopped

        async def main() -> None:
            running = make()
            box["running"] = running
            try:
                await running.start()
            except BaseException as exc:
                box["error"] = exc
                ready.set()
                return
            ready.set()
            try:
                await stopped.wait()
            finally:
                await running.stop()

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise TimeoutError(f"the lab did not start within {timeout}s")
    if "error" in box:
        raise box["error"]
    return box["running"], box["loop"], thread, box["stopped"]


def start_background(
    scenario: str = "healthy", namespace: str = "gloo-system", timeout: float = 60.0, **kwargs: Any
) -> RunningLab:
    """One lab in a daemon thread; returns once every pod serves certificates."""
    lab, loop, thread, stopped = _run_in_thread(
        lambda: Lab(scenario=scenario, namespace=namespace, **kwargs), f"gloomon-lab-{scenario}", timeout
    )
    return RunningLab(lab, loop, thread, stopped)


def start_fleet_background(
    topology: str = "two-clusters", namespace: str = "gloo-system", timeout: float = 90.0, **kwargs: Any
) -> RunningFleet:
    """A fleet (``topologies.py``) in a daemon thread; returns once every cluster's pods serve."""
    fleet, loop, thread, stopped = _run_in_thread(
        lambda: LabFleet(topology, namespace=namespace, **kwargs), f"gloomon-fleet-{topology}", timeout
    )
    return RunningFleet(fleet, loop, thread, stopped)


def start_demo(scenario: str, namespace: str = "gloo-system", **kwargs: Any) -> RunningLab | RunningFleet:
    """``gloomon --demo``'s lab: a fleet for a topology's name, one lab for any other scenario."""
    if scenario in TOPOLOGIES:
        return start_fleet_background(scenario, namespace, **kwargs)
    return start_background(scenario, namespace, **kwargs)
