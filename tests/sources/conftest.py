"""Helpers for the sources tests: settings pointing at a lab, and condition waits with deadlines."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

from gloomon.settings import Settings

T = TypeVar("T")


def lab_settings(lab: Any, **overrides: Any) -> Settings:
    """Settings that watch ``lab`` through its kubeconfig, with short timeouts for tests."""
    values: dict[str, Any] = {
        "kubeconfig": str(lab.kubeconfig_path),
        "contexts": (lab.context,),
        "namespace": lab.namespace,
        "interval": 1.0,
        "request_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool], *, timeout: float, what: str
) -> T: ...
@overload
async def eventually(
    probe: Callable[[], T], accept: Callable[[T], bool], *, timeout: float, what: str
) -> T: ...
async def eventually(
    probe: Callable[[], Any], accept: Callable[[Any], bool], *, timeout: float, what: str
) -> Any:
    """Call ``probe`` until ``accept`` holds for its result; fail with ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        result = probe()
        last = await result if inspect.isawaitable(result) else result
        if accept(last):
            return last
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r:.600}")
        await asyncio.sleep(0.05)


def walk_text(root: Any, *, depth: int = 8) -> str:
    """Every string and bytes value reachable from ``root`` (attributes of gloomon objects, dataclass
    fields, dicts, sequences), plus ``repr(root)``: what a leak of key material would show up in."""
    seen: set[int] = set()
    parts: list[str] = [repr(root)]

    def visit(obj: Any, level: int) -> None:
        if level > depth or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, str):
            parts.append(obj)
        elif isinstance(obj, bytes | bytearray):
            parts.append(bytes(obj).decode("latin-1"))
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for field in dataclasses.fields(obj):
                visit(getattr(obj, field.name, None), level + 1)
        elif isinstance(obj, dict):
            for key, value in obj.items():
                visit(key, level + 1)
                visit(value, level + 1)
        elif isinstance(obj, list | tuple | set | frozenset | deque):
            for item in obj:
                visit(item, level + 1)
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith("gloomon"):
            for value in vars(obj).values():
                visit(value, level + 1)

    visit(root, 0)
    return "\n".join(parts)
