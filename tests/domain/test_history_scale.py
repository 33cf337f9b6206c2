"""The rotation history keeps the same few bytes per sample whatever the bundle size: a dashboard left
open on a bundle of thousands of CAs (a rotation that never finished) does not grow by the bundle."""

from __future__ import annotations

from gloomon.domain.compare.history import RotationHistory
from gloomon.lab import snapshots as fx
from gloomon.lab.snapshots.big_bundle import big_bundle


def _sample_content_sizes(snapshot: object) -> set[int]:
    history = RotationHistory()
    history.add_snapshot(snapshot)  # type: ignore[arg-type]
    ((sample,),) = (timeline.samples for timeline in history.timelines)
    contents = [sample.secret_content, *(target.content for target in sample.targets.values())]
    return {len(bundle) for _, bundle in contents}


def test_a_sample_of_thousands_of_cas_is_as_small_as_one_of_one_ca() -> None:
    assert _sample_content_sizes(big_bundle(2000)) == _sample_content_sizes(fx.steady())


def test_the_history_still_tells_bundles_apart() -> None:
    history = RotationHistory()
    for snapshot in (fx.steady(), fx.ca_added(), big_bundle(2000)):
        history.add_snapshot(snapshot)
    (timeline,) = history.timelines
    assert len({change.content for change in timeline.changes}) == len(timeline.changes) == 3
