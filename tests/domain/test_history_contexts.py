"""The rotation history per context: each context's secret and pods on their own timeline, a data-plane
copy measured against the management secret it copies, certgen's lines with their context, and a write
from before watching began neither stretching the axis nor counting as a pickup lag."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from gloomon.domain.compare.history import EARLIER_WRITES, RotationHistory
from gloomon.domain.model import FleetSnapshot, Phase, Plane, WebhookState
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots import contexts as fleets
from gloomon.lab.snapshots import namespaces


def folded(snapshots: list[FleetSnapshot]) -> RotationHistory:
    history = RotationHistory()
    for snapshot in snapshots:
        history.add_snapshot(snapshot)
    return history


def test_each_context_has_its_own_timeline_of_its_own_secret_and_pods() -> None:
    series = fleets.rotation_across(fleets.WEST)
    history = folded(series)
    east, west = history.timelines
    assert (east.context, west.context) == ("east", "west")
    assert [c.phase for c in east.changes] == [Phase.STEADY, Phase.CA_ADDED, Phase.LEAF_ROTATED, Phase.STEADY]
    assert [c.phase for c in west.changes] == [Phase.STEADY]  # west's certgen did not run
    last = series[-1]
    for timeline in (east, west):
        mine = {t.key for t in last.targets if t.ref.context == timeline.context}
        assert set(timeline.samples[-1].targets) == mine
        assert set(timeline.pickups(timeline.changes[-1])) == mine  # each picked up its own secret


def test_a_copy_is_measured_from_its_sources_write() -> None:
    history = folded(fleets.rotation_across(fleets.EDGE))
    mgmt, edge = history.timelines
    assert (mgmt.plane, edge.plane) == (Plane.MANAGEMENT, Plane.DATA)
    assert history.copy_lag(mgmt) is None
    lag = history.copy_lag(edge)
    assert lag is not None and lag.source == "mgmt"
    assert lag.seconds == fleets.COPY_DELAY and lag.behind_since is None


def test_a_copy_behind_its_source_says_since_when() -> None:
    history = folded([fleets.split_planes_stale()])
    mgmt, edge = history.timelines
    lag = history.copy_lag(edge)
    assert lag is not None and lag.behind_since == mgmt.changes[-1].at


def test_certgen_lines_go_to_their_contexts_timeline() -> None:
    history = folded(fleets.rotation_across(fleets.WEST))
    east, west = history.timelines
    history.add_log_events([replace(event, context="west") for event in fx.certgen_events()])
    history.add_log_events(fx.certgen_events()[:1])  # no context known: the first context's
    assert len(history.certgen_of(west)) == 3 and len(history.certgen_of(east)) == 1


def test_a_write_long_before_watching_began_starts_no_axis_and_no_lag() -> None:
    series = fleets.rotation_across(fleets.WEST)
    history = folded(series)
    _, west = history.timelines
    (written,) = west.changes
    first = series[0].taken_at
    assert (first - written.at).total_seconds() > EARLIER_WRITES
    assert west.start == first and history.start == first
    picked = west.pickups(written)
    # the pods say (SDS last_updated) they got it when it was written, hours before the first sample
    assert picked and all(at == written.at for at in picked.values())


def test_a_write_shortly_before_watching_began_starts_the_axis() -> None:
    series = fleets.rotation_across(fleets.WEST)[9:]  # watching began 30 s into east's ca-added
    east, _ = folded(series).timelines
    ca_added = next(c for c in east.changes if c.phase is Phase.CA_ADDED)
    assert ca_added.at < series[0].taken_at
    assert east.start == ca_added.at == series[0].taken_at - timedelta(seconds=30)


def test_each_context_keeps_its_own_validation_webhook() -> None:
    """Two clusters, two gloos, two webhooks: each on its own context's timeline; one context's webhook
    is never another's."""
    held = {"east": fx.LEAF_OLD, "west": fleets.LEAF_WEST}

    def webhooks(snapshot: FleetSnapshot, *contexts: str) -> FleetSnapshot:
        return replace(
            snapshot,
            webhooks=tuple(
                WebhookState(c, fx.NAMESPACE, snapshot.taken_at, secret_leaf=held[c], served=held[c])
                for c in contexts
            ),
        )

    series = fleets.rotation_across(fleets.WEST)
    east, west = folded([webhooks(snapshot, "east", "west") for snapshot in series]).timelines
    assert east.webhook.observed and west.webhook.observed
    assert east.webhook.samples[-1].served != west.webhook.samples[-1].served
    east, west = folded([webhooks(snapshot, "east") for snapshot in series]).timelines
    assert east.webhook.observed and not west.webhook.observed


def test_a_namespace_copy_has_its_own_timeline_behind_its_source() -> None:
    """The kube-gateway pod in ``apps`` is compared with its namespace's copy, which a frozen sync left on
    the old content: the copy is a timeline of its own, behind the release namespace's secret; on the
    release secret's timeline only the release pods picked certgen's write up."""
    release, apps = folded([namespaces.copy_frozen()]).timelines
    assert (release.namespace, apps.namespace) == (None, namespaces.APPS) and apps.copy
    assert [key.rsplit("/", 1)[-1] for key in apps.samples[-1].targets] == [namespaces.KUBE_GATEWAY_POD]
    assert len(release.pickups(release.changes[-1])) == 3
    history = folded([namespaces.copy_frozen()])
    lag = history.copy_lag(history.timelines[1])
    assert lag is not None and lag.source == fx.NAMESPACE and lag.behind_since is not None
    assert history.copy_lag(history.timelines[0]) is None
    history.add_log_events(fx.certgen_events())  # certgen writes the release namespace's secret only
    assert len(history.certgen_of(history.timelines[0])) == 3 and not history.certgen_of(history.timelines[1])
