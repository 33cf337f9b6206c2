"""The lab's package face names every scenario and topology (the CLI's --scenario choices come from it),
and merging kubeconfigs refuses names that clash (two clusters must not share a context)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gloomon.lab import SCENARIO_NAMES, TOPOLOGY_NAMES
from gloomon.lab.kubeconfig import merge_kubeconfigs
from gloomon.lab.scenarios import SCENARIOS
from gloomon.lab.topologies import TOPOLOGIES


def test_the_package_names_every_scenario_and_topology() -> None:
    assert tuple(SCENARIOS) == SCENARIO_NAMES
    assert tuple(TOPOLOGIES) == TOPOLOGY_NAMES
    assert not set(SCENARIO_NAMES) & set(TOPOLOGY_NAMES)


def _kubeconfig(path: Path, context: str, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": f"{context}-user", "user": {"token": context}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-user"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config))
    return path


def test_merged_kubeconfigs_keep_every_entry_and_refuse_a_clash(tmp_path: Path) -> None:
    east = _kubeconfig(tmp_path / "east", "east", "https://127.0.0.1:1")
    west = _kubeconfig(tmp_path / "west", "west", "https://127.0.0.1:2")
    merge_kubeconfigs([east, west], tmp_path / "merged")
    merged = yaml.safe_load((tmp_path / "merged").read_text())
    assert [c["name"] for c in merged["contexts"]] == ["east", "west"]
    assert [c["cluster"]["server"] for c in merged["clusters"]] == [
        "https://127.0.0.1:1",
        "https://127.0.0.1:2",
    ]
    assert merged["current-context"] == "east"
    with pytest.raises(ValueError, match="clusters east already named"):
        merge_kubeconfigs(
            [east, _kubeconfig(tmp_path / "again", "east", "https://127.0.0.1:3")], tmp_path / "x"
        )


def test_context_names_a_single_lab_not_a_fleet(capsys: pytest.CaptureFixture[str]) -> None:
    from gloomon.lab.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["--scenario", "two-clusters", "--context", "east"])
    assert exit_.value.code == 2
    assert "--context names a single lab; two-clusters names its own contexts" in capsys.readouterr().err
