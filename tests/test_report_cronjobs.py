"""``check``'s table shows every management context's certgen CronJob, each by its context."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from gloomon.lab.snapshots import steady
from gloomon.lab.snapshots.contexts import two_clusters
from gloomon.report import render_table


def _text(snapshot) -> str:  # type: ignore[no-untyped-def]
    console = Console(width=200, file=io.StringIO(), color_system=None)
    with console.capture() as captured:
        console.print(render_table(snapshot))
    return captured.get()


def test_two_clusters_list_both_cronjobs_by_their_context() -> None:
    snapshot = two_clusters()
    east, west = snapshot.cronjobs
    text = _text(replace(snapshot, cronjobs=(east, replace(west, suspended=True))))
    lines = [line for line in text.splitlines() if line.startswith("CronJob")]
    assert len(lines) == 2, text
    assert lines[0].startswith("CronJob (east) gloo-mtls-certgen-cronjob") and "SUSPENDED" not in lines[0]
    assert lines[1].startswith("CronJob (west) gloo-mtls-certgen-cronjob") and "SUSPENDED" in lines[1]


def test_one_context_says_its_cronjob_without_naming_it() -> None:
    lines = [line for line in _text(steady()).splitlines() if line.startswith("CronJob")]
    assert len(lines) == 1 and lines[0].startswith("CronJob gloo-mtls-certgen-cronjob"), lines
