"""``meta.k8s.io/v1`` Table responses, which ``kubectl get`` asks for (``Accept: …;as=Table``)."""

from __future__ import annotations

from typing import Any

from gloomon.lab.cluster.store import Pod
from gloomon.lab.cluster.util import now_utc, rfc3339


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def _age(pod: Pod) -> str:
    seconds = int((now_utc() - pod.created).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def _status(pod: Pod) -> str:
    for container in pod.containers:
        if container.waiting_reason:
            return container.waiting_reason
    if pod.phase == "Succeeded":
        return "Completed"
    if pod.phase == "Failed":
        return "Error"
    return pod.phase


def pod_table(pods: list[Pod], rv: int) -> dict[str, Any]:
    columns = [
        ("Name", "string", "name"),
        ("Ready", "string", ""),
        ("Status", "string", ""),
        ("Restarts", "string", ""),
        ("Age", "string", ""),
        ("IP", "string", ""),
        ("Node", "string", ""),
    ]
    rows = []
    for pod in pods:
        ready = sum(1 for c in pod.containers if c.ready)
        restarts = sum(c.restart_count for c in pod.containers)
        rows.append(
            {
                "cells": [
                    pod.name,
                    f"{ready}/{len(pod.containers)}",
                    _status(pod),
                    str(restarts),
                    _age(pod),
                    pod.pod_ip,
                    "gloomon-lab",
                ],
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": {
                        "name": pod.name,
                        "namespace": pod.namespace,
                        "uid": pod.uid,
                        "resourceVersion": str(pod.resource_version),
                        "creationTimestamp": rfc3339(pod.created),
                        "labels": dict(pod.labels),
                    },
                },
            }
        )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(rv)},
        "columnDefinitions": [
            {"name": n, "type": t, "format": f, "description": "", "priority": 0 if i < 5 else 1}
            for i, (n, t, f) in enumerate(columns)
        ],
        "rows": rows,
    }
