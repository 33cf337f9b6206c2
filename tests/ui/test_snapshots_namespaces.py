"""The dashboard with a kube-gateway proxy in its Gateway's namespace (pytest-textual-snapshot): the
header says the phase of each namespace's copy of the secret beside the release namespace's, the row
of a pod whose copy is behind says so, and its detail pane names the secret it is compared with."""

from __future__ import annotations

from gloomon.lab.snapshots import namespaces as fleets
from tests.ui.test_snapshots import app, feed


def test_copy_frozen_160x50(snap_compare) -> None:
    """certgen rotated, the apps copy did not follow: ``apps copy behind`` in the header, the
    kube-gateway row ``copy lags``, the finding names namespace apps."""
    assert snap_compare(app(), run_before=feed([fleets.copy_frozen()]), terminal_size=(160, 50))


def test_copy_frozen_80x24(snap_compare) -> None:
    """At 80×24 the header keeps the copy's first words beside the secret's phase."""
    assert snap_compare(app(), run_before=feed([fleets.copy_frozen()]), terminal_size=(80, 24))


def test_copy_frozen_detail_160x50(snap_compare) -> None:
    """Enter on the kube-gateway row: the pane says it is compared with apps/gloo-mtls-certs, its
    namespace's copy, behind the source by 5m."""
    assert snap_compare(
        app(),
        run_before=feed([fleets.copy_frozen()]),
        press=["down", "down", "down", "enter"],
        terminal_size=(160, 50),
    )
