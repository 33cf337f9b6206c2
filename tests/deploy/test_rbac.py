"""The Role in ``deploy/`` grants exactly what gloomon asks the Kubernetes API: every request a session's
start, its polls and its log followers make against the lab is allowed by a rule, and every permission a
rule grants was used. The lab's API server records each request in RBAC's terms (verb, group, resource,
subresource, namespace, name: :mod:`gloomon.lab.api.requests`), as a real API server authorizes it."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from gloomon.lab import Lab
from gloomon.lab.api.requests import ResourceRequest
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession

pytestmark = pytest.mark.lab


def _grants(rules: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """(group, resource, verb, name) for every permission the rules grant; name "" means any name."""
    return {
        (group, resource, verb, name)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
        for name in rule.get("resourceNames") or [""]
    }


def _grant_of(request: ResourceRequest, grants: set[tuple[str, str, str, str]]) -> tuple[str, ...] | None:
    for name in (request.name, ""):
        grant = (request.group, request.rbac_resource, request.verb, name)
        if grant in grants:
            return grant
    return None


def test_grant_matching_follows_rbac() -> None:
    grants = _grants(
        [
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        ]
    )
    assert _grant_of(ResourceRequest("get", "", "secrets", name="a"), grants) == ("", "secrets", "get", "a")
    assert _grant_of(ResourceRequest("get", "", "secrets", name="b"), grants) is None
    assert _grant_of(ResourceRequest("list", "", "secrets"), grants) is None
    assert _grant_of(ResourceRequest("get", "", "pods", "log", name="p"), grants) == (
        "",
        "pods/log",
        "get",
        "",
    )
    assert _grant_of(ResourceRequest("get", "", "pods", name="p"), grants) is None


#: asked only when something is stuck (a Pending pod, a certgen Job with no pod): a healthy session never
#: uses it; test_the_role_allows_the_events_a_stuck_pod_needs asks for it
WHEN_STUCK = {("", "events", "list", "")}


def _assert_granted_exactly(
    seen: frozenset[ResourceRequest], by_kind: dict[str, Any], namespace: str
) -> None:
    """Every request allowed, every permission used (those asked only when stuck excepted): the Role for
    the namespace's requests, a ClusterRole for cluster-scoped ones."""
    assert {r.url for r in seen if r.url} == set(), "non-resource requests need a ClusterRole"
    requests = {r for r in seen if not r.url}
    assert {r.namespace for r in requests} <= {namespace, ""}
    cluster_role = by_kind.get("ClusterRole", {"rules": []})
    for rules, scoped in ((by_kind["Role"]["rules"], namespace), (cluster_role["rules"], "")):
        grants = _grants(rules)
        asked = {r for r in requests if r.namespace == scoped}
        missing = sorted(r for r in asked if _grant_of(r, grants) is None)
        assert missing == [], f"requests the {'Role' if scoped else 'ClusterRole'} does not allow"
        used = {_grant_of(r, grants) for r in asked}
        assert sorted(grants - used - WHEN_STUCK) == [], "permissions granted and never used"


async def test_the_role_grants_exactly_what_a_session_asks(
    make_lab: Callable[..., Lab],
    by_kind: dict[str, Any],
    eventually: Callable[..., Any],
) -> None:
    async with make_lab("healthy", by_kind["Role"]["metadata"]["namespace"]) as lab:
        api = lab.api
        assert api is not None
        api.requests.clear()
        settings = Settings(
            kubeconfig=str(lab.kubeconfig_path),
            contexts=(lab.context,),
            namespace=lab.namespace,
            interval=1.0,
        )
        async with MonitorSession(settings) as session:
            first = await session.poll_once()
            assert not first.errors and first.targets
            await eventually(
                lambda: any(r.subresource == "log" for r in api.requests.seen()),
                what="the log followers' requests",
            )
            await session.poll_once()
        _assert_granted_exactly(api.requests.seen(), by_kind, lab.namespace)


async def _serving_url(process: asyncio.subprocess.Process) -> str:
    """The address ``gloomon serve`` says it listens on (its stderr line ``serving http://…/metrics``)."""
    assert process.stderr is not None
    while line := await process.stderr.readline():
        match = re.search(rb"serving (http://[\d.:]+)/metrics", line)
        if match:
            return match.group(1).decode()
    raise AssertionError(f"gloomon serve exited {await process.wait()} without listening")


async def test_the_role_grants_exactly_what_gloomon_serve_asks(
    make_lab: Callable[..., Lab],
    by_kind: dict[str, Any],
    eventually: Callable[..., Any],
) -> None:
    """The deployed command itself, in its own process: start, polls until ready, the log followers."""
    async with make_lab("healthy", by_kind["Role"]["metadata"]["namespace"]) as lab:
        api = lab.api
        assert api is not None
        api.requests.clear()
        command = [
            sys.executable, "-m", "gloomon", "serve", "--kubeconfig", str(lab.kubeconfig_path),
            "--context", lab.context, "-n", lab.namespace, "--interval", "1s", "--listen", "127.0.0.1:0",
        ]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            url = await asyncio.wait_for(_serving_url(process), 60)
            async with aiohttp.ClientSession() as http:

                async def ready() -> bool:
                    async with http.get(f"{url}/readyz") as response:
                        return response.status == 200

                await eventually(ready, timeout=60, what="gloomon serve's first poll")
                await eventually(
                    lambda: any(r.subresource == "log" for r in api.requests.seen()),
                    what="the log followers' requests",
                )
        finally:
            process.terminate()
            await asyncio.wait_for(process.communicate(), 30)
        _assert_granted_exactly(api.requests.seen(), by_kind, lab.namespace)


def test_the_role_allows_the_events_a_stuck_pod_needs(by_kind: dict[str, Any]) -> None:
    """The Warning events list gloomon asks for a pod stuck in ContainerCreating (lab-tested in
    tests/lab/test_failure_scenarios.py) is allowed in the namespace."""
    grants = _grants(by_kind["Role"]["rules"])
    assert grants >= WHEN_STUCK
    assert _grant_of(ResourceRequest("list", "", "events"), grants) == ("", "events", "list", "")
