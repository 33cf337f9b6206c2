"""Kubernetes JSON objects (as the API sends them) → gloomon's models.

Kept apart from the IO in ``client.py`` so the rules (which pod is ready, which args mean what, what of
the secret is kept) read in one place. The secret's ``tls.key`` is removed from the decoded object here,
before anything else looks at it, and never reaches a model, a log or an error message.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gloomon.domain.model import (
    SECRET_NAME,
    CertInfo,
    Component,
    CronJobState,
    JobState,
    ParseError,
    PodInfo,
    SecretState,
    TrustBundle,
)
from gloomon.domain.parse import x509
from gloomon.domain.parse.copies import copy_mechanism, sync_rule
from gloomon.domain.parse.durations import parse_duration
from gloomon.domain.redact import KEY_DATA_FIELDS
from gloomon.sources.kube.proxies import GATEWAY_NAME_LABEL, classify, envoy_container_of
from gloomon.sources.kube.status import (
    container_state,
    int_or_none,
    list_items,
    mappings,
    owning_job,
    parse_time,
    str_or_none,
)

CRONJOB_NAME = "gloo-mtls-certgen-cronjob"
CERTGEN_JOB_NAME = "gloo-mtls-certgen"
#: pod label of certgen Job pods (reference/gloo-mtls.md §4.1)
CERTGEN_POD_LABEL = "gloo=gloo-mtls-certs"
_CERTGEN_JOB_LABELS = {"gloo-mtls-certgen", "gloo-mtls-certgen-cronjob", "gloo-mtls-certs"}


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _status(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    status = obj.get("status")
    return status if isinstance(status, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def pod_info(obj: Mapping[str, Any], component: Component | None, proxy: str | None = None) -> PodInfo:
    meta, status = _meta(obj), _status(obj)
    spec = _spec(obj)
    statuses = [s for s in status.get("containerStatuses") or () if isinstance(s, Mapping)]
    conditions = [c for c in status.get("conditions") or () if isinstance(c, Mapping)]
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    specs = [c for c in (spec.get("containers") or ()) if isinstance(c, Mapping)]
    containers = tuple(str(c.get("name")) for c in specs if c.get("name"))
    images = tuple(c["image"] for c in specs if isinstance(c.get("image"), str))
    order = {name: index for index, name in enumerate(containers)}
    states = sorted((container_state(s) for s in statuses), key=lambda c: order.get(c.name, len(order)))
    named = [c for c in specs if c.get("name")]
    named_images = tuple(str(c.get("image") or "") for c in named)
    return PodInfo(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        component=component,
        phase=str(status.get("phase") or "Unknown"),
        ready=ready,
        restarts=sum(int(s.get("restartCount") or 0) for s in statuses),
        started_at=parse_time(status.get("startTime")),
        containers=containers,
        deleting=bool(meta.get("deletionTimestamp")),
        images=images,
        container_states=tuple(states),
        job=owning_job(meta),
        proxy=proxy,
        envoy_container=envoy_container_of(component, proxy, containers, named_images)
        if component is not None
        else None,
    )


def _container_names(obj: Mapping[str, Any]) -> tuple[str, ...]:
    specs = _spec(obj).get("containers") or ()
    return tuple(str(c["name"]) for c in specs if isinstance(c, Mapping) and c.get("name"))


def pods_of(list_obj: Any, component: Component | None) -> list[PodInfo]:
    """The pods of ``component`` in a pod list (each named after its proxy), by name."""
    by_component, _ = split_pods(list_obj)
    if component is None:
        return sorted((pod_info(item, None) for item in list_items(list_obj)), key=lambda p: p.name)
    return by_component[component]


#: the two pod selectors of one namespace, listed each poll: every ``gloo``-labelled pod (the classic
#: components, dataplanePerProxy ``extauth-<proxy>`` values, certgen Job pods), and Gateway API proxies
POD_SELECTORS = ("gloo", GATEWAY_NAME_LABEL)


def split_pods(list_obj: Any) -> tuple[dict[Component, list[PodInfo]], list[PodInfo]]:
    """A pod list (or several merged, see :data:`POD_SELECTORS`) → (pods of every component, certgen
    pods), each by namespace and name; a pod listed twice counts once."""
    by_component: dict[Component, list[PodInfo]] = {component: [] for component in Component}
    certgen: list[PodInfo] = []
    certgen_value = CERTGEN_POD_LABEL.partition("=")[2]
    seen: set[tuple[str, str]] = set()
    for item in list_items(list_obj):
        meta = _meta(item)
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        if key in seen:
            continue
        seen.add(key)
        labels = meta.get("labels")
        labels = labels if isinstance(labels, Mapping) else {}
        found = classify(labels, _container_names(item))
        if found is not None:
            component, proxy = found
            by_component[component].append(pod_info(item, component, proxy))
        elif str(labels.get("gloo", "")) == certgen_value:
            certgen.append(pod_info(item, None))
    for pods in by_component.values():
        pods.sort(key=lambda p: (p.namespace, p.name))
    return by_component, sorted(certgen, key=lambda p: (p.namespace, p.name))


def merge_lists(lists: Sequence[Any]) -> dict[str, Any]:
    """Several API lists (selectors, namespaces) as one ``{"kind": "List", "items": [...]}``."""
    return {"kind": "List", "apiVersion": "v1", "items": [item for obj in lists for item in list_items(obj)]}


def secret_updated_at(obj: Mapping[str, Any]) -> datetime | None:
    """When the secret last changed: the latest ``metadata.managedFields[].time``, else its
    ``creationTimestamp`` (a secret nobody wrote to since it was created); None when neither parses."""
    meta = _meta(obj)
    fields = meta.get("managedFields")
    times = [
        when
        for entry in (fields if isinstance(fields, list) else ())
        if isinstance(entry, Mapping) and (when := _aware(parse_time(entry.get("time")))) is not None
    ]
    return max(times) if times else _aware(parse_time(meta.get("creationTimestamp")))


def _aware(value: datetime | None) -> datetime | None:
    """A time without an offset is taken as UTC (the API always sends ``Z``; this keeps max() safe)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def deployment_components(list_obj: Any) -> dict[Component, int]:
    """Component → ready replicas, for every Deployment of one (see :func:`classify`): classic proxies
    of any name, dataplanePerProxy extauth / rate-limit, ``gloo: kube-gateway``."""
    ready: dict[Component, int] = {}
    for item in list_items(list_obj):
        labels = _meta(item).get("labels") or {}
        found = classify(labels, ()) if isinstance(labels, Mapping) else None
        if found is not None:
            component = found[0]
            ready[component] = ready.get(component, 0) + int(_status(item).get("readyReplicas") or 0)
    return ready


