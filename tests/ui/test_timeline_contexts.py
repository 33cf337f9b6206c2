"""The timeline with several contexts: a group per context (its secret or copy, certgen where it runs,
its pods), all on one time axis; one context is drawn as it always was, without a name."""

from __future__ import annotations

from gloomon.domain.model import FleetSnapshot, Phase
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots import contexts as fleets
from gloomon.lab.snapshots import namespaces
from gloomon.ui.screens.overlays import TimelineScreen
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from gloomon.ui.widgets.timeline_glyphs import GLYPHS
from tests.ui.harness import make_app, until


async def timeline_rows(snapshots: list[FleetSnapshot], size: tuple[int, int]) -> list[str]:
    """Every row of the timeline the app draws for ``snapshots`` (``t`` opens it)."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        for snapshot in snapshots:
            app.show_snapshot(snapshot)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen) and app.screen.ready, pilot)
        timeline = app.screen.query_one(RotationTimeline)
        await until(lambda: timeline.lines is not None, pilot)
        lines = timeline.lines
        assert lines is not None
        return [lines.line(y).plain for y in range(len(lines))]


def group(rows: list[str], title: str) -> list[str]:
    """The rows from ``title`` up to the next group's title (or the legend)."""
    start = next(i for i, row in enumerate(rows) if row.startswith(title))
    end = next(i for i in range(start + 1, len(rows)) if not rows[i].startswith("  "))
    return rows[start:end]


async def test_two_clusters_each_draw_their_own_secret_and_pods() -> None:
    rows = await timeline_rows(fleets.rotation_across(fleets.WEST), (160, 50))
    east, west = group(rows, "east secret"), group(rows, "west secret")
    assert [row.split()[0] for row in east[1:]] == [
        "certgen",
        "gloo/k2x7q",
        "gw-proxy/m9v3z",
        "gw-proxy/x2k4p",
        "extauth/p3n6r",
        "rate-limit/h5j2l",
    ]
    assert [row.split()[0] for row in west[1:]] == [row.split()[0] for row in east[1:]]
    ca_added = GLYPHS[Phase.CA_ADDED]
    assert ca_added in east[0] and all(ca_added in row for row in east[2:])
    assert ca_added not in "".join(west)  # west's own secret did not rotate
    assert all(row.rstrip().endswith("+0s") for row in west[2:])  # held since long before: no lag
    assert not any("not on this timeline" in row for row in rows)


async def test_split_planes_draw_the_copy_and_how_far_behind_its_source_it_is() -> None:
    rows = await timeline_rows(fleets.rotation_across(fleets.EDGE), (80, 24))
    edge = group(rows, "edge copy")
    assert "copy +20s after mgmt" in edge[0]
    assert not any(row.split()[0] == "certgen" for row in edge)  # certgen runs only where gloo runs
    assert len(edge) == 5
    stale = await timeline_rows([fleets.split_planes_stale()], (80, 24))
    assert "copy behind mgmt 5m" in group(stale, "edge copy")[0]
    changes = rows[rows.index("Secret changes") + 1 :]
    assert {row.split()[0] for row in changes if row.strip()} >= {"mgmt", "edge"}


async def test_one_context_is_drawn_without_its_name() -> None:
    rows = await timeline_rows(fx.rotation_series(), (120, 40))
    assert rows[2].startswith("secret ") and rows[3].startswith("certgen ")
    assert rows[4].startswith("gloo/k2x7q")
    assert not any(fx.CONTEXT in row for row in rows)


async def test_a_namespace_copy_is_a_group_of_its_own_with_its_pods() -> None:
    rows = await timeline_rows([namespaces.copy_frozen()], (120, 40))
    release = group(rows, f"{fx.CONTEXT} secret")
    apps = group(rows, f"{namespaces.APPS} copy")
    assert "copy behind gloo-system" in apps[0]
    assert [row.split()[0] for row in apps[1:]] == [
        f"kube-gw/{namespaces.KUBE_GATEWAY_POD.rsplit('-', 1)[-1]}"
    ]
    assert not any("kube-gw" in row for row in release)
