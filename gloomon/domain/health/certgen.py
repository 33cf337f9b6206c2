"""Findings about certgen's Jobs as they really fail (real-clusters.md §5): a Job killed at
``activeDeadlineSeconds`` (``rotation-cancelled``: certgen has no signal handler, so no log line says
so, only the Job's ``DeadlineExceeded`` condition), a Job that failed otherwise (``BackoffLimitExceeded``),
one whose pod retries (``restartPolicy: OnFailure``), one that cannot create its pod (``FailedCreate``:
a ServiceAccount or RBAC an upgrade deleted, solo-io/gloo #6578), and a CronJob none of whose last runs
succeeded (its failed Jobs are gone after ``ttlSecondsAfterFinished``: the CronJob's status says it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gloomon.domain.health.policy import Context
from gloomon.domain.model import Finding, JobState, KubeEvent, ParseError, PodInfo, Severity, TargetStatus
from gloomon.domain.parse.cron import next_run, parse_schedule
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.text import one_line
from gloomon.domain.words import counted

#: a Job with no pod this long (and no event to explain it) cannot start
NO_POD_SECONDS = 60.0
#: runs counted when judging a CronJob's last runs (an every-minute schedule over days stops here)
_MAX_RUNS = 100
#: how many of the last scheduled runs must all have failed for ``certgen-runs-failing``
FAILED_RUNS = 2
#: A kubelet refreshes a pod's secret volume when it next syncs the pod: every ``--sync-frequency`` (1 min
#: by default) plus up to half of it in jitter (kubelet ``pod_workers.go``: ``wait.Jitter(resyncInterval,
#: 0.5)``). So any healthy pod may take up to a minute to pick up a write, and sometimes 90 s.
KUBELET_SYNC_SECONDS = 60.0
KUBELET_SYNC_MAX_SECONDS = 1.5 * KUBELET_SYNC_SECONDS


def certgen_findings(pods: Sequence[PodInfo], ctx: Context) -> list[Finding]:
    cron = ctx.cronjob
    if cron is None or cron.error is not None:
        return []
    out: list[Finding] = []
    for job in cron.jobs:
        mine = [p for p in pods if p.component is None and p.job == job.name]
        item = _job_finding(job, cron.jobs, mine, ctx)
        if item is not None:
            out.append(item)
    runs = _runs_failing(ctx)
    if runs is not None:
        out.append(runs)
    return out


def _ago(ctx: Context, when: datetime | None) -> str:
    return f" {human_duration(max(0.0, (ctx.now - when).total_seconds()))} ago" if when is not None else ""


def _superseded(job: JobState, jobs: Sequence[JobState], ctx: Context) -> bool:
    """A failed Job followed by a successful run: past trouble, not a finding."""
    failed_at = job.failed_at or job.completed_at or job.started_at
    if failed_at is None:
        return False
    last_ok = ctx.cronjob.last_successful_time if ctx.cronjob is not None else None
    if last_ok is not None and last_ok > failed_at:
        return True
    return any(o.succeeded and o.completed_at is not None and o.completed_at > failed_at for o in jobs)


def _job_finding(
    job: JobState, jobs: Sequence[JobState], pods: Sequence[PodInfo], ctx: Context
) -> Finding | None:
    ns = ctx.namespace
    describe = f"kubectl -n {ns} describe job {job.name}"
    if job.failed and _superseded(job, jobs, ctx):
        return None
    if job.deadline_exceeded:
        deadline = job.active_deadline_seconds
        limit = f" ({human_duration(deadline)})" if deadline else ""
        least = 2 * ctx.rotation_duration
        return Finding(
            Severity.WARNING,
            "rotation-cancelled",
            None,
            job.name,
            f"certgen Job {job.name} was killed at activeDeadlineSeconds{limit}{_ago(ctx, job.failed_at)} "
            f"(DeadlineExceeded): certgen logs nothing when killed, so its rotation may have stopped "
            f"between two writes",
            f"{describe}; run it once more to finish: {ctx.rerun_hint()}; keep activeDeadlineSeconds above "
            f"2×rotationDuration ({human_duration(least)}) plus the time to generate keys",
        )
    if job.failed:
        reason = job.failure_reason or "Failed"
        detail = f": {one_line(job.failure_message, 160)}" if job.failure_message else ""
        failed = f" ({counted(job.failed_pods, 'failed pod')})" if job.failed_pods else ""
        return Finding(
            Severity.WARNING,
            "certgen-job-failed",
            None,
            job.name,
            f"certgen Job {job.name} failed{_ago(ctx, job.failed_at)}: {reason}{detail}{failed}; "
            f"the secret was not rotated",
            f"{describe}; kubectl -n {ns} logs job/{job.name} --previous (a restartPolicy OnFailure "
            f"Job's pod is deleted at the backoff limit: its events may be all that is left)",
        )
    if job.active:
        return _retrying(job, pods, ctx)
    if job.succeeded:
        return None
    created = job.created_at or job.started_at
    age = (ctx.now - created).total_seconds() if created is not None else None
    failed_create = [e for e in job.events if e.reason == "FailedCreate"]
    if not failed_create and (age is None or age < NO_POD_SECONDS):
        return None
    for_how_long = f" for {human_duration(age)}" if age is not None else ""
    why = _event_words(failed_create[-1]) if failed_create else "no event says why"
    return Finding(
        Severity.WARNING,
        "certgen-cannot-start",
        None,
        job.name,
        f"certgen Job {job.name} has created no pod{for_how_long}: {why}",
        f"{describe}; a missing ServiceAccount or RBAC (deleted by an upgrade hook) comes back with "
        f"helm upgrade; then {ctx.rerun_hint()}",
    )


def _event_words(event: KubeEvent) -> str:
    times = f" (×{event.count})" if event.count > 1 else ""
    return f"{event.reason}{times}: {one_line(event.message, 200)}"


def _retrying(job: JobState, pods: Sequence[PodInfo], ctx: Context) -> Finding | None:
    """A running Job whose pod's certgen exited and is being restarted (``restartPolicy: OnFailure``)."""
    for pod in pods:
        for container in pod.container_states:
            if container.restarts == 0 and container.reason != "CrashLoopBackOff":
                continue
            exit_words = (
                f"; last exit {container.last_exit_code} ({container.last_reason or 'Error'})"
                if container.last_exit_code is not None
                else ""
            )
            state = container.reason or container.state
            limit = "" if job.backoff_limit is None else f"; it fails at backoffLimit {job.backoff_limit}"
            return Finding(
                Severity.WARNING,
                "certgen-job-failing",
                None,
                pod.name,
                f"certgen Job {job.name}: {container.name} {state} after "
                f"{counted(container.restarts, 'restart')}{exit_words}{limit}",
                f"kubectl -n {ctx.namespace} logs {pod.name} -c {container.name} --previous; "
                f"kubectl -n {ctx.namespace} describe pod {pod.name}",
            )
    return None


