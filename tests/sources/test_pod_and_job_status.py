"""certgen Jobs and pods as they really fail, from the API objects a real cluster returns (shapes of
``kubectl get job,pod,events -o json`` on Kubernetes 1.31+): each gives its own finding, with the reason
the API gives and the kubectl that shows more."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gloomon.domain.model import Component, CronJobState, FleetSnapshot, LogEvent, LogKind, PodInfo
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.kube import status as kube_status
from tests.domain.certs import NOW
from tests.domain.fleet_helpers import CRON, NS, codes, snap

CRONJOB = "gloo-mtls-certgen-cronjob"


def _t(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _job(
    name: str, status: dict[str, Any], *, deadline: int | None = None, age: float = 600
) -> dict[str, Any]:
    spec: dict[str, Any] = {"backoffLimit": 6, "completions": 1, "template": {"spec": {"containers": []}}}
    if deadline is not None:
        spec["activeDeadlineSeconds"] = deadline
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": {
            "name": name,
            "namespace": NS,
            "creationTimestamp": _t(age),
            "labels": {"controller-uid": "u1", "job-name": name},
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": CRONJOB, "uid": "c1"}],
        },
        "spec": spec,
        "status": status,
    }


def _failed(reason: str, message: str, ago: float) -> list[dict[str, Any]]:
    return [
        {"type": kind, "status": "True", "reason": reason, "message": message, "lastTransitionTime": _t(ago)}
        for kind in ("FailureTarget", "Failed")
    ]


def _cron(*jobs: dict[str, Any], **fields: Any) -> CronJobState:
    return replace(CRON, jobs=tuple(kube_objects.job_state(j) for j in jobs), **fields)


def _events(*items: tuple[str, str, str, str, int]) -> dict[tuple[str, str], Any]:
    """(kind, name, reason, message, count) → what ``warning_events`` makes of an EventList."""
    return kube_status.warning_events(
        {
            "kind": "EventList",
            "items": [
                {
                    "metadata": {"name": f"{name}.1", "creationTimestamp": _t(300)},
                    "involvedObject": {"kind": kind, "name": name, "namespace": NS},
                    "reason": reason,
                    "message": message,
                    "count": count,
                    "type": "Warning",
                    "lastTimestamp": _t(10),
                }
                for kind, name, reason, message, count in items
            ],
        }
    )


def _container(name: str, **status: Any) -> dict[str, Any]:
    return {
        "name": name,
        "ready": True,
        "restartCount": 0,
        "state": {"running": {"startedAt": _t(900)}},
    } | status


def _pod(
    name: str,
    statuses: list[dict[str, Any]],
    *,
    phase: str = "Running",
    gloo: str = "gateway-proxy",
    age: float = 900,
    job: str | None = None,
) -> dict[str, Any]:
    labels = {"gloo": gloo} | ({"job-name": job} if job else {})
    ready = phase == "Running" and all(s.get("ready") for s in statuses)
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"containers": [{"name": s["name"], "image": "quay.io/solo-io/x:1.18.0"} for s in statuses]},
        "status": {
            "phase": phase,
            "startTime": _t(age),
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": statuses,
        },
    }


def _info(obj: dict[str, Any], events: dict[tuple[str, str], Any] | None = None) -> PodInfo:
    component = Component.parse(obj["metadata"]["labels"]["gloo"])
    pod = kube_objects.pod_info(obj, component)
    found = (events or {}).get(("Pod", pod.name), ())
    return replace(pod, events=found) if found and kube_status.stuck(pod) else pod


def _finding(result: FleetSnapshot, code: str) -> Any:
    (found,) = [f for f in result.findings if f.code == code]
    return found


def test_a_job_that_failed_at_its_backoff_limit_is_certgen_job_failed() -> None:
    job = _job(
        "gloo-mtls-certgen-cronjob-29384",
        {
            "failed": 1,
            "startTime": _t(400),
            "conditions": _failed("BackoffLimitExceeded", "Job has reached the specified backoff limit", 60),
        },
    )
    result = snap([], cronjob=_cron(job))
    found = _finding(result, "certgen-job-failed")
    assert found.severity.value == "warning" and found.pod == "gloo-mtls-certgen-cronjob-29384"
    assert "BackoffLimitExceeded: Job has reached the specified backoff limit (1 failed pod)" in found.message
    assert f"kubectl -n {NS} describe job gloo-mtls-certgen-cronjob-29384" in found.hint
    assert "rotation-cancelled" not in codes(result)


def test_a_failure_followed_by_a_success_is_history() -> None:
    job = _job(
        "gloo-mtls-certgen-cronjob-1",
        {
            "failed": 1,
            "conditions": _failed("BackoffLimitExceeded", "backoff limit", 600),
        },
    )
    cron = _cron(job, last_successful_time=NOW - timedelta(seconds=60))
    assert "certgen-job-failed" not in codes(snap([], cronjob=cron))


def test_rotation_cancelled_keys_on_deadline_exceeded_not_on_a_log_line() -> None:
    job = _job(
        "gloo-mtls-certgen-cronjob-7",
        {
            "failed": 1,
            "startTime": _t(200),
            "conditions": _failed("DeadlineExceeded", "Job was active longer than specified deadline", 20),
        },
        deadline=120,
    )
    found = _finding(snap([], cronjob=_cron(job)), "rotation-cancelled")
    assert "activeDeadlineSeconds (2m)" in found.message and "DeadlineExceeded" in found.message
    assert "2×rotationDuration (2m10s)" in found.hint
    line = LogEvent(
        NOW,
        "info",
        None,
        "gloo-mtls-certgen-cronjob-1-x",
        "certgen",
        "context cancelled, next rotation will not break trust",
        LogKind.CERTGEN_CANCELLED,
    )
    assert "rotation-cancelled" not in codes(snap([], log_events=[line]))


def test_a_job_that_cannot_create_its_pod_says_the_event() -> None:
    name = "gloo-mtls-certgen-cronjob-8"
    job = _job(name, {"startTime": _t(300), "ready": 0, "terminating": 0}, age=300)
    message = (
        f'Error creating: pods "{name}-" is forbidden: error looking up service account '
        f'{NS}/certgen: serviceaccount "certgen" not found'
    )
    events = _events(("Job", name, "FailedCreate", message, 5))
    state = replace(kube_objects.job_state(job), events=events[("Job", name)])
    assert kube_status.job_without_pod(state)
    found = _finding(snap([], cronjob=replace(CRON, jobs=(state,))), "certgen-cannot-start")
    assert (
        'FailedCreate (×5): Error creating: pods "gloo-mtls-certgen-cronjob-8-" is forbidden' in found.message
    )
    assert 'serviceaccount "certgen" not found' in found.message and "5m" in found.message
    assert "helm upgrade" in found.hint
    young = replace(kube_objects.job_state(_job(name, {"startTime": _t(5)}, age=5)))
    assert "certgen-cannot-start" not in codes(snap([], cronjob=replace(CRON, jobs=(young,))))


def test_a_cronjob_whose_last_runs_failed() -> None:
    cron = replace(
        CRON,
        schedule="0 */6 * * *",
        last_schedule_time=NOW.replace(hour=12, minute=0, second=0),
        last_successful_time=NOW.replace(hour=12, minute=0, second=0) - timedelta(hours=18, seconds=-70),
    )
    result = snap([], at=NOW.replace(hour=12, minute=5), cronjob=cron)
    found = _finding(result, "certgen-runs-failing")
    assert "the last 3 scheduled runs did not succeed" in found.message
    ok = replace(cron, last_successful_time=cron.last_schedule_time + timedelta(seconds=70))  # type: ignore[operator]
    assert "certgen-runs-failing" not in codes(snap([], at=NOW.replace(hour=12, minute=5), cronjob=ok))


def test_a_certgen_pod_retrying_on_failure() -> None:
    name = "gloo-mtls-certgen-cronjob-9"
    job = _job(name, {"active": 1, "ready": 0, "startTime": _t(120)})
    pod = _pod(
        f"{name}-abcde",
        [
            _container(
                "certgen",
                ready=False,
                restartCount=3,
                state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting"}},
                lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": _t(30)}},
            )
        ],
        gloo="gloo-mtls-certs",
        job=name,
    )
    info = kube_objects.pod_info(pod, None)
    found = _finding(snap([], cronjob=_cron(job), pods=[info]), "certgen-job-failing")
    assert found.pod == f"{name}-abcde"
    assert (
        "certgen CrashLoopBackOff after 3 restarts; last exit 1 (Error); it fails at backoffLimit 6"
        in found.message
    )
    assert f"logs {name}-abcde -c certgen --previous" in found.hint


def test_a_missing_secret_leaves_the_pod_in_container_creating_with_failed_mount() -> None:
    name = "gateway-proxy-7d9c-x2x"
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    pod = _pod(
        name,
        [_container(c, ready=False, state=waiting) for c in ("gateway-proxy", "sds")],
        phase="Pending",
        age=240,
    )
    message = 'MountVolume.SetUp failed for volume "gloo-mtls-certs" : secret "gloo-mtls-certs" not found'
    info = _info(pod, _events(("Pod", name, "FailedMount", message, 7)))
    result = snap([], pods=[info], missing=[Component.GATEWAY_PROXY])
    found = _finding(result, "pod-mount-failed")
    assert found.severity.value == "critical" and found.component is Component.GATEWAY_PROXY
    assert found.message.startswith("ContainerCreating for 4m: FailedMount (×7): MountVolume.SetUp failed")
    assert 'secret "gloo-mtls-certs" not found' in found.message
    assert f"kubectl -n {NS} describe pod {name}" in found.hint
    missing = _finding(result, "component-missing")
    assert f"({name}: FailedMount)" in missing.message


def test_an_sds_container_in_crashloop() -> None:
    pod = _pod(
        "gloo-5f7-abc",
        [
            _container("gloo"),
            _container(
                "sds",
                ready=False,
                restartCount=4,
                state={"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting"}},
                lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": _t(50)}},
            ),
            _container("envoy-sidecar"),
        ],
        gloo="gloo",
    )
    found = _finding(snap([], pods=[_info(pod)]), "container-crashloop")
    assert found.component is Component.GLOO and found.pod == "gloo-5f7-abc"
    assert found.message.startswith("container sds is CrashLoopBackOff after 4 restarts; last exit 1 (Error)")
    assert "misses secret rotations" in found.message
    assert found.hint.startswith(f"kubectl -n {NS} logs gloo-5f7-abc -c sds --previous")


def test_not_ready_and_recent_restarts() -> None:
    not_ready = _pod(
        "extauth-1", [_container("extauth"), _container("envoy-sidecar", ready=False)], gloo="extauth"
    )
    restarted = _pod(
        "rate-limit-1",
        [
            _container("rate-limit"),
            _container(
                "envoy-sidecar",
                restartCount=2,
                lastState={"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": _t(120)}},
            ),
        ],
        gloo="rate-limit",
    )
    old = _pod(
        "gloo-1",
        [
            _container(
                "gloo",
                restartCount=1,
                lastState={"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": _t(86400)}},
            )
        ],
        gloo="gloo",
    )
    young = _pod("gateway-proxy-1", [_container("gateway-proxy", ready=False)], age=5)
    result = snap([], pods=[_info(p) for p in (not_ready, restarted, old, young)])
    found = codes(result)
    assert found["container-not-ready"] == [("warning", "extauth-1")]
    assert found["container-restarted"] == [("warning", "rate-limit-1")]
    message = _finding(result, "container-restarted").message
    assert (
        "container envoy-sidecar restarted 2m ago (2 restarts in all; last exit 137 (OOMKilled))" in message
    )


def test_healthy_pods_and_jobs_give_nothing_new() -> None:
    pods = [
        _info(_pod(f"{c}-1", [_container(c), _container("sds")], gloo=c)) for c in ("gloo", "gateway-proxy")
    ]
    done = _job(
        "gloo-mtls-certgen-cronjob-1",
        {
            "succeeded": 1,
            "startTime": _t(300),
            "completionTime": _t(100),
            "conditions": [{"type": "Complete", "status": "True"}],
        },
    )
    found = codes(snap([], pods=pods, cronjob=_cron(done, last_successful_time=NOW - timedelta(seconds=100))))
    new = {
        "pod-mount-failed",
        "pod-pending",
        "container-crashloop",
        "container-waiting",
        "container-restarted",
        "container-not-ready",
        "certgen-job-failed",
        "certgen-cannot-start",
        "certgen-job-failing",
        "certgen-runs-failing",
        "rotation-cancelled",
    }
    assert not new & set(found)


def test_job_state_reads_what_the_api_says() -> None:
    job = _job("j", {"failed": 2, "conditions": _failed("DeadlineExceeded", "m", 10)}, deadline=300)
    state = kube_objects.job_state(job)
    assert state.deadline_exceeded and state.failed_pods == 2 and state.owner_cronjob == CRONJOB
    assert state.active_deadline_seconds == 300.0 and state.backoff_limit == 6
    assert isinstance(state.failed_at, datetime)
    odd = kube_objects.job_state({"metadata": {"name": "x"}, "status": {"failed": "2", "conditions": "no"}})
    assert odd.failed_pods == 0 and not odd.failed


def test_every_pods_sds_crashlooping_is_one_finding_about_the_secret() -> None:
    def crashing(name: str, gloo: str) -> PodInfo:
        sds = _container(
            "sds",
            ready=False,
            restartCount=3,
            state={"waiting": {"reason": "CrashLoopBackOff"}},
            lastState={"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": _t(20)}},
        )
        return _info(_pod(name, [_container(gloo), sds], gloo=gloo))

    pods = [crashing("gloo-1", "gloo"), crashing("gateway-proxy-1", "gateway-proxy")]
    result = snap([], pods=pods)
    found = _finding(result, "sds-crashloop-everywhere")
    assert found.severity.value == "critical" and found.subjects.pods == ("gloo-1", "gateway-proxy-1")
    assert "could not find file '/etc/envoy/ssl/<key>'" in found.message
    assert "describe secret gloo-mtls-certs" in found.hint
    assert "-o yaml" not in found.hint and "{.data}" not in found.hint  # those would print tls.key
    assert len([f for f in result.findings if f.code == "container-crashloop"]) == 2
    healthy = _info(_pod("gateway-proxy-2", [_container("gateway-proxy"), _container("sds")]))
    assert "sds-crashloop-everywhere" not in codes(snap([], pods=[*pods, healthy]))


def test_sds_running_between_two_crashes_still_crash_loops_everywhere() -> None:
    """sds checks its files ~13 s before it exits: a poll in that window finds every sds Running, with
    restarts and a failed last run. That is still every pod crash-looping, not N restarts."""

    def between(name: str, gloo: str, exit_code: int = 1, finished: float = 20) -> PodInfo:
        sds = _container(
            "sds",
            restartCount=3,
            state={"running": {"startedAt": _t(5)}},
            lastState={"terminated": {"exitCode": exit_code, "reason": "Error", "finishedAt": _t(finished)}},
        )
        return _info(_pod(name, [_container(gloo), sds], gloo=gloo))

    pods = [between("gloo-1", "gloo"), between("gateway-proxy-1", "gateway-proxy")]
    found = _finding(snap([], pods=pods), "sds-crashloop-everywhere")
    assert found.severity.value == "critical" and "crash-looping" in found.message
    # a clean last exit, or a last crash older than the kubelet's longest back-off, is not a loop
    clean = [between("gloo-1", "gloo", exit_code=0), between("gateway-proxy-1", "gateway-proxy")]
    assert "sds-crashloop-everywhere" not in codes(snap([], pods=clean))
    old = [between("gloo-1", "gloo", finished=400), between("gateway-proxy-1", "gateway-proxy")]
    assert "sds-crashloop-everywhere" not in codes(snap([], pods=old))


def test_remote_reasons_and_messages_are_inert() -> None:
    hostile = "Backoff\x1b[31mLimit\nExceeded\u202e"
    job = _job("j", {"failed": 1, "conditions": _failed(hostile, "two\nlines\x1b]0;title\x07", 5)})
    events = _events(("Pod", "p", "Failed\x1b[2JMount", "secret\r\nmissing", 1))
    (event,) = events[("Pod", "p")]
    state = kube_objects.job_state(job)
    for text in (state.failure_reason, state.failure_message, event.reason, event.message):
        assert text is not None and "\x1b" not in text and "\n" not in text and "\u202e" not in text
    found = _finding(snap([], cronjob=_cron(job)), "certgen-job-failed")
    assert "\x1b" not in found.message and "\n" not in found.message
