"""certgen's runs fail as on a real cluster, and a pod cannot mount a deleted secret: what the lab's API
answers (Job conditions, container states, events, ``kubectl get`` cells), read back by gloomon's own
parsers and judged. In-process, without Envoy (fast)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, Finding
from gloomon.lab.api import events as api_events
from gloomon.lab.api import jobs as api_jobs
from gloomon.lab.api import objects as api_objects
from gloomon.lab.api import tables
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.store import ClusterStore, Container, Job, NamespaceStore, Pod
from gloomon.lab.cluster.util import now_utc
from gloomon.lab.pods.certgen_job import CertgenConfig, CertgenRunner
from gloomon.lab.pods.unmountable import add_unmountable_pod
from gloomon.lab.starting_state import seed_failed_runs
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.kube import status as kube_status

NS = "gloo-system"


async def _until(probe: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not probe():
            await asyncio.sleep(0.02)
    assert probe(), what


def _store() -> NamespaceStore:
    store = ClusterStore().add_namespace(NS)
    store.write_secret(certgen.generate(NS).secret())
    return store


def _judge(store: NamespaceStore, pods: list[Any] = ()) -> list[Finding]:  # type: ignore[assignment]
    """gloomon's reading of the lab's API objects: Jobs (and their Warning events), CronJob, pods."""
    listed = api_objects.list_of(
        "Job", "batch/v1", [api_jobs.job_json(store, j) for j in store.jobs.values()], 1
    )
    events = kube_status.warning_events({"items": api_events.events(store, "type=Warning")})
    jobs = tuple(
        replace(job, events=events.get(("Job", job.name), ())) if kube_status.job_without_pod(job) else job
        for job in kube_objects.certgen_jobs(listed)
    )
    cron_obj = api_jobs.cronjob_json(store, store.cronjob) if store.cronjob else None
    cron = kube_objects.cronjob_state(cron_obj, jobs, fallback_args=[])
    infos = []
    for obj in pods:
        info = kube_objects.pod_info(obj, Component.parse(obj["metadata"]["labels"].get("gloo", "")))
        found = events.get(("Pod", info.name), ())
        infos.append(replace(info, events=found) if found and kube_status.stuck(info) else info)
    snapshot = build_snapshot(
        taken_at=now_utc(), namespace=NS, contexts=["lab"], fetches=[], secrets=[], cronjob=cron,
        policy=HealthPolicy(), pods=infos,
    )  # fmt: skip
    return list(snapshot.findings)


def _codes(found: list[Finding]) -> dict[str, Finding]:
    return {f.code: f for f in found}


async def _run(config: CertgenConfig, until: Callable[[NamespaceStore, Job], bool],
               during: Callable[[NamespaceStore, Job], Awaitable[None]] | None = None,
               ) -> tuple[NamespaceStore, Job, CertgenRunner]:  # fmt: skip
    store = _store()
    runner = CertgenRunner(store, replace(config, schedule="0 */6 * * *"))
    task = runner.run_now()
    (job,) = store.jobs.values()
    if during is not None:
        await during(store, job)
    await _until(lambda: until(store, job), "the run's end")
    assert not task.done() or task.exception() is None
    return store, job, runner


async def test_a_run_that_exits_1_retries_in_place_then_fails_at_the_backoff_limit() -> None:
    seen: dict[str, set[str]] = {"status": set(), "restarts": set()}

    async def watch(store: NamespaceStore, job: Job) -> None:
        async def poll() -> None:
            while job.completed is None:
                pod = store.pods.get(job.pod_name)
                if pod is not None:
                    body = api_objects.pod_json(pod)
                    cells = tables.table("Pod", [body], 1)["rows"][0]["cells"]
                    seen["status"].add(cells[2])
                    seen["restarts"].add(cells[3].split(" ")[0])
                    running = job.completed is None
                    assert api_jobs.job_json(store, job)["status"].get("active") == (1 if running else None)
                await asyncio.sleep(0.01)

        asyncio.get_running_loop().create_task(poll())

    config = CertgenConfig(failure="forbidden", backoff_limit=2, retry_backoff=0.3)
    store, job, runner = await _run(config, lambda _, j: j.completed is not None, watch)
    try:
        assert {"Error", "CrashLoopBackOff", "Running"} <= seen["status"], seen
        assert {"0", "1", "2"} <= seen["restarts"], seen
        status = api_jobs.job_json(store, job)["status"]
        assert status["failed"] == 1 and "active" not in status and "completionTime" not in status
        assert [(c["type"], c["reason"]) for c in status["conditions"]] == [
            ("FailureTarget", "BackoffLimitExceeded"),
            ("Failed", "BackoffLimitExceeded"),
        ]
        assert job.pod_name not in store.pods  # OnFailure: the job controller deletes the pod
        (event,) = api_events.events(store, f"involvedObject.name={job.name}")
        assert (event["reason"], event["message"]) == (
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        )
        found = _codes(_judge(store))
        assert "BackoffLimitExceeded" in found["certgen-job-failed"].message
    finally:
        await runner.stop()


async def test_the_retrying_pod_reports_its_exit_and_restarts() -> None:
    """While retrying: the container's lastState is the run that exited 1, its log the previous run's."""
    config = CertgenConfig(failure="forbidden", backoff_limit=5, retry_backoff=0.4)
    store, job, runner = await _run(
        config,
        lambda s, j: (p := s.pods.get(j.pod_name)) is not None and p.containers[0].restart_count >= 1
        and p.containers[0].waiting_reason is None and p.containers[0].terminated is None,
    )  # fmt: skip
    try:
        pod = store.pods[job.pod_name]
        (status,) = api_objects.pod_json(pod)["status"]["containerStatuses"]
        assert status["restartCount"] >= 1 and status["lastState"]["terminated"]["exitCode"] == 1
        previous = pod.containers[0].previous
        assert previous is not None
        last = json.loads(previous.snapshot()[0][-1].text)
        assert (last["level"], last["msg"]) == ("fatal", "execution failed")
        assert 'secrets \\"gloo-mtls-certs\\" is forbidden' in json.dumps(last["error"])
        found = _codes(_judge(store, [api_objects.pod_json(pod)]))
        assert found["certgen-job-failing"].pod == pod.name
        assert f"logs {pod.name} -c certgen --previous" in found["certgen-job-failing"].hint
    finally:
        await runner.stop()


async def test_a_run_killed_at_its_deadline_logs_nothing_and_is_deadline_exceeded() -> None:
    pods: list[Pod] = []

    async def keep_pod(store: NamespaceStore, job: Job) -> None:
        pods.append(store.pods[job.pod_name])  # its log outlives the pod's deletion here

    config = CertgenConfig(rotation_duration=30.0, active_deadline=1.0, tick=0.1)
    store, job, runner = await _run(config, lambda _, j: j.completed is not None, keep_pod)
    try:
        lines = [json.loads(line.text) for line in pods[0].containers[0].log.snapshot()[0]]
        assert lines and lines[0]["msg"] == "starting certgen job, validated inputs"
        assert not [m for m in lines if m["level"] != "info" or "cancel" in m["msg"]], lines[-1]
        assert lines[-1]["msg"] != "secret has been updated"  # cut short, silently
        conditions = api_jobs.job_json(store, job)["status"]["conditions"]
        assert conditions[-1]["type"] == "Failed" and conditions[-1]["reason"] == "DeadlineExceeded"
        assert conditions[-1]["message"] == "Job was active longer than specified deadline"
        assert job.pod_name not in store.pods
        found = _codes(_judge(store))
        assert "DeadlineExceeded" in found["rotation-cancelled"].message
    finally:
        await runner.stop()


async def test_a_job_without_its_service_account_creates_no_pod_and_says_failed_create() -> None:
    config = CertgenConfig(service_account_missing=True, retry_backoff=0.05)
    store, job, runner = await _run(
        config, lambda s, j: any(e.count >= 2 for e in s.recorded_events if e.name == j.name)
    )
    try:
        assert job.pod_name not in store.pods and job.completed is None
        status = api_jobs.job_json(store, job)["status"]
        assert "active" not in status and status["ready"] == 0 and "conditions" not in status
        (event,) = api_events.events(store, f"involvedObject.kind=Job,involvedObject.name={job.name}")
        assert event["reason"] == "FailedCreate" and event["count"] >= 2
        assert 'serviceaccount "certgen" not found' in event["message"]
        found = _codes(_judge(store))
        assert "FailedCreate (×" in found["certgen-cannot-start"].message
    finally:
        await runner.stop()


async def test_a_cronjob_whose_last_runs_failed() -> None:
    store = _store()
    runner = CertgenRunner(store, CertgenConfig(schedule="0 */6 * * *"))
    seed_failed_runs(store, 3)
    assert store.cronjob is not None and store.cronjob.last_successful is not None
    cron = api_jobs.cronjob_json(store, store.cronjob)["status"]
    assert cron["lastSuccessfulTime"] < cron["lastScheduleTime"]
    found = _codes(_judge(store))
    assert "the last 3 scheduled runs did not succeed" in found["certgen-runs-failing"].message
    await runner.stop()


def _running(store: NamespaceStore, component: Component) -> Pod:
    return store.add_pod(
        Pod(
            name=f"{component}-abc-1",
            namespace=NS,
            labels={"gloo": str(component)},
            containers=[Container(name=str(component), image="quay.io/solo-io/gloo-envoy-wrapper:1.18.0"),
                        Container(name="sds", image="quay.io/solo-io/sds:1.18.0")],
            pod_ip="10.0.0.1",
            component=component,
            owner=("ReplicaSet", f"{component}-abc", "uid"),
        )
    )  # fmt: skip


def test_a_pod_that_cannot_mount_the_deleted_secret() -> None:
    store = _store()
    _running(store, Component.GATEWAY_PROXY)
    pod = add_unmountable_pod(store, Component.GATEWAY_PROXY)
    assert store.secret is None and pod.name.startswith("gateway-proxy-abc-")
    body = api_objects.pod_json(pod)
    cells = tables.table("Pod", [body], 1)["rows"][0]["cells"]
    assert cells[1:4] == ["0/2", "ContainerCreating", "0"]
    assert body["status"]["phase"] == "Pending" and "podIP" not in body["status"]
    (event,) = api_events.events(store, f"involvedObject.name={pod.name},type=Warning")
    assert event["reason"] == "FailedMount" and event["source"]["component"] == "kubelet"
    assert event["message"] == (
        'MountVolume.SetUp failed for volume "gloo-mtls-certs" : secret "gloo-mtls-certs" not found'
    )
    assert [e["reason"] for e in api_events.events(store, f"involvedObject.name={pod.name}")] == [
        "Scheduled",
        "FailedMount",
    ]
    found = _codes(
        _judge(store, [body, *(api_objects.pod_json(p) for p in store.pods.values() if p is not pod)])
    )
    assert (
        found["pod-mount-failed"].pod == pod.name and found["pod-mount-failed"].severity.value == "critical"
    )
    assert isinstance(event["count"], int) and isinstance(
        datetime.fromisoformat(event["lastTimestamp"]), datetime
    )
