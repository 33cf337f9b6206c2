"""``meta.k8s.io/v1`` Table responses, which ``kubectl get`` asks for (``Accept: …;as=Table``).

The columns and cells are the API server's printers' (``pkg/printers/internalversion/printers.go``),
computed from the very JSON the façade serves for the object, so a table never disagrees with
``-o yaml``: pods (READY, STATUS, RESTARTS with ``(… ago)``, AGE; wide: IP, NODE, NOMINATED NODE,
READINESS GATES), deployments (READY, UP-TO-DATE, AVAILABLE), replicasets (DESIRED, CURRENT, READY),
cronjobs (SCHEDULE, TIMEZONE, SUSPEND, ACTIVE, LAST SCHEDULE), jobs (STATUS, COMPLETIONS, DURATION),
secrets (TYPE, DATA), services (TYPE, CLUSTER-IP, EXTERNAL-IP, PORT(S)), events (LAST SEEN, TYPE,
REASON, OBJECT, MESSAGE), namespaces. Ages are apimachinery's ``HumanDuration``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gloomon.domain.parse.wire import parse_timestamp
from gloomon.lab.cluster.util import now_utc

Json = dict[str, Any]

_AGE = ("Age", "string", "")
_WIDE = [("Containers", "string", "", 1), ("Images", "string", "", 1), ("Selector", "string", "", 1)]
_COLUMNS: dict[str, list[tuple[str, str, str, int]]] = {
    "Pod": [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Status", "string", "", 0),
        ("Restarts", "string", "", 0),
        (*_AGE, 0),
        ("IP", "string", "", 1),
        ("Node", "string", "", 1),
        ("Nominated Node", "string", "", 1),
        ("Readiness Gates", "string", "", 1),
    ],
    "Deployment": [
        ("Name", "string", "name", 0),
        ("Ready", "string", "", 0),
        ("Up-to-date", "string", "", 0),
        ("Available", "string", "", 0),
        (*_AGE, 0),
        *_WIDE,
    ],
    "ReplicaSet": [
        ("Name", "string", "name", 0),
        ("Desired", "integer", "", 0),
        ("Current", "integer", "", 0),
        ("Ready", "integer", "", 0),
        (*_AGE, 0),
        *_WIDE,
    ],
    "CronJob": [
        ("Name", "string", "name", 0),
        ("Schedule", "string", "", 0),
        ("Timezone", "string", "", 0),
        ("Suspend", "boolean", "", 0),
        ("Active", "integer", "", 0),
        ("Last Schedule", "string", "", 0),
        (*_AGE, 0),
        *_WIDE,
    ],
    "Job": [
        ("Name", "string", "name", 0),
        ("Status", "string", "", 0),
        ("Completions", "string", "", 0),
        ("Duration", "string", "", 0),
        (*_AGE, 0),
        *_WIDE,
    ],
    "Secret": [
        ("Name", "string", "name", 0),
        ("Type", "string", "", 0),
        ("Data", "string", "", 0),
        (*_AGE, 0),
    ],
    "Namespace": [("Name", "string", "name", 0), ("Status", "string", "", 0), (*_AGE, 0)],
    "Service": [
        ("Name", "string", "name", 0),
        ("Type", "string", "", 0),
        ("Cluster-IP", "string", "", 0),
        ("External-IP", "string", "", 0),
        ("Port(s)", "string", "", 0),
        (*_AGE, 0),
        ("Selector", "string", "", 1),
    ],
    "Event": [
        ("Last Seen", "string", "", 0),
        ("Type", "string", "", 0),
        ("Reason", "string", "", 0),
        ("Object", "string", "", 0),
        ("Subobject", "string", "", 1),
        ("Source", "string", "", 1),
        ("Message", "string", "", 0),
        ("First Seen", "string", "", 1),
        ("Count", "string", "", 1),
        ("Name", "string", "name", 1),
    ],
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``: ``45s``, ``3m20s``, ``25m``, ``5h3m``, ``3d4h``…"""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes, hours = s // 60, s // 3600
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _time(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None


def _since(value: str | None) -> str:
    when = _time(value)
    return "<unknown>" if when is None else human_duration((now_utc() - when).total_seconds())


def _age(obj: Json) -> str:
    return _since(obj["metadata"].get("creationTimestamp"))


def _selector(selector: Json | None) -> str:
    if not selector:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(selector.get("matchLabels", {}).items())) or "<none>"


def _template_cells(template: Json, selector: Json | None) -> list[Any]:
    containers = template.get("spec", {}).get("containers", [])
    names = ",".join(c["name"] for c in containers)
    images = ",".join(c.get("image", "") for c in containers)
    return [names, images, _selector(selector)]


def _pod_cells(pod: Json) -> list[Any]:
    status, spec = pod.get("status", {}), pod.get("spec", {})
    reason = status.get("reason") or status.get("phase", "")
    restarts = ready = 0
    last_restart: datetime | None = None
    has_running = False
    for container in reversed(status.get("containerStatuses", [])):
        restarts += container.get("restartCount", 0)
        finished = _time(container.get("lastState", {}).get("terminated", {}).get("finishedAt"))
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        state = container.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif "terminated" in state:
            term = state["terminated"]
            reason = term.get("reason") or f"ExitCode:{term.get('exitCode', 0)}"
        elif container.get("ready") and "running" in state:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        ready_condition = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
        )
        reason = "Running" if ready_condition else "NotReady"
    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((now_utc() - last_restart).total_seconds())} ago)"
    ips = status.get("podIPs") or [{}]
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(spec.get('containers', []))}",
        reason,
        restarts_cell,
        _age(pod),
        ips[0].get("ip") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        "<none>",
    ]


