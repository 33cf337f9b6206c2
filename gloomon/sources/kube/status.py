"""Pod and Job status as the API reports it: container states, the owning Job, Warning events.

Kept beside :mod:`gloomon.sources.kube.objects` (which builds :class:`PodInfo`/:class:`JobState` with
these): what a container's ``state``/``lastState`` say, and the events that explain a pod stuck in
ContainerCreating (``FailedMount``) or a Job that cannot create its pod (``FailedCreate``). Events are
read only while something is stuck, so a healthy poll makes no extra call.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gloomon.domain.model import ContainerState, JobState, KubeEvent, PodInfo
from gloomon.domain.text import one_line


def parse_time(value: Any) -> datetime | None:
    """RFC 3339 from the API (``2026-11-25T20:52:32Z``) → aware datetime; anything else → None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def list_items(obj: Any) -> list[Mapping[str, Any]]:
    """The object entries of a List's ``items`` (anything else in it, or no list, reads as none)."""
    return mappings(obj.get("items") if isinstance(obj, Mapping) else None)


def mappings(items: Any) -> list[Mapping[str, Any]]:
    """The object entries of a list field (``items``, ``ownerReferences``…); no list reads as none."""
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def str_or_none(value: Any) -> str | None:
    """A non-empty string made one inert line (remote text: reasons, messages), else None (remote JSON of
    the wrong type reads as absent)."""
    return one_line(value, 1024) or None if isinstance(value, str) and value else None


def int_or_none(value: Any) -> int | None:
    """An integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def container_state(obj: Mapping[str, Any]) -> ContainerState:
    """One ``containerStatuses`` entry: ready, restarts, the current state and how the last run ended."""
    raw_state = obj.get("state")
    state = raw_state if isinstance(raw_state, Mapping) else {}
    kind = next((k for k in ("waiting", "terminated", "running") if isinstance(state.get(k), Mapping)), None)
    detail: Mapping[str, Any] = state[kind] if kind is not None else {}
    raw_last = obj.get("lastState")
    last = raw_last.get("terminated") if isinstance(raw_last, Mapping) else None
    last = last if isinstance(last, Mapping) else {}
    return ContainerState(
        name=one_line(obj.get("name") or "", 253),
        ready=obj.get("ready") is True,
        restarts=int_or_none(obj.get("restartCount")) or 0,
        state=kind or "unknown",
        reason=str_or_none(detail.get("reason")),
        message=str_or_none(detail.get("message")),
        exit_code=int_or_none(detail.get("exitCode")),
        last_reason=str_or_none(last.get("reason")),
        last_exit_code=int_or_none(last.get("exitCode")),
        last_finished_at=parse_time(last.get("finishedAt")),
    )


def owning_job(meta: Mapping[str, Any]) -> str | None:
    """The Job a pod belongs to: its ``job-name`` label, else its Job ownerReference."""
    labels = meta.get("labels")
    if isinstance(labels, Mapping):
        for key in ("batch.kubernetes.io/job-name", "job-name"):
            if str_or_none(labels.get(key)):
                return str(labels[key])
    owners = meta.get("ownerReferences")
    for owner in owners if isinstance(owners, list) else ():
        if isinstance(owner, Mapping) and owner.get("kind") == "Job" and str_or_none(owner.get("name")):
            return str(owner["name"])
    return None


#: ``fieldSelector`` of the events gloomon reads (only while a pod or a Job is stuck)
WARNING_EVENTS_SELECTOR = "type=Warning"


def warning_events(list_obj: Any) -> dict[tuple[str, str], tuple[KubeEvent, ...]]:
    """An EventList (core/v1) → its Warning events by ``(involvedObject.kind, name)``, newest last."""
    found: dict[tuple[str, str], list[tuple[datetime, KubeEvent]]] = {}
    far_past = datetime.min.replace(tzinfo=UTC)
    for item in list_items(list_obj):
        if item.get("type") not in (None, "Warning"):
            continue
        involved = item.get("involvedObject")
        if not isinstance(involved, Mapping) or not str_or_none(involved.get("name")):
            continue
        seen = (
            parse_time(item.get("lastTimestamp"))
            or parse_time(item.get("eventTime"))
            or parse_time(_created(item))
        )
        event = KubeEvent(
            reason=one_line(item.get("reason") or "", 128),
            message=one_line(item.get("message") or "", 1024),
            count=int_or_none(item.get("count")) or 1,
            last_seen=seen,
        )
        key = (str(involved.get("kind") or ""), str(involved["name"]))
        found.setdefault(key, []).append((seen or far_past, event))
    return {key: tuple(e for _, e in sorted(pairs, key=lambda pair: pair[0])) for key, pairs in found.items()}


def stuck(pod: PodInfo) -> bool:
    """A pod whose containers never started (``Pending``, e.g. ContainerCreating on a failed mount)."""
    return pod.phase == "Pending" and not pod.deleting


def job_without_pod(job: JobState) -> bool:
    """A Job that has not finished and runs no pod (its pods cannot be created, e.g. FailedCreate)."""
    return not job.active and not job.finished


def _created(item: Mapping[str, Any]) -> Any:
    meta = item.get("metadata")
    return meta.get("creationTimestamp") if isinstance(meta, Mapping) else None
