"""The certgen Job/CronJob: Gloo's decision logic and three-phase rotation (reference/gloo-mtls.md §4).

Each run is a Job with one pod (``gloo-mtls-certgen-cronjob-<minutes>-<suffix>``, label
``gloo=gloo-mtls-certs``) whose ``certgen`` container logs certgen's zap-JSON lines (logger ``gencert``)
while it rewrites the ``gloo-mtls-certs`` secret: both CAs → wait → new leaf → wait → new CA only. The
CronJob's status (lastScheduleTime, lastSuccessfulTime, active) follows the runs; finished Jobs and their
pods disappear ``ttl_after_finished`` seconds later, as with ``ttlSecondsAfterFinished``.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import ClusterStore, Container, CronJob, Job, Pod
from gloomon.lab.cluster.util import name_suffix, now_utc
from gloomon.lab.pods.sds import GLOO_VERSION

SVC_NAME = "gloo"
CRONJOB_NAME = "gloo-mtls-certgen-cronjob"
#: label ``gloo=`` of the certgen Jobs (Helm's Job ``gloo-mtls-certgen``).
JOB_LABEL = "gloo-mtls-certgen"
#: labels of the certgen Jobs' pods (``gloo=gloo-mtls-certs``; Helm's pod template).
POD_LABELS = {"gloo": "gloo-mtls-certs", "sidecar.istio.io/inject": "false"}
IMAGE = f"quay.io/solo-io/certgen:{GLOO_VERSION}"
RENEW_BEFORE = timedelta(days=90)
_LOGGER = "gencert"


@dataclass(frozen=True, slots=True)
class CertgenConfig:
    """How certgen runs in this lab (Helm ``gateway.certGenJob.*`` equivalents)."""

    rotation_duration: float = 65.0
    #: cron schedule of the CronJob; None: no CronJob (``cron.enabled=false``).
    schedule: str | None = None
    #: seconds after lab start of an extra first run (so a demo shows a rotation soon).
    first_run_after: float | None = None
    ttl_after_finished: float = 60.0
    force_rotation: bool = True
    #: ``activeDeadlineSeconds``: a run still going after this long is killed (stalled rotations).
    active_deadline: float | None = None
    #: seconds between ``N seconds remaining`` lines during a grace period (certgen: 5).
    tick: float = 5.0
    #: the CronJob's ``concurrencyPolicy``: Gloo's chart sets none (Allow), so with its every-minute default
    #: runs overlap and each appends a CA; "Forbid" skips a scheduled run while one is still going.
    concurrency_policy: str = "Allow"

    def args(self) -> tuple[str, ...]:
        args = [
            f"--secret-name={SECRET_NAME}",
            f"--svc-name={SVC_NAME}",
            f"--rotation-duration={self.rotation_duration:g}s",
        ]
        if self.force_rotation:
            args.append("--force-rotation=true")
        return tuple(args)


class CertgenRunner:
    """Schedules and runs certgen Jobs against the store's secret."""

    def __init__(self, store: ClusterStore, config: CertgenConfig) -> None:
        self.store = store
        self.config = config
        self.runs: list[asyncio.Task[None]] = []
        self._cron_task: asyncio.Task[None] | None = None
        self._cleanup: set[asyncio.Task[None]] = set()
        if config.schedule:
            store.cronjob = CronJob(
                name=CRONJOB_NAME,
                schedule=config.schedule,
                labels={"gloo": CRONJOB_NAME},
                args=config.args(),
                concurrency_policy=config.concurrency_policy,
            )
            store.cronjob.resource_version = store.next_rv()

    def start(self) -> None:
        self._cron_task = asyncio.get_running_loop().create_task(self._cron_loop(), name="certgen-cron")

    async def stop(self) -> None:
        # Twice: cancelled runs schedule their Job's TTL cleanup while finishing.
        for _ in range(2):
            tasks = [
                t for t in (self._cron_task, *self.runs, *self._cleanup) if t is not None and not t.done()
            ]
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _cron_loop(self) -> None:
        from gloomon.domain.parse.cron import next_run

        start = now_utc()
        if self.config.first_run_after is not None:
            await asyncio.sleep(self.config.first_run_after)
            self.run_now()
        if not self.config.schedule:
            return
        after = now_utc() if self.config.first_run_after is not None else start
        while True:
            due = next_run(self.config.schedule, after)
            if due is None:
                return
            await asyncio.sleep(max(0.0, (due - now_utc()).total_seconds()))
            after = due
            if self.config.concurrency_policy == "Forbid" and any(not run.done() for run in self.runs):
                continue
            self.run_now(scheduled=due)

    def run_now(self, scheduled: datetime | None = None) -> asyncio.Task[None]:
        """Start one certgen Job now (like ``kubectl create job --from=cronjob/...``)."""
        job, pod = self._create_job(scheduled or now_utc())
        task = asyncio.get_running_loop().create_task(self._run_job(job, pod), name=f"certgen-{job.name}")
        self.runs.append(task)
        return task

    def _create_job(self, scheduled: datetime) -> tuple[Job, Pod]:
        store = self.store
        base = f"{CRONJOB_NAME}-{int(scheduled.timestamp() // 60)}"
        name = base
        while name in store.jobs:
            name = f"{base}-{name_suffix(3)}"
        pod_name = f"{name}-{name_suffix()}"
        job = Job(
            name=name,
            labels={"gloo": JOB_LABEL},
            pod_name=pod_name,
            owner_cronjob=CRONJOB_NAME if store.cronjob else None,
            args=self.config.args(),
            ttl_seconds_after_finished=int(self.config.ttl_after_finished),
            active_deadline_seconds=int(self.config.active_deadline) if self.config.active_deadline else None,
        )
        job.resource_version = store.next_rv()
        store.jobs[name] = job
        labels = {
            **POD_LABELS,
            "batch.kubernetes.io/controller-uid": job.uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": job.uid,
            "job-name": name,
        }
        container = Container(
            name="certgen", image=IMAGE, args=job.args, env=(("POD_NAMESPACE", store.namespace),)
        )
        pod = Pod(
            name=pod_name,
            namespace=store.namespace,
            labels=labels,
            containers=[container],
            pod_ip=store.next_pod_ip(),
            owner=("Job", name, job.uid),
            service_account="certgen",
        )
        store.add_pod(pod)
        if store.cronjob is not None:
            store.cronjob.active.append(name)
            store.cronjob.last_schedule = scheduled
            store.touch(store.cronjob)
        return job, pod

    def _log(
        self, pod: Pod, msg: str, *, level: str = "info", caller: str = "run/run.go:46", **fields: object
    ) -> None:
        pod.containers[0].log.zap(level, _LOGGER, caller, msg, version="1.18.0", **fields)

    async def _run_job(self, job: Job, pod: Pod) -> None:
        succeeded = False
        reason = None
        try:
            if self.config.active_deadline is not None:
                await asyncio.wait_for(self._certgen(pod), self.config.active_deadline)
            else:
                await self._certgen(pod)
            succeeded = True
        except TimeoutError:
            reason = "DeadlineExceeded"
        except asyncio.CancelledError:
            reason = "Cancelled"
            raise
        except Exception as exc:  # a bug here must show up as a failed Job, not kill the lab
            self._log(pod, "execution failed", level="fatal", caller="cmd/main.go:38", error=str(exc))
            reason = "BackoffLimitExceeded"
        finally:
            self._finish(job, pod, succeeded, reason)

    def _finish(self, job: Job, pod: Pod, succeeded: bool, reason: str | None) -> None:
        store = self.store
        finished = now_utc()
        job.completed = finished
        job.succeeded = succeeded
        job.failure_reason = reason
        store.touch(job)
        pod.phase = "Succeeded" if succeeded else "Failed"
        container = pod.containers[0]
        container.ready = False
        container.terminated = (0, "Completed", finished) if succeeded else (143, "Error", finished)
        container.log.close()
        store.touch(pod)
        if store.cronjob is not None:
            if job.name in store.cronjob.active:
                store.cronjob.active.remove(job.name)
            if succeeded:
                store.cronjob.last_successful = finished
            store.touch(store.cronjob)
        with contextlib.suppress(RuntimeError):
            task = asyncio.get_running_loop().create_task(self._delete_later(job))
            self._cleanup.add(task)
            task.add_done_callback(self._cleanup.discard)

    async def _delete_later(self, job: Job) -> None:
        await asyncio.sleep(self.config.ttl_after_finished)
        self.store.jobs.pop(job.name, None)
        self.store.remove_pod(job.pod_name)

    async def _certgen(self, pod: Pod) -> None:
        """``jobs/pkg/run/run.go``: look at the existing secret, then create, rotate or skip."""
        ns = self.store.namespace
        self._log(pod, "starting certgen job, validated inputs", caller="run/run.go:48")
        self._log(
            pod,
            "looking for existing valid tls secret",
            caller="kube/secret.go:38",
            secretName=SECRET_NAME,
            secretNamespace=ns,
        )
        existing = self.store.secret.data if self.store.secret else None
        valid, expiring = self._check_existing(pod, existing)
        if not valid or existing is None:
            self._log(pod, "no existing valid secret, generating a new one...", caller="run/run.go:70")
            fresh = await asyncio.to_thread(certgen.generate, ns, svc=SVC_NAME)
            self._log(pod, "creating TLS secret", caller="kube/secret.go:112", secret=SECRET_NAME)
            if self.store.secret is not None:  # Create answered AlreadyExists: one full Update instead
                self._log(pod, "existing TLS secret found, attempting to update", caller="kube/secret.go:120")
            self.store.write_secret(fresh.secret())
        elif expiring or self.config.force_rotation:
            self._log(pod, "secret exists but need to rotate...", caller="run/run.go:80")
            await self._rotate(pod, existing)
        else:
            self._log(
                pod,
                "existing TLS secret found, skipping update to TLS secret since the old TLS secret "
                "is still valid",
                caller="run/run.go:84",
            )
        self._log(
            pod, "no ValidatingWebhookConfiguration provided. finished successfully.", caller="run/run.go:95"
        )

    def _check_existing(self, pod: Pod, existing: SecretData | None) -> tuple[bool, bool]:
        """``GetExistingValidTlsSecret``: ``(valid, expiring soon)``, judged on ``tls.crt`` alone."""
        if existing is None:
            self._log(pod, "failed to retrieve existing secret", level="warn", caller="kube/secret.go:42")
            return False, False
        certs = x509.load_pem_x509_certificates(existing.tls_crt)
        self._log(pod, f"found {len(certs)} certs", caller="kube/secret.go:58")
        now = now_utc()
        wanted = f"{SVC_NAME}.{self.store.namespace}.svc"
        for cert in certs:
            if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
                self._log(pod, "cert is expired or not yet valid", caller="kube/secret.go:64")
                return False, False
            try:
                sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                names = sans.get_values_for_type(x509.DNSName)
            except x509.ExtensionNotFound:
                names = []
            if wanted not in names:
                continue
            if now > cert.not_valid_after_utc - RENEW_BEFORE:
                self._log(pod, "cert is valid but expiring soon", caller="kube/secret.go:70")
                return True, True
            self._log(pod, "existing cert is valid!", caller="kube/secret.go:75")
            return True, False
        self._log(
            pod,
            "cert is not valid for given service",
            caller="kube/secret.go:80",
            svcName=SVC_NAME,
            svcNamespace=self.store.namespace,
        )
        return False, False

    async def _rotate(self, pod: Pod, old: SecretData) -> None:
        """``RotateCerts``: three full writes with a grace period of rotationDuration between them."""
        ns = self.store.namespace
        self._log(
            pod, "rotating secret", caller="kube/secret.go:160", secretName=SECRET_NAME, secretNamespace=ns
        )
        new = await asyncio.to_thread(certgen.generate, ns, svc=SVC_NAME)
        both = old.ca_crt if old.ca_crt.endswith(b"\n") else old.ca_crt + b"\n"
        both += new.ca_pem
        self._log(pod, "updating to both ca bundles", caller="kube/secret.go:172")
        self.store.write_secret(SecretData(ca_crt=both, tls_crt=old.tls_crt, tls_key=old.tls_key))
        self._log(pod, "waiting for ca bundle changes to be picked up", caller="kube/secret.go:177")
        await self._grace(pod, "ca bundles update")
        self._log(pod, "updating to new server cert", caller="kube/secret.go:185")
        self.store.write_secret(SecretData(ca_crt=both, tls_crt=new.leaf_pem, tls_key=new.key_pem))
        self._log(pod, "waiting for server cert changes to be picked up", caller="kube/secret.go:190")
        await self._grace(pod, "cert update")
        self._log(pod, "updating to new ca bundle", caller="kube/secret.go:198")
        self.store.write_secret(new.secret())
        self._log(pod, "secret has been updated", caller="kube/secret.go:203")

    async def _grace(self, pod: Pod, waiting_for: str) -> None:
        """``waitGracePeriod``: a start line, ``N seconds remaining`` every tick, then the end line."""
        total = self.config.rotation_duration
        loop = asyncio.get_running_loop()
        end = loop.time() + total
        self._log(
            pod,
            f"Starting a grace period for all pods to settle: {round(total)} seconds remaining",
            caller="kube/secret.go:221",
            waitingFor=waiting_for,
        )
        while (left := end - loop.time()) > 0:
            await asyncio.sleep(min(self.config.tick, left))
            left = end - loop.time()
            if left > 0.5:
                self._log(
                    pod,
                    f"{round(left)} seconds remaining",
                    caller="kube/secret.go:230",
                    waitingFor=waiting_for,
                )
        self._log(
            pod, "finished waiting for pods to settle", caller="kube/secret.go:236", waitingFor=waiting_for
        )
