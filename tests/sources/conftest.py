"""The sources tests' own fixture: settings that watch a lab (the lab itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gloomon.settings import Settings


def _lab_settings(lab: Any, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kubeconfig": str(lab.kubeconfig_path),
        "contexts": (lab.context,),
        "namespace": lab.namespace,
        "interval": 1.0,
        "request_timeout": 2.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def lab_settings() -> Callable[..., Settings]:
    """``lab_settings(lab, **overrides)``: Settings that watch ``lab`` through its kubeconfig, with short
    timeouts for tests."""
    return _lab_settings
