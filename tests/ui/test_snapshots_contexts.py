"""The dashboard watching two contexts (pytest-textual-snapshot): a context column first, rows grouped by
context, each context's secret phase in the header, every finding named by its context, every log line
its context."""

from __future__ import annotations

from gloomon.lab.snapshots import contexts as fleets
from tests.ui.test_snapshots import app, feed


def test_two_clusters_160x50(snap_compare) -> None:
    """Two healthy independent clusters: east's rows, then west's; the header says both secrets' phase;
    each log line starts with its cluster (the pods' suffixes are the same in both)."""
    fleet = fleets.two_clusters()
    logs = fleets.logs_of(fleet)
    assert snap_compare(app(), run_before=feed([fleet], events=logs), terminal_size=(160, 50))


def test_split_planes_stale_copy_160x50(snap_compare) -> None:
    """mgmt rotates, edge's copy is behind: the header says so for edge, the finding names edge."""
    fleet = fleets.split_planes_stale()
    assert snap_compare(
        app(), run_before=feed([fleet], events=fleets.logs_of(fleet)), terminal_size=(160, 50)
    )


def test_split_planes_stale_copy_80x24(snap_compare) -> None:
    """At 80×24 the context column still fits beside component, pod, time left, phase, sync and xDS;
    the log lines say mgmt or edge."""
    fleet = fleets.split_planes_stale()
    assert snap_compare(app(), run_before=feed([fleet], events=fleets.logs_of(fleet)), terminal_size=(80, 24))


def test_timeline_two_contexts_160x50(snap_compare) -> None:
    """The timeline names the first context's secret and each row's context, grouped as the table."""
    assert snap_compare(
        app(), run_before=feed([fleets.split_planes_stale()]), press=["t"], terminal_size=(160, 50)
    )


def test_timeline_two_clusters_80x24(snap_compare) -> None:
    """Two independent clusters: the timeline is east's; west (its own secret) is named, not drawn."""
    assert snap_compare(app(), run_before=feed([fleets.two_clusters()]), press=["t"], terminal_size=(80, 24))
