"""Gloo's proxy variety in the lab (``Lab(variety=True)``), as a user sees it: the check's JSON and table
name every proxy after itself with the containers its pods really have, and logs are followed from the
container that runs each Envoy (real-clusters.md §4; issue 10 §5)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from rich.console import Console

from gloomon.domain.export import snapshot_json
from gloomon.lab import Lab
from gloomon.report import render_table
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def variety_lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", variety=True) as lab:
        yield lab


def _assert_variety(report: dict[str, Any], namespace: str) -> None:
    assert report["status"] == "ok", [(f["code"], f["message"]) for f in report["findings"]]
    rows = {
        (t["component"], t["proxy"]): (t["envoy_container"], t["containers"], t["xds"]["cluster"])
        for t in report["targets"]
        if t["proxy"] not in (None, "gateway-proxy")
    }
    classic = f"gloo.{namespace}.svc.cluster.local:9977"
    assert rows == {
        # the user's extraContainers entry first, the EE extauth sidecar last
        ("gateway-proxy", "public-gw"): (
            "public-gw",
            ["log-shipper", "public-gw", "sds", "extauth"],
            classic,
        ),
        ("extauth", "public-gw"): ("envoy-sidecar", ["extauth", "envoy-sidecar", "sds"], classic),
        ("rate-limit", "public-gw"): ("envoy-sidecar", ["rate-limit", "envoy-sidecar", "sds"], classic),
        ("kube-gateway", "http"): ("gloo-gateway", ["gloo-gateway", "sds"], "xds_cluster"),
    }
    for target in report["targets"]:  # every one of them a healthy client of gloo, in sync
        assert target["reachable"] and target["in_sync_with_secret"] is True, target
        assert target["xds"]["healthy"], target
    assert report["not_installed"] == []


async def test_check_names_every_proxy_with_its_real_containers_and_follows_their_envoys(
    variety_lab: Lab,
) -> None:
    """One session, as ``gloomon check`` runs it: its JSON (``snapshot_json``, the one encoding of
    ``check -o json``), its table, and the log lines it follows."""
    settings = Settings(
        kubeconfig=str(variety_lab.kubeconfig_path),
        contexts=(variety_lab.context,),
        namespace=variety_lab.namespace,
        extra_namespaces=(variety_lab.gateway_namespace,),  # the kube-gateway runs in its Gateway's
        interval=1.0,
        request_timeout=5.0,
    )
    seen: set[str] = set()  # containers of the public-gw and kube-gateway pods whose lines arrived
    async with MonitorSession(settings) as session:
        snapshot = await session.poll_once()
        _assert_variety(json.loads(snapshot_json(snapshot)), variety_lab.namespace)
        console = Console(width=100, record=True, no_color=True)
        console.print(render_table(snapshot))
        names = {line.split()[0] for line in console.export_text().splitlines() if line.strip()}
        assert {"public-gw", "extauth-public-gw", "rate-limit-public-gw", "kube-gateway/http"} <= names

        async def until_seen() -> None:
            async for batch in session.log_batches():
                seen.update(
                    event.container
                    for event in batch.events
                    if event.pod.startswith(("public-gw-", "gloo-proxy-http-"))
                )
                if {"public-gw", "gloo-gateway"} <= seen:
                    return

        await asyncio.wait_for(until_seen(), 30)
    assert "log-shipper" not in seen  # the user's container is not Gloo's: never followed
