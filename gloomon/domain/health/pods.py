"""Findings from the pod list's container status (issue 10 §4; real-clusters.md §6): an ``sds``,
``envoy-sidecar`` or main container not Ready or in CrashLoopBackOff, restarts in the last minutes, and a
pod stuck in ContainerCreating, with the ``FailedMount`` event that says why (a missing secret). Each
names the reason the API gives and the ``kubectl`` that shows more. Certgen's pods are judged with their
Job (:mod:`gloomon.domain.health.certgen`).
"""

from __future__ import annotations

from collections.abc import Sequence

from gloomon.domain.health.policy import Context
from gloomon.domain.model import Component, ContainerState, Finding, PodInfo, Severity, Subjects
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import one_line
from gloomon.domain.words import counted

#: a restart this recent is news (``container-restarted``); older ones are history
RECENT_RESTART_SECONDS = 600.0
#: the kubelet's longest wait before it restarts a crashed container (10 s doubling, capped at 5 min)
MAX_BACKOFF_SECONDS = 300.0
#: waiting reasons that are errors at once, not a container on its way up
_ERROR_WAITS = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "CreateContainerError",
        "InvalidImageName",
        "RunContainerError",
    }
)
_MOUNT_EVENTS = ("FailedMount", "FailedAttachVolume")


