"""The exporter's HTTP endpoints, served by aiohttp on loopback, before and after the first snapshot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from gloomon.domain.export import snapshot_to_dict
from gloomon.exporter.server import Exporter
from gloomon.lab.snapshots import states


@pytest.fixture
async def served() -> AsyncIterator[tuple[Exporter, TestClient]]:
    exporter = Exporter()
    async with TestClient(TestServer(exporter.app(), host="127.0.0.1")) as client:
        yield exporter, client


async def test_readyz_is_503_until_the_first_snapshot_and_healthz_answers_throughout(
    served: tuple[Exporter, TestClient],
) -> None:
    exporter, client = served
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 503
    assert (await client.get("/snapshot.json")).status == 503
    exporter.update(states.steady())
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/healthz")).status == 200


async def test_snapshot_json_is_the_check_json_document(served: tuple[Exporter, TestClient]) -> None:
    exporter, client = served
    snapshot = states.lagging()
    exporter.update(snapshot)
    response = await client.get("/snapshot.json")
    assert response.content_type == "application/json"
    assert json.loads(await response.read()) == snapshot_to_dict(snapshot)


async def test_metrics_is_openmetrics_when_the_scrape_asks_for_it_else_text(
    served: tuple[Exporter, TestClient],
) -> None:
    exporter, client = served
    exporter.update(states.steady())
    text = await client.get("/metrics", headers={"Accept": "text/plain"})
    assert text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    body = (await text.read()).decode()
    assert "gloomon_target_up" in {family.name for family in text_string_to_metric_families(body)}
    prometheus_accept = (
        "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
        "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
    )
    open_metrics = await client.get("/metrics", headers={"Accept": prometheus_accept})
    assert open_metrics.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert (await open_metrics.read()).endswith(b"# EOF\n")


async def test_a_scrape_after_a_new_snapshot_serves_the_new_one(served: tuple[Exporter, TestClient]) -> None:
    exporter, client = served
    exporter.update(states.steady())
    before = (await (await client.get("/metrics")).read()).decode()
    exporter.update(states.lagging())
    after = (await (await client.get("/metrics")).read()).decode()
    lagging = f'gloomon_target_in_sync{{cluster="{states.CONTEXT}",component="gateway-proxy"'
    assert not any(line.startswith(lagging) and line.endswith(" 0.0") for line in before.splitlines())
    assert any(line.startswith(lagging) and line.endswith(" 0.0") for line in after.splitlines())
