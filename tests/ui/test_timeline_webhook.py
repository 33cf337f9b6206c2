"""The validation webhook on the rotation timeline (ui/widgets/timeline_webhook.py): its row group (served
cert, each caBundle) drawn in glyphs that differ without colour, and its changes in the words of issue 12
(renewed, served after the lag), fitting 80 and 160 columns."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.compare.webhook_history import WebhookCell
from gloomon.domain.model import FleetSnapshot, WebhookConfig, WebhookEntry, WebhookState
from gloomon.lab import snapshots as fx
from gloomon.ui.screens.overlays import TimelineScreen
from gloomon.ui.widgets.rotation_timeline import RotationTimeline
from gloomon.ui.widgets.timeline_glyphs import WEBHOOK_GLYPHS
from tests.domain.certs import Made, bundle, make_ca, make_leaf
from tests.ui.harness import make_app, until

NS = "gloo-system"
CA, OTHER_CA = make_ca(), make_ca()
LEAF, RENEWED = make_leaf(CA), make_leaf(CA)


def polled(seconds_ago: int, secret: Made, served: Made) -> FleetSnapshot:
    """A fleet poll ``seconds_ago`` before the fixtures' clock, with a webhook whose first caBundle is
    the secret's CA and whose second is another CA's (it never verifies what gloo serves)."""
    at = fx.NOW - timedelta(seconds=seconds_ago)
    entries = (
        WebhookEntry(f"gloo.{NS}.svc", bundle(CA), "Fail", "gloo", NS, "/validation", 443),
        WebhookEntry("other", bundle(OTHER_CA), "Fail", "gloo", NS, "/validation", 443),
    )
    webhook = WebhookState(
        context=fx.CONTEXT,
        namespace=NS,
        read_at=at,
        secret_bundle=bundle(CA),
        secret_leaf=secret.info,
        config=WebhookConfig(f"gloo-gateway-validation-webhook-{NS}", entries),
        served=served.info,
        served_pod="gloo-1",
    )
    return replace(fx.poll(at=at, written=fx.NOW - timedelta(seconds=90)), webhooks=(webhook,))


@pytest.mark.parametrize("width", [80, 160])
async def test_the_timeline_draws_the_webhook_and_its_changes(width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        for snapshot in (
            polled(90, LEAF, LEAF),
            polled(60, RENEWED, LEAF),
            polled(30, RENEWED, LEAF),
            polled(0, RENEWED, RENEWED),
        ):
            app.show_snapshot(snapshot)
        await pilot.press("t")
        await until(lambda: isinstance(app.screen, TimelineScreen) and app.screen.ready, pilot)
        timeline = app.screen.query_one(RotationTimeline)
        await until(lambda: timeline.lines is not None, pilot)
        lines = timeline.lines
        assert lines is not None
        every = [lines.line(y) for y in range(len(lines))]
        room = timeline.scrollable_content_region.width
    text = [row.plain for row in every]
    assert all(row.cell_len <= room for row in every), [row.plain for row in every if row.cell_len > room]
    group = next(index for index, row in enumerate(text) if row.startswith("validation webhook"))
    served, first, second = text[group + 1 : group + 4]
    assert served.startswith("  served cert")
    assert WEBHOOK_GLYPHS[WebhookCell.STALE] in served and WEBHOOK_GLYPHS[WebhookCell.IN_SYNC] in served
    assert "+1m" in served
    assert first.startswith("  caBundle gloo") and WEBHOOK_GLYPHS[WebhookCell.IN_SYNC] in first
    assert second.startswith("  caBundle other") and WEBHOOK_GLYPHS[WebhookCell.BROKEN] in second
    assert "broken" in second
    joined = "\n".join(text)
    renewed = joined.index("webhook secret renewed")
    picked = re.search(r"gloo serves the new webhook cert \(after (\S+)\)", joined)
    assert picked is not None and picked.group(1) == "1m"
    assert picked.start() < renewed  # newest first
    for cell in WebhookCell:
        assert f"{WEBHOOK_GLYPHS[cell]} webhook {cell.value}" in joined


def test_the_webhook_states_have_their_own_glyphs() -> None:
    """In sync, stale, broken and not read read apart under ``NO_COLOR``."""
    assert len(set(WEBHOOK_GLYPHS.values())) == len(WEBHOOK_GLYPHS)