def _runs_failing(ctx: Context) -> Finding | None:
    """The CronJob's last ``FAILED_RUNS``+ scheduled runs did not succeed (from its status alone)."""
    cron = ctx.cronjob
    if cron is None or cron.missing or cron.suspended or cron.last_schedule_time is None:
        return None
    if isinstance(parse_schedule(cron.schedule), ParseError):
        return None
    since = cron.last_successful_time or cron.created_at
    if since is None or since >= cron.last_schedule_time:
        return None
    runs = 0
    at = since
    while runs < _MAX_RUNS:
        due = next_run(cron.schedule, at)
        if due is None or due > cron.last_schedule_time:
            break
        runs += 1
        at = due
    runs -= len(cron.active_jobs)  # still running: not failed (yet)
    if runs < FAILED_RUNS:
        return None
    many = f"{runs}+" if runs >= _MAX_RUNS - len(cron.active_jobs) else str(runs)
    last_ok = (
        f"the last success was{_ago(ctx, cron.last_successful_time)}"
        if cron.last_successful_time is not None
        else "none has succeeded since the CronJob was created"
    )
    return Finding(
        Severity.WARNING,
        "certgen-runs-failing",
        None,
        None,
        f"CronJob {cron.name}: the last {many} scheduled runs did not succeed "
        f"(the last started{_ago(ctx, cron.last_schedule_time)}); {last_ok}",
        f"kubectl -n {ctx.namespace} describe cronjob {cron.name}; "
        f"kubectl -n {ctx.namespace} get jobs,events "
        f"(failed Jobs are deleted after ttlSecondsAfterFinished: catch the next run's logs with "
        f"kubectl -n {ctx.namespace} logs -f job/<job>)",
    )


