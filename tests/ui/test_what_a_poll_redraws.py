"""A poll redraws only what is seen and what changed (issue 11: keys answer within 100 ms).

A screen covered by a view is not redrawn per snapshot but once, with the latest state, when it comes
back; the details and the expiry chart keep what they show when a poll leaves their texts unchanged; the
fleet table keeps the cells of a row whose target a poll left as it was, and renders again only the cells
whose value changed, not every visible cell.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from rich.segment import Segment
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from gloomon.domain.compare import sync
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, TrustBundle
from gloomon.lab import snapshots as fx
from gloomon.ui.screens.dashboard import DashboardScreen
from gloomon.ui.screens.overlays import DetailScreen, ExpiryScreen, TimelineScreen
from gloomon.ui.widgets import fleet_table
from gloomon.ui.widgets.detail_pane import DetailPane
from gloomon.ui.widgets.expiry_chart import ExpiryChart
from gloomon.ui.widgets.fleet_rows import NOT_IN_ROW, row_key
from gloomon.ui.widgets.fleet_table import FleetTable, row_cells
from gloomon.ui.widgets.rendered import texts_key
from tests.ui.harness import PALETTE, SIZE, make_app, until
from tests.ui.test_kept_views import detail_text, home, in_front


def next_poll(previous: FleetSnapshot) -> FleetSnapshot:
    """The steady fleet polled again 10 s later: new objects, the same certificates and states."""
    return fx.poll(fx.STEADY, at=previous.taken_at + timedelta(seconds=10), previous=previous)


async def test_a_covered_dashboard_is_drawn_once_with_the_latest_state_when_it_comes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[FleetSnapshot | None] = []
    draw = DashboardScreen.draw

    def recording(screen: DashboardScreen, now: datetime) -> None:
        drawn.append(screen.state.snapshot)
        draw(screen, now)

    monkeypatch.setattr(DashboardScreen, "draw", recording)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.press("enter")
        view = await in_front(app, DetailScreen, pilot)
        covered = len(drawn)
        latest = fx.expired()
        for snapshot in (fx.lagging(), latest):
            app.show_snapshot(snapshot)
            await pilot.pause()
        assert drawn[covered:] == []  # nothing drawn while nobody sees it…
        assert detail_text(view) != ""  # …while the view in front follows each snapshot
        await home(app, pilot)
        assert drawn[covered:] == [latest]  # once, from the state as it is now
        dashboard = app.screen
        assert detail_text(dashboard) == detail_text(view)  # the same target, the same data


async def test_details_and_expiry_keep_what_they_show_when_a_poll_changes_none_of_it() -> None:
    first = fx.steady()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(first)
        await pilot.pause()
        body = app.screen.query_one(DetailPane).query_one("#detail-body", Static)
        shown = body.content
        again = next_poll(first)
        app.show_snapshot(again)
        await pilot.pause()
        assert body.content is shown  # not updated: no layout, no paint
        app.show_snapshot(fx.expired())
        await pilot.pause()
        assert body.content is not shown
        assert "expired" in detail_text(app.screen)
        app.show_snapshot(again)
        await pilot.press("e")
        chart = (await in_front(app, ExpiryScreen, pilot)).query_one(ExpiryChart)
        shown = chart.content
        app.show_snapshot(next_poll(again))
        await pilot.pause()
        assert chart.content is shown
        app.show_snapshot(fx.expired())
        await pilot.pause()
        assert chart.content is not shown


async def test_a_poll_renders_again_only_the_table_cells_it_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    rendered: list[tuple[int, int]] = []
    render = DataTable._render_cell

    def recording(
        table: DataTable[object], row: int, column: int, *args: object, **kwargs: object
    ) -> list[list[Segment]]:
        rendered.append((row, column))
        return render(table, row, column, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DataTable, "_render_cell", recording)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(fx.steady())
        await pilot.pause()
        table = app.screen.query_one(FleetTable)
        before = {
            (row, column): table.get_cell_at(Coordinate(row, column))
            for row in range(table.row_count)
            for column in range(len(table.columns))
        }
        rendered.clear()
        app.show_snapshot(fx.lagging())
        await pilot.pause()
        changed = {at for at, cell in before.items() if table.get_cell_at(Coordinate(*at)) is not cell}
        body = {at for at in rendered if at[0] >= 0}
        assert changed and len(changed) < len(before)  # the lagging pod's row changed, the others not
        assert body == changed


async def test_a_row_whose_target_a_poll_left_as_it_was_keeps_its_cells(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    build = fleet_table._row_cells

    def recording(target: object, *args: object) -> object:
        built.append(target.ref.pod)  # type: ignore[attr-defined]
        return build(target, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fleet_table, "_row_cells", recording)
    first = fx.steady()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(first)
        await pilot.pause()
        assert len(built) == len(first.targets)
        built.clear()
        app.show_snapshot(next_poll(first))  # new objects, nothing the rows show has changed
        await pilot.pause()
        assert built == []
        lagging = fx.lagging()
        app.show_snapshot(lagging)
        await pilot.pause()
        assert built  # a changed target is drawn again…
        shown = rows_of(app.screen.query_one(FleetTable), lagging)
    fresh = make_app()
    async with fresh.run_test(size=SIZE) as pilot:
        fresh.show_snapshot(lagging)
        await pilot.pause()
        assert shown == rows_of(fresh.screen.query_one(FleetTable), lagging)  # …as a new table draws it


def rows_of(table: FleetTable, snapshot: FleetSnapshot) -> list[tuple[object, ...]]:
    return [texts_key(table.get_row(target.key)) for target in snapshot.targets]


ANOTHER_TIME = fx.NOW - timedelta(hours=5)


def test_the_fields_left_out_of_a_row_key_are_drawn_in_no_cell_of_the_row() -> None:
    """A field in NOT_IN_ROW that a cell did show would leave that cell stale when only it changed."""
    for snapshot in (
        fx.steady(),
        fx.lagging(),
        fx.expired(),
        fx.untrusted(),
        fx.unreachable(),
        fx.api_down(),
    ):
        for target in snapshot.targets:
            drawn = texts_key(row_cells(target, fx.NOW, PALETTE, HealthPolicy()).values())
            for name in NOT_IN_ROW - {"ref", "fetch", "bundle"}:
                value = getattr(target, name)
                other = (value or 0) + 7 if isinstance(value, (int, float)) else ANOTHER_TIME
                moved = replace(target, **{name: other})
                assert texts_key(row_cells(moved, fx.NOW, PALETTE, HealthPolicy()).values()) == drawn, name
            if target.fetch is not None:  # the fetch as read again later: only reachability and error drawn
                later = replace(target, fetch=replace(target.fetch, fetched_at=ANOTHER_TIME))
                assert row_key(later) == row_key(target)
                assert texts_key(row_cells(later, fx.NOW, PALETTE, HealthPolicy()).values()) == drawn
            ref = target.ref  # the same pod behind another forward port, later, restarted: the same row
            forward = (
                replace(ref.forward, local_address="127.0.0.1:1", since=ANOTHER_TIME) if ref.forward else None
            )
            pod_info = replace(ref.pod_info, restarts=9) if ref.pod_info else None
            moved = replace(
                target, ref=replace(ref, admin_url="http://127.0.0.1:1", forward=forward, pod_info=pod_info)
            )
            assert row_key(moved) == row_key(target)
            assert texts_key(row_cells(moved, fx.NOW, PALETTE, HealthPolicy()).values()) == drawn
            copied = replace(target, bundle=TrustBundle(tuple(target.bundle.cas), target.bundle.complete))
            assert row_key(copied) == row_key(target)  # the same CAs in a new bundle: the same row


class CountingHashlib:
    """Stands in for ``hashlib`` in the bundle digests: counts the digests made."""

    def __init__(self) -> None:
        self.made = 0

    def sha256(self, data: bytes) -> hashlib._Hash:
        self.made += 1
        return hashlib.sha256(data)


async def test_the_dashboard_digests_no_bundle_of_a_poll_it_is_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poll's snapshot is built off the dashboard's loop; its bundles are digested there (10,000 CAs:
    ~20 ms each), not when the dashboard first shows it."""
    monkeypatch.setattr(sync, "_BUNDLE_DIGESTS", {})  # this test's own bundles only
    counting = CountingHashlib()
    monkeypatch.setattr(sync, "hashlib", counting)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        snapshot = fx.lagging()  # built as a poll builds it
        built = counting.made
        assert built >= 2  # the secret's bundle and the pods' (two contents)
        app.show_snapshot(snapshot)
        await pilot.pause()
        await pilot.press("t")
        await in_front(app, TimelineScreen, pilot)
        assert counting.made == built


async def test_a_poll_that_arrives_just_after_a_key_waits_until_the_key_was_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session's snapshot right after a key press is held back (its redraw would land between the key
    and its frame) and applied once the key has had its time; without a key press it is applied at
    once. Only the latest held-back snapshot is applied."""
    from gloomon.ui import app as app_module
    from gloomon.ui.messages import SnapshotArrived

    monkeypatch.setattr(app_module, "KEY_FIRST_SECONDS", 3.0)  # long enough to see it held back
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.post_message(SnapshotArrived(fx.steady()))
        await until(lambda: app.state.snapshot is not None, pilot)  # no key: at once
        await pilot.press("down")
        lagging, rotated = fx.lagging(), fx.leaf_rotated()
        app.post_message(SnapshotArrived(lagging))
        app.post_message(SnapshotArrived(rotated))
        await pilot.pause()
        assert app.state.snapshot is not lagging and app.state.snapshot is not rotated  # held back
        await until(lambda: app.state.snapshot is rotated, pilot)  # the latest, after the key's time
