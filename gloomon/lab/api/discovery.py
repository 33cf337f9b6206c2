"""API discovery as a real apiserver serves it: ``/version``, ``/api``, ``/apis`` and the resource lists.

The real ``kubernetes`` client and ``kubectl`` read these before their requests; the resources listed are
those the façade serves, with their verbs and short names (``kubectl get po``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from gloomon.lab.api.responses import json_response, static

_RESOURCES_V1 = [
    ("namespaces", "Namespace", False, ["get", "list"]),
    ("pods", "Pod", True, ["get", "list"]),
    ("pods/log", "Pod", True, ["get"]),
    ("pods/portforward", "PodPortForwardOptions", True, ["create", "get"]),
    ("events", "Event", True, ["get", "list"]),
    ("services", "Service", True, ["get", "list"]),
    ("secrets", "Secret", True, ["get", "list"]),
]
_RESOURCES = {
    "apps/v1": [
        ("deployments", "Deployment", True, ["get", "list"]),
        ("replicasets", "ReplicaSet", True, ["get", "list"]),
    ],
    "batch/v1": [("cronjobs", "CronJob", True, ["get", "list"]), ("jobs", "Job", True, ["get", "list"])],
    "authorization.k8s.io/v1": [("selfsubjectaccessreviews", "SelfSubjectAccessReview", False, ["create"])],
    "admissionregistration.k8s.io/v1": [
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, ["get", "list"])
    ],
}


#: the resources ``kubectl get all`` lists (the ``all`` category), of those the façade serves
_IN_ALL = frozenset({"pods", "services", "deployments", "replicasets", "cronjobs", "jobs"})
_SHORT_NAMES = {
    "services": ["svc"],
    "events": ["ev"],
    "namespaces": ["ns"],
    "pods": ["po"],
    "deployments": ["deploy"],
    "replicasets": ["rs"],
    "cronjobs": ["cj"],
}


def resource_list(group_version: str, resources: list[tuple[str, str, bool, list[str]]]) -> dict[str, Any]:
    out = []
    for name, kind, namespaced, verbs in resources:
        entry: dict[str, Any] = {
            "name": name,
            "singularName": "" if "/" in name else kind.lower(),
            "namespaced": namespaced,
            "kind": kind,
            "verbs": verbs,
        }
        if name in _SHORT_NAMES:
            entry["shortNames"] = _SHORT_NAMES[name]
        if name in _IN_ALL:
            entry["categories"] = ["all"]
        out.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4-gloomon-lab",
    "gitCommit": "0" * 40,
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _api_groups() -> dict[str, Any]:
    groups = []
    for gv in _RESOURCES:
        group, version = gv.split("/")
        v = {"groupVersion": gv, "version": version}
        groups.append({"name": group, "versions": [v], "preferredVersion": v})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def add_routes(router: web.UrlDispatcher, port: Callable[[], int]) -> None:
    """Discovery's routes on ``router``; ``port`` is the façade's current port (``/api`` names it)."""

    async def api(_: web.Request) -> web.Response:
        return json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{port()}"}
                ],
            }
        )

    router.add_get("/version", static(_VERSION))
    router.add_get("/api", api)
    router.add_get("/apis", static(_api_groups()))
    router.add_get("/api/v1", static(resource_list("v1", _RESOURCES_V1)))
    for gv, res in _RESOURCES.items():
        router.add_get(f"/apis/{gv}", static(resource_list(gv, res)))