def drop_private_key(obj: dict[str, Any]) -> bool:
    """Delete every private-key entry from a decoded Secret's ``data``, unread; whether it had a
    ``tls.key`` (only the key's presence is looked at: Gloo's sds exits when it is missing)."""
    data = obj.get("data")
    if not isinstance(data, dict):
        return False
    present = "tls.key" in data
    for key in KEY_DATA_FIELDS:  # every key a secret can carry its private key under
        data.pop(key, None)
    return present


def secret_state(
    obj: dict[str, Any], *, context: str, namespace: str, read_at: datetime, key_present: bool = True
) -> SecretState:
    """Decode ``ca.crt`` and ``tls.crt``; the private key is deleted from ``obj`` first, unread.
    ``key_present``: whether the object had a ``tls.key`` before an earlier :func:`drop_private_key`."""
    key_present = drop_private_key(obj) or key_present
    data = obj.get("data")
    data = data if isinstance(data, Mapping) else {}
    meta = _meta(obj)
    errors: list[str] = []
    bundle_certs = _decode_certs(data.get("ca.crt"), "ca.crt", errors)
    leaf_certs = _decode_certs(data.get("tls.crt"), "tls.crt", errors)
    if not key_present:
        errors.append("tls.key missing (every pod's sds exits: could not find file)")
    absent = tuple(key for key in ("ca.crt", "tls.crt") if data.get(key) is None)
    bundle = TrustBundle(cas=bundle_certs, complete=True) if bundle_certs else None
    leaf: CertInfo | None = leaf_certs[0] if leaf_certs else None
    return SecretState(
        context=context,
        namespace=namespace,
        name=str(meta.get("name") or SECRET_NAME),
        bundle=bundle,
        leaf=leaf,
        resource_version=str(meta["resourceVersion"]) if meta.get("resourceVersion") else None,
        read_at=read_at,
        error="; ".join(errors) or None,
        absent_keys=absent + (() if key_present else ("tls.key",)),
        updated_at=secret_updated_at(obj),
        copied_by=_copied_by(meta, namespace),
        syncs_by=_syncs_by(meta),
    )


