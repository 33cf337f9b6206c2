"""The validation webhook on the dashboard: its own row group under the fleet table (served cert, secret,
each caBundle, certgen) in the words ``check`` prints, hidden without a webhook; and its certificate in
the expiry view."""

from __future__ import annotations

from rich.console import RenderableType

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import FleetSnapshot, WebhookConfig, WebhookEntry, WebhookState
from gloomon.report import render_table
from gloomon.ui.widgets.expiry_chart import soonest_rows
from gloomon.ui.widgets.webhook_panel import WebhookPanel, webhook_renderable
from tests.domain.certs import NOW, bundle, make_ca, make_leaf
from tests.domain.fleet_helpers import CTX, NS, fetch, secret
from tests.ui.harness import PALETTE, SIZE, make_app, until
from tests.ui.test_renderers_read_the_domain import text_of

CA, NEW_CA = make_ca(), make_ca()
LEAF, NEW_LEAF = make_leaf(CA), make_leaf(NEW_CA)


def stale_after_upgrade() -> WebhookState:
    """Secret and served certificate from the new CA; the caBundle still the old CA."""
    entry = WebhookEntry(f"gloo.{NS}.svc", bundle(CA), "Fail", "gloo", NS, "/validation", 443)
    return WebhookState(
        context=CTX,
        namespace=NS,
        read_at=NOW,
        secret_bundle=bundle(NEW_CA),
        secret_leaf=NEW_LEAF.info,
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", (entry,)),
        served=NEW_LEAF.info,
        served_pod="gloo-1",
    )


def snapshot(*webhooks: WebhookState) -> FleetSnapshot:
    return build_snapshot(
        taken_at=NOW,
        namespace=NS,
        contexts=[CTX],
        fetches=[fetch("gloo-1", LEAF.info, [CA.info])],
        secrets=[secret(LEAF.info, [CA.info])],
        cronjob=None,
        policy=HealthPolicy(),
        webhooks=webhooks,
    )


def lines(renderable: RenderableType) -> list[str]:
    return [line.strip() for line in text_of(renderable, 140).splitlines() if line.strip()]


def test_the_panel_and_check_say_the_same_rows() -> None:
    broken = snapshot(stale_after_upgrade())
    assert broken.webhook is not None
    panel = lines(webhook_renderable(broken.webhook, NOW, PALETTE, HealthPolicy()))
    assert panel[0].startswith("validation webhook")
    report = text_of(render_table(broken), 140)
    for wording in (
        "served: by gloo-1 on 8443, the secret's",
        "caBundle gloo: does not verify the served certificate; failurePolicy Fail",
    ):
        label, words = wording.split(": ", 1)
        assert any(label in line and words in line for line in panel), panel
        assert wording in report
    assert any(NEW_LEAF.info.short_serial in line for line in panel)


async def test_the_panel_shows_under_the_table_only_with_a_webhook() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.show_snapshot(snapshot(stale_after_upgrade()))
        panel = app.screen.query_one(WebhookPanel)
        await until(lambda: panel.display, pilot)
        assert "does not verify the served certificate" in text_of(panel.content, 140)
        app.show_snapshot(snapshot())
        await until(lambda: not panel.display, pilot)


def test_the_expiry_view_lists_the_webhook_certificate() -> None:
    soonest = soonest_rows(snapshot(stale_after_upgrade()))
    assert soonest is not None
    labels = {row.label: row.cert for row in soonest.rows}
    assert labels["webhook served"] == NEW_LEAF.info
    assert "webhook tls.crt" not in labels  # the same certificate as the served one


def test_each_webhook_row_is_one_line_at_80_columns() -> None:
    """At 80 columns a row's words are cut with an ellipsis, not wrapped to column 0 under the mark."""
    webhook = snapshot(stale_after_upgrade()).webhook
    assert webhook is not None
    rows = [
        line for line in text_of(webhook_renderable(webhook, NOW, PALETTE, HealthPolicy()), 80).splitlines()
    ]
    rows = [line for line in rows if line.strip()]
    assert len(rows) > 2
    assert all(line.startswith((" ✓", " ✗", " ?")) for line in rows[1:]), rows


def test_two_contexts_show_each_ones_webhook_and_secret() -> None:
    """Each cluster has its own validation webhook and secret: the panel draws both, each titled by
    its context, and the expiry view lists both secrets' and both webhooks' certificates by context."""
    from dataclasses import replace

    from gloomon.lab.snapshots.contexts import LEAF_WEST, two_clusters

    east = stale_after_upgrade()
    west_ca = make_ca()
    west_leaf = make_leaf(west_ca)
    entry = WebhookEntry(f"gloo.{NS}.svc", bundle(west_ca), "Fail", "gloo", NS, "/validation", 443)
    west = replace(
        east,
        context="west",
        served=west_leaf.info,
        secret_leaf=west_leaf.info,
        secret_bundle=bundle(west_ca),
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", (entry,)),
    )
    both = replace(two_clusters(), webhooks=(replace(east, context="east"), west))
    panel = WebhookPanel()
    panel.show(both, NOW, PALETTE, HealthPolicy())
    drawn = lines(panel.content)
    titles = [line for line in drawn if line.startswith("validation webhook")]
    assert titles[0] == "validation webhook  east"  # its caBundle is stale: every row shown
    assert any("does not verify the served certificate" in line for line in drawn)
    assert titles[1].startswith("validation webhook  west  ✓ ")  # a healthy one: one line
    assert west_leaf.info.short_serial in titles[1] and len(titles) == 2
    soonest = soonest_rows(both)
    assert soonest is not None
    labels = {row.label: row.cert for row in soonest.rows}
    assert labels["west secret tls.crt"] == LEAF_WEST and "east secret tls.crt" in labels
    assert labels["west webhook served"] == west_leaf.info and labels["east webhook served"] == NEW_LEAF.info
