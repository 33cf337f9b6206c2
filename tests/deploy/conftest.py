"""The deploy tests' own fixture: ``deploy/`` rendered by the virtualenv's kubectl (its kustomize)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="session")
def rendered(kubectl: Path) -> list[dict[str, Any]]:
    """Every object ``kubectl kustomize deploy/`` renders, in its order."""
    done = subprocess.run(
        [str(kubectl), "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def by_kind(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rendered objects by kind (deploy/ has one of each)."""
    return {obj["kind"]: obj for obj in rendered}
