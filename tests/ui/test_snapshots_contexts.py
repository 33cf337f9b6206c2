"""The dashboard watching two contexts (pytest-textual-snapshot): a context column first, rows grouped by
context, each context's secret phase in the header, every finding named by its context, every log line
its context."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gloomon.domain.model import LogEvent
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots import contexts as fleets
from gloomon.lab.snapshots import namespaces
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


def certgen_in(context: str) -> list[LogEvent]:
    """certgen's three phase lines, as that context's certgen pod wrote them."""
    return [replace(event, context=context) for event in fx.certgen_events()]


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_timeline_split_planes_rotation(snap_compare, size: tuple[int, int]) -> None:
    """mgmt rotates: its group draws the secret's three writes, certgen's marks and its pods' pickups;
    edge's group draws its copy arriving 20 s after each write (said on the copy's row) and its pods."""
    run = feed(fleets.rotation_across(fleets.EDGE), events=certgen_in(fleets.MGMT))
    assert snap_compare(app(), run_before=run, press=["t"], terminal_size=size)


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_timeline_two_clusters_rotation(snap_compare, size: tuple[int, int]) -> None:
    """east rotates while west (its own certgen and CA) stays steady: a group each, one time axis."""
    run = feed(fleets.rotation_across(fleets.WEST), events=certgen_in(fleets.EAST))
    assert snap_compare(app(), run_before=run, press=["t"], terminal_size=size)


def test_timeline_namespace_copy_frozen_120x40(snap_compare) -> None:
    """One context, the apps namespace's copy frozen behind certgen's write: the copy and its
    kube-gateway pod are a group of their own, which says how long the copy has been behind."""
    assert snap_compare(
        app(), run_before=feed([namespaces.copy_frozen()]), press=["t"], terminal_size=(120, 40)
    )
