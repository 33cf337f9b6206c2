"""The validation webhook in the rotation history (domain/compare/webhook_history.py): a renewal of its
secret, then gloo serving the new certificate, are two changes in that order with the pickup lag; a
caBundle that no longer verifies what gloo serves is a stale change; the record stays bounded."""

from __future__ import annotations

from datetime import timedelta

from gloomon.domain.compare.history import RotationHistory
from gloomon.domain.compare.webhook_history import MAX_CA_BUNDLES, WebhookCell, WebhookEvent
from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, WebhookConfig, WebhookEntry, WebhookState
from tests.domain.certs import NOW, Made, bundle, make_ca, make_leaf

NS = "gloo-system"
CA, NEW_CA = make_ca(), make_ca()
LEAF, RENEWED, NEW_CA_LEAF = make_leaf(CA), make_leaf(CA), make_leaf(NEW_CA)


def entry(ca: Made = CA, name: str = f"gloo.{NS}.svc") -> WebhookEntry:
    return WebhookEntry(name, bundle(ca), "Fail", "gloo", NS, "/validation", 443)


def at(seconds: int, secret: Made, served: Made, entries: tuple[WebhookEntry, ...] = ()) -> FleetSnapshot:
    taken = NOW + timedelta(seconds=seconds)
    webhook = WebhookState(
        context="c1",
        namespace=NS,
        read_at=taken,
        secret_bundle=bundle(CA if secret is not NEW_CA_LEAF else NEW_CA),
        secret_leaf=secret.info,
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", entries or (entry(),)),
        served=served.info,
        served_pod="gloo-1",
    )
    return build_snapshot(
        taken_at=taken,
        namespace=NS,
        contexts=("c1",),
        fetches=[],
        secrets=[],
        cronjob=None,
        policy=HealthPolicy(),
        webhooks=[webhook],
    )


def folded(*snapshots: FleetSnapshot) -> RotationHistory:
    history = RotationHistory()
    for snapshot in snapshots:
        history.add_snapshot(snapshot)
    return history


def test_a_renewal_then_the_pickup_are_two_changes_with_the_lag() -> None:
    history = folded(
        at(0, LEAF, LEAF), at(30, RENEWED, LEAF), at(60, RENEWED, LEAF), at(100, RENEWED, RENEWED)
    )
    changes = [
        (change.event, change.at, change.lag_seconds) for change in history.timelines[0].webhook.changes
    ]
    assert changes == [
        (WebhookEvent.SECRET_RENEWED, NOW + timedelta(seconds=30), None),
        (WebhookEvent.SERVED, NOW + timedelta(seconds=100), 70.0),
    ]
    cells = [sample.served_cell for sample in history.timelines[0].webhook.samples]
    assert cells == [WebhookCell.IN_SYNC, WebhookCell.STALE, WebhookCell.STALE, WebhookCell.IN_SYNC]
    assert history.timelines[0].webhook.pending is None


def test_a_renewal_gloo_does_not_serve_yet_is_pending() -> None:
    history = folded(at(0, LEAF, LEAF), at(30, RENEWED, LEAF))
    assert history.timelines[0].webhook.pending is not None
    assert history.timelines[0].webhook.pending.at == NOW + timedelta(seconds=30)


def test_a_new_ca_the_cabundle_lacks_makes_it_stale_then_updated() -> None:
    history = folded(
        at(0, LEAF, LEAF),
        at(30, NEW_CA_LEAF, NEW_CA_LEAF),
        at(60, NEW_CA_LEAF, NEW_CA_LEAF, (entry(NEW_CA),)),
    )
    events = [(change.event, change.ca_bundle) for change in history.timelines[0].webhook.changes]
    assert events == [
        (WebhookEvent.SECRET_RENEWED, None),
        (WebhookEvent.SERVED, None),
        (WebhookEvent.CA_BUNDLE_STALE, f"gloo.{NS}.svc"),
        (WebhookEvent.CA_BUNDLE_UPDATED, f"gloo.{NS}.svc"),
    ]
    cells = [sample.ca_bundles[0].cell for sample in history.timelines[0].webhook.samples]
    assert cells == [WebhookCell.IN_SYNC, WebhookCell.BROKEN, WebhookCell.IN_SYNC]


def test_without_a_webhook_nothing_is_recorded() -> None:
    plain = build_snapshot(
        taken_at=NOW,
        namespace=NS,
        contexts=("c1",),
        fetches=[],
        secrets=[],
        cronjob=None,
        policy=HealthPolicy(),
    )
    history = folded(plain)
    assert not history.timelines[0].webhook.observed and not history.timelines[0].webhook.changes


def test_the_record_is_bounded() -> None:
    many = tuple(entry(name=f"{index:04d}" + "x" * 300) for index in range(1000))
    history = RotationHistory(max_samples=5)
    for index in range(20):
        history.add_snapshot(at(index, LEAF if index % 2 else RENEWED, LEAF, many))
    assert len(history.timelines[0].webhook.samples) == 5
    assert all(len(sample.ca_bundles) == MAX_CA_BUNDLES for sample in history.timelines[0].webhook.samples)
    assert all(len(name) <= 64 for name in history.timelines[0].webhook.ca_bundle_names())
    assert history.timelines[0].webhook.samples[0].at == NOW + timedelta(seconds=15)


def test_a_renewal_across_a_poll_without_the_webhook_is_still_seen() -> None:
    gap = build_snapshot(
        taken_at=NOW + timedelta(seconds=30),
        namespace=NS,
        contexts=("c1",),
        fetches=[],
        secrets=[],
        cronjob=None,
        policy=HealthPolicy(),
    )
    history = folded(at(0, LEAF, LEAF), gap, at(60, RENEWED, LEAF), at(90, RENEWED, RENEWED))
    assert [sample.served_cell for sample in history.timelines[0].webhook.samples] == [
        WebhookCell.IN_SYNC,
        WebhookCell.UNKNOWN,
        WebhookCell.STALE,
        WebhookCell.IN_SYNC,
    ]
    assert [(change.event, change.lag_seconds) for change in history.timelines[0].webhook.changes] == [
        (WebhookEvent.SECRET_RENEWED, None),
        (WebhookEvent.SERVED, 30.0),
    ]
    assert history.timelines[0].webhook.ca_bundle_names() == [f"gloo.{NS}.svc"]
