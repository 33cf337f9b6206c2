"""The lab's API server names each request as a real kube-apiserver authorizes it (RBAC's verb, group,
resource, subresource, namespace, name): the record the test of ``deploy/``'s Role reads. No lab."""

from __future__ import annotations

import pytest

from gloomon.lab.api.requests import CAPACITY, RequestLog, ResourceRequest, resource_requests

NS = "gloo-system"


@pytest.mark.parametrize(
    ("method", "path", "query", "upgrade", "expected"),
    [
        ("GET", f"/api/v1/namespaces/{NS}", {}, False, [("get", "", "namespaces", "", NS, NS)]),
        (
            "GET",
            f"/api/v1/namespaces/{NS}/pods",
            {"labelSelector": "gloo"},
            False,
            [("list", "", "pods", "", NS, "")],
        ),
        (
            "GET",
            f"/api/v1/namespaces/{NS}/pods",
            {"watch": "true"},
            False,
            [("watch", "", "pods", "", NS, "")],
        ),
        (
            "GET",
            f"/api/v1/namespaces/{NS}/pods/p/log",
            {"follow": "true"},
            False,
            [("get", "", "pods", "log", NS, "p")],
        ),
        (
            "GET",
            f"/api/v1/namespaces/{NS}/pods/p/portforward",
            {"ports": "8001"},
            True,
            [("get", "", "pods", "portforward", NS, "p"), ("create", "", "pods", "portforward", NS, "p")],
        ),
        (
            "POST",
            f"/api/v1/namespaces/{NS}/pods/p/portforward",
            {},
            False,
            [("create", "", "pods", "portforward", NS, "p")],
        ),
        ("GET", f"/api/v1/namespaces/{NS}/secrets/s", {}, False, [("get", "", "secrets", "", NS, "s")]),
        (
            "GET",
            f"/apis/batch/v1/namespaces/{NS}/cronjobs/c",
            {},
            False,
            [("get", "batch", "cronjobs", "", NS, "c")],
        ),
        (
            "GET",
            f"/apis/apps/v1/namespaces/{NS}/deployments",
            {},
            False,
            [("list", "apps", "deployments", "", NS, "")],
        ),
        ("GET", "/api/v1/pods", {}, False, [("list", "", "pods", "", "", "")]),
        ("DELETE", f"/api/v1/namespaces/{NS}/pods/p", {}, False, [("delete", "", "pods", "", NS, "p")]),
    ],
)
def test_resource_requests_carry_rbac_attributes(
    method: str, path: str, query: dict[str, str], upgrade: bool, expected: list[tuple[str, ...]]
) -> None:
    assert resource_requests(method, path, query, upgrade=upgrade) == tuple(
        ResourceRequest(*attributes) for attributes in expected
    )


@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/apis/batch/v1", "/api/v1"])
def test_discovery_and_version_are_non_resource_urls(path: str) -> None:
    assert resource_requests("GET", path, {}, upgrade=False) == (ResourceRequest("get", "", "", url=path),)


def test_the_log_keeps_distinct_requests_and_drops_the_oldest_beyond_its_capacity() -> None:
    log = RequestLog()
    for _ in range(3):
        log.record("GET", f"/api/v1/namespaces/{NS}/pods", {}, upgrade=False)
    assert log.seen() == {ResourceRequest("list", "", "pods", "", NS)}
    for index in range(CAPACITY):
        log.record("GET", f"/api/v1/namespaces/{NS}/pods/p{index}/log", {}, upgrade=False)
    assert len(log.seen()) == CAPACITY
    assert ResourceRequest("list", "", "pods", "", NS) not in log.seen()
