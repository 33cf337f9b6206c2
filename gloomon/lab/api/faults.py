"""The façade's fault control and the answers its RBAC faults give.

``POST /lab/v1/faults/<name>`` (same token as the API) hands a JSON body to the lab's fault handler
(``Lab._fault``) and turns a missing or malformed field into a 400 that names it; ``GET /lab/v1/state``
shows what the lab is doing. The ``forbid-secrets`` and ``forbid-webhooks`` faults answer with the 403
a real apiserver gives a service account whose Role lacks the permission, word for word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gloomon.lab.api.responses import json_response, status_response
from gloomon.lab.cluster.store import ClusterStore

FaultHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


async def apply_fault(request: web.Request, faults: FaultHandler | None) -> web.Response:
    """``POST /lab/v1/faults/<name>``: the fault's result, or a 400 saying what the body lacks."""
    if faults is None:
        return status_response(404, "NotFound", "no fault control in this lab")
    fault = request.match_info["fault"]
    body: Any = {}
    if request.can_read_body:
        try:
            body = await request.json()
        except ValueError:
            body = None
    if not isinstance(body, dict):
        return status_response(
            400, "BadRequest", f'fault {fault}: the body must be a JSON object, e.g. {{"pod": "<name>"}}'
        )
    try:
        result = await faults(fault, body)
    except KeyError as exc:
        field = exc.args[0] if exc.args else ""
        if isinstance(field, str) and field.isidentifier() and field not in body:
            # the fault reads a field the body lacks: say which, not a bare "'pod'"
            message = f'fault {fault}: the JSON body needs "{field}", e.g. {{"{field}": "<value>"}}'
        else:
            message = f"fault {fault}: {field}"
        return status_response(400, "BadRequest", message)
    except (TypeError, ValueError) as exc:  # e.g. {"seconds": "soon"}
        return status_response(400, "BadRequest", f"fault {fault}: {exc}")
    return json_response({"ok": True, **result})


def lab_state(
    cluster: ClusterStore,
    namespace: str,
    *,
    outage: bool,
    forbid_secrets: bool,
    forbid_secrets_in: set[str],
    forbid_webhooks: bool,
) -> web.Response:
    """``GET /lab/v1/state``: the release ``namespace``, every namespace, the pods (each with its
    namespace) with their port maps, and which API faults are on."""
    pods = {
        p.name: {
            "namespace": p.namespace,
            "component": p.component.value if p.component else None,
            "ports": p.port_map,
        }
        for p in cluster.pods_of()
    }
    return json_response(
        {
            "namespace": namespace,
            "namespaces": sorted(cluster.namespaces),
            "pods": pods,
            "outage": outage,
            "forbidSecrets": forbid_secrets,
            "forbidSecretsIn": sorted(forbid_secrets_in),
            "forbidWebhooks": forbid_webhooks,
        }
    )


def secrets_forbidden(home: str, namespace: str | None, verb: str, name: str | None = None) -> web.Response:
    """The 403 for ``secrets`` in ``namespace`` (``None``: cluster-wide) to gloomon's service account in
    ``home`` (``forbid-secrets``)."""
    what = f'secrets "{name}" is forbidden' if name else "secrets is forbidden"
    where = f'in the namespace "{namespace}"' if namespace is not None else "at the cluster scope"
    return status_response(
        403,
        "Forbidden",
        f'{what}: User "system:serviceaccount:{home}:'
        f'gloomon" cannot {verb} resource "secrets" in API group "" {where}',
        name=name or "",
        kind="secrets",
    )


def webhooks_forbidden(namespace: str, verb: str, name: str = "") -> web.Response:
    """The 403 for the cluster-scoped ValidatingWebhookConfigurations (``forbid-webhooks``)."""
    resource = "validatingwebhookconfigurations"
    what = f'{resource}.admissionregistration.k8s.io "{name}"' if name else f"{resource}"
    return status_response(
        403,
        "Forbidden",
        f'{what} is forbidden: User "system:serviceaccount:{namespace}:gloomon" cannot '
        f'{verb} resource "{resource}" in API group "admissionregistration.k8s.io" at the cluster scope',
        name=name,
        group="admissionregistration.k8s.io",
        kind=resource,
    )
