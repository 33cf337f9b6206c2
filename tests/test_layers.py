"""Imports only go downwards (DESIGN.md "Layers"): the headless core never loads the UI toolkit."""

from __future__ import annotations

import subprocess
import sys

import pytest

LAYERS = {
    # module imported -> packages that must not be loaded by it
    "gloomon.domain.fleet, gloomon.domain.export, gloomon.domain.parse.logs": (
        "textual",
        "httpx",
        "kubernetes",
        "aiohttp",
        "rich",
    ),
    "gloomon.sources.session": ("textual",),
    "gloomon.report": ("textual", "kubernetes"),
    "gloomon.lab": ("textual",),
}


@pytest.mark.parametrize(("modules", "forbidden"), LAYERS.items())
def test_layer_does_not_load(modules: str, forbidden: tuple[str, ...]):
    code = f"import sys; import {modules}; print(' '.join(m for m in {forbidden!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{modules} loaded {result.stdout.strip()}"