def _deployment_cells(dep: Json) -> list[Any]:
    spec, status = dep["spec"], dep.get("status", {})
    return [
        dep["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(dep),
        *_template_cells(spec.get("template", {}), spec.get("selector")),
    ]


def _replicaset_cells(rs: Json) -> list[Any]:
    spec, status = rs["spec"], rs.get("status", {})
    return [
        rs["metadata"]["name"],
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(rs),
        *_template_cells(spec.get("template", {}), spec.get("selector")),
    ]


def _cronjob_cells(cron: Json) -> list[Any]:
    spec, status = cron["spec"], cron.get("status", {})
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    job_spec = spec.get("jobTemplate", {}).get("spec", {})
    return [
        cron["metadata"]["name"],
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        "<unset>" if suspend is None else str(bool(suspend)),
        len(status.get("active", [])),
        _since(last) if last else "<none>",
        _age(cron),
        *_template_cells(job_spec.get("template", {}), job_spec.get("selector")),
    ]


def _job_cells(job: Json) -> list[Any]:
    spec, status = job["spec"], job.get("status", {})
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif spec.get("parallelism", 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = _time(status.get("startTime")), _time(status.get("completionTime"))
    duration = ""
    if start is not None:
        duration = human_duration(((end or now_utc()) - start).total_seconds())
    conditions = {c["type"] for c in status.get("conditions", []) if c.get("status") == "True"}
    state = "Running"
    for condition, label in (
        ("Complete", "Complete"),
        ("Failed", "Failed"),
        ("Suspended", "Suspended"),
        ("FailureTarget", "FailureTarget"),
    ):
        if condition in conditions:
            state = label
            break
    return [
        job["metadata"]["name"],
        state,
        completions,
        duration,
        _age(job),
        *_template_cells(spec.get("template", {}), spec.get("selector")),
    ]


def _service_cells(svc: Json) -> list[Any]:
    spec = svc["spec"]
    external = "<none>"
    if spec.get("type") == "LoadBalancer":
        ingress = svc.get("status", {}).get("loadBalancer", {}).get("ingress", [])
        external = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress) or "<pending>"
    elif spec.get("type") == "ExternalName":
        external = spec.get("externalName", "<none>")
    ports = ",".join(
        f"{p['port']}:{p['nodePort']}/{p['protocol']}"
        if p.get("nodePort")
        else f"{p['port']}/{p['protocol']}"
        for p in spec.get("ports", [])
    )
    selector = ",".join(f"{k}={v}" for k, v in sorted(spec.get("selector", {}).items())) or "<none>"
    return [
        svc["metadata"]["name"],
        spec.get("type", ""),
        (spec.get("clusterIPs") or ["<none>"])[0],
        external,
        ports or "<none>",
        _age(svc),
        selector,
    ]


def _event_cells(event: Json) -> list[Any]:
    involved, source = event["involvedObject"], event.get("source", {})
    return [
        _since(event.get("lastTimestamp")),
        event.get("type", ""),
        event.get("reason", ""),
        f"{involved['kind'].lower()}/{involved['name']}",
        involved.get("fieldPath", ""),
        ", ".join(v for v in (source.get("component"), source.get("host")) if v),
        event.get("message", "").strip(),
        _since(event.get("firstTimestamp")),
        event.get("count", 1),
        event["metadata"]["name"],
    ]


_CELLS = {
    "Event": _event_cells,
    "Service": _service_cells,
    "ReplicaSet": _replicaset_cells,
    "Pod": _pod_cells,
    "Deployment": _deployment_cells,
    "CronJob": _cronjob_cells,
    "Job": _job_cells,
    "Secret": lambda s: [s["metadata"]["name"], s.get("type", ""), len(s.get("data", {})), _age(s)],
    "Namespace": lambda n: [n["metadata"]["name"], n.get("status", {}).get("phase", ""), _age(n)],
}


def _row(kind: str, obj: Json) -> Json:
    meta = obj["metadata"]
    row: Json = {
        "cells": _CELLS[kind](obj),
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {k: v for k, v in meta.items() if k != "managedFields"},
        },
    }
    phase = obj.get("status", {}).get("phase") if kind == "Pod" else None
    if phase in ("Succeeded", "Failed"):
        message = "The pod has completed successfully." if phase == "Succeeded" else "The pod failed."
        row["conditions"] = [{"type": "Completed", "status": "True", "reason": phase, "message": message}]
    return row


def table(kind: str, objects: list[Json], rv: int | str) -> Json:
    """The Table for ``objects`` (the façade's JSON for them, all of ``kind``)."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(rv)},
        "columnDefinitions": [
            {"name": n, "type": t, "format": f, "description": "", "priority": p}
            for n, t, f, p in _COLUMNS[kind]
        ],
        "rows": [_row(kind, o) for o in objects],
    }