def _syncs_by(meta: Mapping[str, Any]) -> str | None:
    """How copies of the secret are made, from its own annotations (kubed's sync rule…), if any."""
    annotations = meta.get("annotations")
    return sync_rule(annotations if isinstance(annotations, Mapping) else {})


def _copied_by(meta: Mapping[str, Any], namespace: str) -> str | None:
    """How the secret is made when it is a copy: its copier's marks, owners and field managers, if any."""
    annotations = meta.get("annotations")
    labels = meta.get("labels")
    return copy_mechanism(
        annotations if isinstance(annotations, Mapping) else {},
        labels if isinstance(labels, Mapping) else {},
        [(str(o.get("kind")), str(o.get("name"))) for o in mappings(meta.get("ownerReferences"))],
        [str(m.get("manager")) for m in mappings(meta.get("managedFields"))],
        namespace,
    )


def _decode_certs(value: Any, key: str, errors: list[str]) -> tuple[CertInfo, ...]:
    if value is None:  # the file is absent from every pod's volume: Gloo's sds stats it, then exits
        errors.append(f"{key} missing (every pod's sds exits: could not find file)")
        return ()
    if not value:
        errors.append(f"{key} is empty")
        return ()
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        errors.append(f"unreadable {key}: not base64")
        return ()
    parsed = x509.parse_pem_bundle(raw, source=key)
    if isinstance(parsed, ParseError):
        errors.append(f"unreadable {key}: {parsed.message}")
        return ()
    if not parsed:
        errors.append(f"{key} holds no certificate")
    return parsed


def _container_args(obj: Mapping[str, Any]) -> list[str]:
    """Args (and command) of every container in a CronJob's or Job's pod template."""
    spec: Any = obj.get("spec") or {}
    if isinstance(spec, Mapping) and "jobTemplate" in spec:
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    template = (spec.get("template") or {}) if isinstance(spec, Mapping) else {}
    pod_spec = (template.get("spec") or {}) if isinstance(template, Mapping) else {}
    containers = pod_spec.get("containers") or [] if isinstance(pod_spec, Mapping) else []
    args: list[str] = []
    for container in containers:
        if isinstance(container, Mapping):
            args += [str(a) for a in (container.get("command") or [])]
            args += [str(a) for a in (container.get("args") or [])]
    return args


def certgen_flags(args: list[str]) -> tuple[float | None, bool]:
    """(``--rotation-duration`` in seconds, ``--force-rotation``) as certgen reads them (default false)."""
    rotation: float | None = None
    force = False
    for index, arg in enumerate(args):
        name, eq, value = arg.partition("=")
        if not eq and index + 1 < len(args) and not args[index + 1].startswith("-"):
            value = args[index + 1]
        name = "--" + name.lstrip("-")
        if name == "--rotation-duration" and value:
            parsed = parse_duration(value)
            rotation = None if isinstance(parsed, ParseError) else parsed
        elif name == "--force-rotation":
            force = (value or "true").strip().lower() in ("true", "1", "t", "yes")
    return rotation, force


