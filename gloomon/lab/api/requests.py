"""What the lab's API server was asked, in the words RBAC authorizes: verb, group, resource, subresource,
namespace, name — the attributes a real kube-apiserver derives from a request (its ``RequestInfo``).

Tests compare this record with the Role in ``deploy/``: every permission gloomon needs is granted and every
granted one is used. The mapping follows the API server's: ``GET`` on a collection is ``list`` (``watch``
with ``?watch=true``), on a named object ``get``; ``POST`` is ``create``. A websocket ``GET`` to
``pods/portforward`` (or ``exec``/``attach``) is authorized as ``get`` and, since Kubernetes 1.35
(``AuthorizePodWebsocketUpgradeCreatePermission``, kubernetes/kubernetes#134577), also as ``create``.
A Namespace object is in its own namespace (``GET /api/v1/namespaces/<ns>``), as the API server has it.
Paths outside ``/api`` and ``/apis/<group>/<version>`` are non-resource URLs (``/version``, discovery).

The record keeps distinct requests (a poll repeats the same few dozen); new pods add their log and
port-forward requests, so it is capped at :data:`CAPACITY` entries, the oldest dropped, for a lab that runs
for days.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the most distinct requests kept
CAPACITY = 4096
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
#: subresources whose websocket GET also needs ``create`` (the API server's synthetic check)
_STREAMING = frozenset({"portforward", "exec", "attach"})
#: subresources of a Namespace object itself (``/api/v1/namespaces/<ns>/status``)
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True, order=True)
class ResourceRequest:
    """One RBAC-relevant request; ``group`` is ``""`` for the core API, ``name`` ``""`` for collections;
    a non-resource request has only ``verb`` and ``url``."""

    verb: str
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    url: str = ""

    @property
    def rbac_resource(self) -> str:
        """The resource as a Role names it: ``pods/log`` for a subresource."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def resource_requests(
    method: str, path: str, query: dict[str, str], *, upgrade: bool
) -> tuple[ResourceRequest, ...]:
    """The RBAC attributes of one request (several when the API server checks several verbs)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        group, rest = "", parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        rest = []
    if not rest:  # /version, /api, /apis/<group>/<version> (discovery): non-resource URLs
        return (ResourceRequest(_VERBS.get(method, method.lower()), "", "", url=path),)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 2:
        # as the API server's RequestInfo: GET /api/v1/namespaces/<ns> is in namespace <ns> (a Role there
        # can grant it); a path going on past <ns> names a namespaced resource
        namespace = rest[1]
        if len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource, name, subresource = rest[0], rest[1] if len(rest) > 1 else "", rest[2] if len(rest) > 2 else ""
    if method == "GET":
        if not name:
            verbs = ["watch" if query.get("watch") in ("true", "1") else "list"]
        else:
            verbs = ["get"]
            if upgrade and subresource in _STREAMING:
                verbs.append("create")
    elif method == "DELETE":
        verbs = ["delete" if name else "deletecollection"]
    else:
        verbs = [_VERBS.get(method, method.lower())]
    return tuple(ResourceRequest(v, group, resource, subresource, namespace, name) for v in verbs)


class RequestLog:
    """The distinct resource requests an API server received (see the module docstring)."""

    def __init__(self) -> None:
        self._seen: dict[ResourceRequest, None] = {}  # insertion-ordered: the oldest goes first

    def record(self, method: str, path: str, query: dict[str, str], *, upgrade: bool) -> None:
        for request in resource_requests(method, path, query, upgrade=upgrade):
            self._seen.pop(request, None)
            self._seen[request] = None
        while len(self._seen) > CAPACITY:
            del self._seen[next(iter(self._seen))]

    def clear(self) -> None:
        self._seen.clear()

    def seen(self) -> frozenset[ResourceRequest]:
        return frozenset(self._seen)