def pickup_limit(rotation_duration: float) -> float:
    """The slowest pickup that is not ``pickup-slow`` yet: half of rotationDuration, as issue 10 asks,
    but not under the kubelet's sync period (:data:`KUBELET_SYNC_SECONDS`): a pickup within it says only
    that a kubelet refreshed the volume at its next sync, and with Gloo's 65 s default half of it would
    warn on most healthy rotations. Never past rotationDuration itself, from where a pod misses a phase
    (real-clusters.md §6: warn when the pickup approaches rotationDuration)."""
    return min(rotation_duration, max(rotation_duration / 2, KUBELET_SYNC_SECONDS))


def pickup_findings(targets: Sequence[TargetStatus], ctx: Context) -> list[Finding]:
    """``pickup-slow``: the slowest pod of the last rotation took longer than :func:`pickup_limit` to
    pick up a write (or lags that long now, within the grace). certgen waits only rotationDuration
    between its writes, so a pod slower than that is cut off mid-rotation: the daily 403s of
    solo-io/gloo #8444 (real-clusters.md §6). Warned here, before the pod reaches the lag grace."""
    limit = pickup_limit(ctx.rotation_duration)
    slowest: tuple[float, TargetStatus, bool] | None = None
    for target in targets:
        candidates = [(target.last_pickup_seconds, False)]
        lagging = target.in_sync_with_secret is False and not target.ahead_of_secret
        if lagging and target.lag_seconds is not None and target.lag_seconds <= ctx.grace:
            candidates.append((target.lag_seconds, True))
        for seconds, still in candidates:
            if seconds is not None and seconds > limit and (slowest is None or seconds > slowest[0]):
                slowest = (seconds, target, still)
    if slowest is None:
        return []
    seconds, target, still = slowest
    took = "has not picked up the secret's last write for" if still else "took"
    tail = "" if still else " to pick up the secret's last write"
    against = _limit_words(limit, ctx.rotation_duration)
    return [
        Finding(
            Severity.WARNING,
            "pickup-slow",
            target.ref.component,
            target.ref.pod,
            f"{took} {human_duration(seconds)}{tail}, {against}: certgen waits only rotationDuration "
            f"between its writes, so a slower pod loses trust mid-rotation",
            f"raise certgen's --rotation-duration to at least twice the slowest pickup and of the "
            f"kubelet's {human_duration(KUBELET_SYNC_MAX_SECONDS)} (a sync period and its jitter), e.g. "
            f"{max(2 * round(seconds), round(2 * KUBELET_SYNC_MAX_SECONDS))}s "
            f"(Helm: gateway.certGenJob.rotationDuration); check how fast the kubelet refreshes secret "
            f"volumes on this node (its --sync-frequency)",
        )
    ]


def _limit_words(limit: float, rotation_duration: float) -> str:
    rotation = human_duration(rotation_duration)
    if limit >= rotation_duration:
        return f"more than rotationDuration ({rotation})"
    if limit > rotation_duration / 2:
        return f"more than the kubelet's {human_duration(limit)} sync, close to rotationDuration ({rotation})"
    return f"more than half of rotationDuration ({rotation})"