def pod_findings(pods: Sequence[PodInfo], ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    for pod in pods:
        if pod.component is None or pod.deleting:
            continue
        if pod.phase == "Pending":
            item = _pending(pod, ctx)
            if item is not None:
                out.append(item)
            continue
        for container in pod.container_states:
            item = _container(pod, container, ctx)
            if item is not None:
                out.append(item)
    everywhere = _sds_crashing_everywhere(pods, ctx)
    if everywhere is not None:
        out.append(everywhere)
    return out


def _sds_crashing_everywhere(pods: Sequence[PodInfo], ctx: Context) -> Finding | None:
    """Every pod's ``sds`` crash-loops: one cause for all, the secret itself (real-clusters.md §2: a key
    missing makes every sds exit ``could not find file``), not N pod problems."""
    with_sds = [
        p
        for p in pods
        if p.component is not None and not p.deleting and any(c.name == "sds" for c in p.container_states)
    ]
    crashing = [
        p for p in with_sds if any(c.name == "sds" and crash_looping(c, ctx) for c in p.container_states)
    ]
    if len(crashing) < 2 or len(crashing) != len(with_sds):
        return None
    ns = ctx.namespace
    return Finding(
        Severity.CRITICAL,
        "sds-crashloop-everywhere",
        None,
        None,
        f"the sds container of every pod ({len(crashing)}) is crash-looping: one cause for all, most "
        f'often a key missing from gloo-mtls-certs (sds exits "could not find file '
        f"'/etc/envoy/ssl/<key>'\"); no pod gets new certificates",
        f"kubectl -n {ns} describe secret gloo-mtls-certs (key names and sizes only: it needs ca.crt, "
        f"tls.crt and tls.key); kubectl -n {ns} logs {crashing[0].name} -c sds --previous; "
        f"then {ctx.rerun_hint()}",
        Subjects(pods=tuple(p.name for p in crashing)),
    )


def crash_looping(container: ContainerState, ctx: Context) -> bool:
    """In ``CrashLoopBackOff``, or running between two crashes: restarted more than once, the last run
    failed, and that within the kubelet's longest back-off (:data:`MAX_BACKOFF_SECONDS`). A container
    that fails after a few seconds each time (sds's ~13 s of file checks) spends part of every cycle
    Running: a poll that lands then must not see a healthy container."""
    if container.state == "waiting" and container.reason == "CrashLoopBackOff":
        return True
    if container.restarts < 2 or not container.last_exit_code or container.last_finished_at is None:
        return False
    return (ctx.now - container.last_finished_at).total_seconds() <= MAX_BACKOFF_SECONDS


def no_ready_pod_words(component: Component, pods: Sequence[PodInfo]) -> str:
    """Why a component has no ready pod, as its pods say (for ``component-missing``): "" when none listed."""
    mine = [p for p in pods if p.component is component and not p.deleting]
    if not mine:
        return " (no pod listed)"
    reasons: list[str] = []
    for pod in mine[:3]:
        why = _why_not_ready(pod)
        reasons.append(f"{pod.name}: {why}" if why else pod.name)
    return " (" + "; ".join(reasons) + ("; …" if len(mine) > 3 else "") + ")"


def _why_not_ready(pod: PodInfo) -> str:
    waiting = [c for c in pod.container_states if c.reason and c.state == "waiting"]
    if pod.phase == "Pending" and pod.events:
        return f"{pod.events[-1].reason}"
    if waiting:
        return ", ".join(f"{c.name} {c.reason}" for c in waiting[:2])
    unready = [c.name for c in pod.container_states if not c.ready]
    if unready:
        return f"{', '.join(unready[:3])} not Ready"
    return pod.phase if pod.phase != "Running" else ""


def _age(pod: PodInfo, ctx: Context) -> float | None:
    return (ctx.now - pod.started_at).total_seconds() if pod.started_at is not None else None


def _pending(pod: PodInfo, ctx: Context) -> Finding | None:
    """A pod whose containers have not started: a failed mount (``pod-mount-failed``), or any other wait
    longer than the settle window (``pod-pending``)."""
    ns = ctx.namespace
    describe = f"kubectl -n {ns} describe pod {pod.name}"
    mounts = [e for e in pod.events if e.reason in _MOUNT_EVENTS]
    age = _age(pod, ctx)
    waits = sorted({c.reason for c in pod.container_states if c.state == "waiting" and c.reason})
    state = "/".join(waits) or "Pending"
    for_how_long = f" for {human_duration(age)}" if age is not None else ""
    if mounts:
        event = mounts[-1]
        times = f" (×{event.count})" if event.count > 1 else ""
        return Finding(
            Severity.CRITICAL,
            "pod-mount-failed",
            pod.component,
            pod.name,
            f"{state}{for_how_long}: {event.reason}{times}: {one_line(event.message, 220)}",
            f"{describe}; a missing gloo-mtls-certs is made by certgen: {ctx.rerun_hint()}",
        )
    errors = [w for w in waits if w in _ERROR_WAITS]
    if not errors and (age is None or age < ctx.policy.settle_seconds):
        return None
    return Finding(
        Severity.WARNING,
        "pod-pending",
        pod.component,
        pod.name,
        f"{state}{for_how_long}: its containers have not started"
        + (f" ({one_line(pod.events[-1].message, 160)})" if pod.events else ""),
        f"{describe} (its events say why)",
    )


def _exit_words(container: ContainerState) -> str:
    if container.last_exit_code is None and container.last_reason is None:
        return ""
    code = f"exit {container.last_exit_code}" if container.last_exit_code is not None else "exited"
    return f"; last {code} ({container.last_reason or 'Error'})"


def _rotations(container: ContainerState) -> str:
    return " (this pod misses secret rotations while it is down)" if container.name == "sds" else ""


def _waiting(code: str, pod: PodInfo, container: ContainerState, hint: str) -> Finding:
    detail = f": {one_line(container.message, 160)}" if container.message else ""
    return Finding(
        Severity.WARNING,
        code,
        pod.component,
        pod.name,
        f"container {container.name} is {container.reason} after "
        f"{counted(container.restarts, 'restart')}{_exit_words(container)}{detail}{_rotations(container)}",
        hint,
    )


def _container(pod: PodInfo, container: ContainerState, ctx: Context) -> Finding | None:
    ns = ctx.namespace
    logs = f"kubectl -n {ns} logs {pod.name} -c {container.name} --previous"
    describe = f"kubectl -n {ns} describe pod {pod.name}"
    miss = _rotations(container)
    if container.state == "waiting" and container.reason == "CrashLoopBackOff":
        return _waiting("container-crashloop", pod, container, f"{logs}; {describe}")
    if container.state == "waiting" and container.reason in _ERROR_WAITS:
        return _waiting("container-waiting", pod, container, f"{describe}; {logs}")
    recent = container.last_finished_at is not None and (
        (ctx.now - container.last_finished_at).total_seconds() < RECENT_RESTART_SECONDS
    )
    if container.restarts > 0 and recent and container.last_finished_at is not None:
        ago = human_duration(max(0.0, (ctx.now - container.last_finished_at).total_seconds()))
        ready = "" if container.ready else ", not Ready yet"
        return Finding(
            Severity.WARNING,
            "container-restarted",
            pod.component,
            pod.name,
            f"container {container.name} restarted {ago} ago ({counted(container.restarts, 'restart')} in "
            f"all{_exit_words(container)}{ready}){miss}",
            f"{logs}; {describe}",
        )
    age = _age(pod, ctx)
    settled = age is not None and age >= ctx.policy.settle_seconds
    if not container.ready and container.state == "running" and settled:
        return Finding(
            Severity.WARNING,
            "container-not-ready",
            pod.component,
            pod.name,
            f"container {container.name} is running but not Ready (readiness probe failing?){miss}",
            f"{describe} (Readiness probe events); "
            f"kubectl -n {ns} logs {pod.name} -c {container.name} --tail=30",
        )
    return None
