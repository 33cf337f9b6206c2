"""Kubernetes JSON for certgen's Job and CronJob (batch/v1), as a real apiserver returns them.

Status follows the Job's life (active, succeeded with ``SuccessCriteriaMet`` and ``Complete``, or failed
with ``FailureTarget`` and ``Failed`` and their reason, ``BackoffLimitExceeded`` or ``DeadlineExceeded``;
a Job whose pod cannot be created has no ``active`` pod and no condition); the CronJob lists its active
Jobs and its last schedule and success times, the fields gloomon judges certgen by.
"""

from __future__ import annotations

from typing import Any

from gloomon.lab.api.objects import meta
from gloomon.lab.cluster.store import CronJob, Job, NamespaceStore
from gloomon.lab.cluster.util import rfc3339
from gloomon.lab.pods import certgen_job as certjob

#: the job controller's messages for its failure reasons (pkg/controller/job)
_FAILURE_MESSAGES = {
    "BackoffLimitExceeded": "Job has reached the specified backoff limit",
    "DeadlineExceeded": "Job was active longer than specified deadline",
}


def _job_template(
    store: NamespaceStore, args: tuple[str, ...], labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"labels": dict(certjob.POD_LABELS if labels is None else labels)},
        "spec": {
            "serviceAccountName": "certgen",
            "restartPolicy": "OnFailure",
            "containers": [
                {
                    "name": "certgen",
                    "image": certjob.IMAGE,
                    "args": list(args),
                    "env": [
                        {
                            "name": "POD_NAMESPACE",
                            "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                        }
                    ],
                }
            ],
        },
    }


def job_json(store: NamespaceStore, job: Job) -> dict[str, Any]:
    owner = None
    if job.owner_cronjob and store.cronjob is not None:
        owner = ("CronJob", job.owner_cronjob, store.cronjob.uid)
    status: dict[str, Any] = {"startTime": rfc3339(job.created)}
    pod = store.pods.get(job.pod_name)
    if job.completed is None:
        if pod is not None:  # no pod: the job controller cannot create it (FailedCreate events say why)
            status["active"] = 1
        status["ready"] = 1 if pod is not None and pod.ready else 0
        if job.failed_pods:
            status["failed"] = job.failed_pods
    elif job.succeeded:
        status["succeeded"] = 1
        status["completionTime"] = rfc3339(job.completed)
        status["conditions"] = [
            {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": rfc3339(job.completed)},
            {"type": "Complete", "status": "True", "lastTransitionTime": rfc3339(job.completed)},
        ]
    else:
        # Kubernetes 1.31+: FailureTarget first, then Failed once the pods are gone; no completionTime
        if job.failed_pods:
            status["failed"] = job.failed_pods
        reason = job.failure_reason or "Failed"
        message = job.failure_message or _FAILURE_MESSAGES.get(reason, "Job failed")
        status["conditions"] = [
            {
                "type": kind,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastProbeTime": rfc3339(job.completed),
                "lastTransitionTime": rfc3339(job.completed),
            }
            for kind in ("FailureTarget", "Failed")
        ]
    spec: dict[str, Any] = {
        "completions": 1,
        "parallelism": 1,
        "backoffLimit": job.backoff_limit,
        # the API server's defaults: pods selected by the Job's uid, which its template labels carry
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job.uid}},
        "template": _job_template(store, job.args, job.pod_labels),
    }
    spec["template"]["metadata"]["labels"].update(
        {
            "batch.kubernetes.io/controller-uid": job.uid,
            "batch.kubernetes.io/job-name": job.name,
            "controller-uid": job.uid,
            "job-name": job.name,
        }
    )
    if job.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = job.ttl_seconds_after_finished
    if job.active_deadline_seconds is not None:
        spec["activeDeadlineSeconds"] = job.active_deadline_seconds
    return {
        "kind": "Job",
        "apiVersion": "batch/v1",
        "metadata": meta(
            job.name,
            store.namespace,
            job.uid,
            job.created,
            job.resource_version,
            job.labels,
            owner,
            "batch/v1",
        ),
        "spec": spec,
        "status": status,
    }


def cronjob_json(store: NamespaceStore, cron: CronJob) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if cron.active:
        status["active"] = [
            {
                "kind": "Job",
                "namespace": store.namespace,
                "name": n,
                "apiVersion": "batch/v1",
                "uid": store.jobs[n].uid if n in store.jobs else "",
            }
            for n in cron.active
        ]
    if cron.last_schedule is not None:
        status["lastScheduleTime"] = rfc3339(cron.last_schedule)
    if cron.last_successful is not None:
        status["lastSuccessfulTime"] = rfc3339(cron.last_successful)
    return {
        "kind": "CronJob",
        "apiVersion": "batch/v1",
        "metadata": meta(
            cron.name, store.namespace, cron.uid, cron.created, cron.resource_version, cron.labels
        ),
        "spec": {
            "schedule": cron.schedule,
            "concurrencyPolicy": cron.concurrency_policy,
            "suspend": cron.suspend,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": {"gloo": certjob.JOB_LABEL}},
                "spec": {"ttlSecondsAfterFinished": 60, "template": _job_template(store, cron.args)},
            },
        },
        "status": status,
    }