def is_certgen_job(obj: Mapping[str, Any]) -> bool:
    meta = _meta(obj)
    labels = meta.get("labels") or {}
    if isinstance(labels, Mapping) and str(labels.get("gloo", "")) in _CERTGEN_JOB_LABELS:
        return True
    owners = meta.get("ownerReferences") or []
    if any(isinstance(o, Mapping) and o.get("name") == CRONJOB_NAME for o in owners):
        return True
    return str(meta.get("name", "")).startswith(CERTGEN_JOB_NAME)


def job_state(obj: Mapping[str, Any]) -> JobState:
    """A Job's status; fields of the wrong type (remote JSON) read as absent."""
    status = _status(obj)
    raw = status.get("conditions")
    conditions = [c for c in raw if isinstance(c, Mapping)] if isinstance(raw, list) else []
    complete = any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)
    failure = next((c for c in conditions if c.get("type") == "Failed" and c.get("status") == "True"), None)
    meta, spec = _meta(obj), _spec(obj)
    owners = meta.get("ownerReferences")
    cronjob = next(
        (
            str(o["name"])
            for o in (owners if isinstance(owners, list) else ())
            if isinstance(o, Mapping) and o.get("kind") == "CronJob" and str_or_none(o.get("name"))
        ),
        None,
    )
    deadline = int_or_none(spec.get("activeDeadlineSeconds"))
    return JobState(
        name=str(meta.get("name", "")),
        started_at=parse_time(status.get("startTime")),
        completed_at=parse_time(status.get("completionTime")),
        active=_count(status.get("active")) > 0,
        succeeded=complete or _count(status.get("succeeded")) > 0,
        failed=failure is not None,
        failure_reason=str_or_none(failure.get("reason")) if failure is not None else None,
        failure_message=str_or_none(failure.get("message")) if failure is not None else None,
        failed_at=parse_time(failure.get("lastTransitionTime")) if failure is not None else None,
        failed_pods=_count(status.get("failed")),
        created_at=parse_time(meta.get("creationTimestamp")),
        active_deadline_seconds=float(deadline) if deadline is not None else None,
        backoff_limit=int_or_none(spec.get("backoffLimit")),
        owner_cronjob=cronjob,
    )


def _count(value: Any) -> int:
    """A Job status counter (``active``, ``succeeded``): an integer, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def certgen_jobs(list_obj: Any) -> tuple[JobState, ...]:
    jobs = [job_state(item) for item in list_items(list_obj) if is_certgen_job(item)]
    far_past = datetime.min.replace(tzinfo=UTC)
    return tuple(sorted(jobs, key=lambda j: (j.started_at or far_past, j.name)))


def cronjob_state(
    obj: Mapping[str, Any] | None, jobs: tuple[JobState, ...], *, fallback_args: list[str]
) -> CronJobState:
    """The CronJob, or (``obj`` None) a ``missing`` state that still lists the Helm-hook Jobs."""
    if obj is None:
        rotation, force = certgen_flags(fallback_args)
        return CronJobState(
            name=CRONJOB_NAME,
            schedule="",
            suspended=False,
            rotation_duration_seconds=rotation,
            force_rotation=force,
            jobs=jobs,
            missing=True,
        )
    spec = _spec(obj)
    status = _status(obj)
    rotation, force = certgen_flags(_container_args(obj))
    return CronJobState(
        name=str(_meta(obj).get("name") or CRONJOB_NAME),
        schedule=str(spec.get("schedule") or ""),
        suspended=bool(spec.get("suspend")),
        last_schedule_time=parse_time(status.get("lastScheduleTime")),
        last_successful_time=parse_time(status.get("lastSuccessfulTime")),
        rotation_duration_seconds=rotation,
        force_rotation=force,
        jobs=jobs,
        created_at=parse_time(_meta(obj).get("creationTimestamp")),
    )


def job_args(list_obj: Any) -> list[str]:
    """Certgen args from the newest certgen Job (used when there is no CronJob to read them from)."""
    candidates = [item for item in list_items(list_obj) if is_certgen_job(item)]
    return _container_args(candidates[-1]) if candidates else []
