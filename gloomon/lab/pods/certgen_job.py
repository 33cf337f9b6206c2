"""The certgen Job/CronJob: Gloo's decision logic and three-phase rotation (reference/gloo-mtls.md §4),
and how its runs really fail (real-clusters.md §5).

Each run is a Job with one pod (``gloo-mtls-certgen-cronjob-<minutes>-<suffix>``, label
``gloo=gloo-mtls-certs``) whose ``certgen`` container logs certgen's zap-JSON lines (logger ``gencert``)
while it rewrites the ``gloo-mtls-certs`` secret: both CAs → wait → new leaf → wait → new CA only. The
CronJob's status (lastScheduleTime, lastSuccessfulTime, active) follows the runs; finished Jobs and their
pods disappear ``ttl_after_finished`` seconds later, as with ``ttlSecondsAfterFinished``.

Failures (:class:`CertgenConfig` ``failure``, ``service_account_missing``, ``active_deadline``) are the job
controller's and the kubelet's: a certgen that exits 1 shows ``Error`` then ``CrashLoopBackOff`` and is
restarted in place (``restartPolicy: OnFailure``) until ``backoffLimit`` (``BackoffLimitExceeded``); a
run past ``activeDeadlineSeconds`` is killed with no log line (certgen has no signal handler:
``DeadlineExceeded``); either way the job controller deletes the pod and records a Warning event on the
Job. Without its ServiceAccount a Job creates no pod and collects ``FailedCreate`` events.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

from cryptography import x509

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import Container, CronJob, Job, NamespaceStore, Pod
from gloomon.lab.cluster.util import name_suffix, now_utc
from gloomon.lab.pods.certgen_config import SVC_NAME, CertgenConfig
from gloomon.lab.pods.sds import GLOO_VERSION
from gloomon.tasks import cancel_and_wait

CRONJOB_NAME = "gloo-mtls-certgen-cronjob"
#: label ``gloo=`` of the certgen Jobs (Helm's Job ``gloo-mtls-certgen``).
JOB_LABEL = "gloo-mtls-certgen"
#: labels of the certgen Jobs' pods (``gloo=gloo-mtls-certs``; Helm's pod template).
POD_LABELS = {"gloo": "gloo-mtls-certs", "sidecar.istio.io/inject": "false"}
IMAGE = f"quay.io/solo-io/certgen:{GLOO_VERSION}"
RENEW_BEFORE = timedelta(days=90)
_LOGGER = "gencert"


class CertgenExit(Exception):
    """certgen's process exits non-zero (``log.Fatalf`` after an API error)."""


class CertgenRunner:
    """Schedules and runs certgen Jobs against the store's secret."""

    def __init__(self, store: NamespaceStore, config: CertgenConfig) -> None:
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
            await cancel_and_wait(*tasks)

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
            backoff_limit=self.config.backoff_limit,
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
        if not self.config.service_account_missing:
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
            work = self._cannot_start(job) if pod.name not in self.store.pods else self._attempts(job, pod)
            async with asyncio.timeout(self.config.active_deadline):  # None: no deadline
                await work
            succeeded = True
        except TimeoutError:  # killed: certgen has no signal handler, so it logs nothing
            reason = "DeadlineExceeded"
        except CertgenExit:
            reason = "BackoffLimitExceeded"
        except asyncio.CancelledError:
            reason = "Cancelled"
            raise
        except Exception as exc:  # a bug here must show up as a failed Job, not kill the lab
            self._log(pod, "execution failed", level="fatal", caller="cmd/main.go:38", error=str(exc))
            reason = "BackoffLimitExceeded"
        finally:
            self._finish(job, pod, succeeded, reason)

    async def _attempts(self, job: Job, pod: Pod) -> None:
        """``restartPolicy: OnFailure``: a certgen that exits is restarted in place after the kubelet's
        back-off (the pod shows ``CrashLoopBackOff``, its restarts count) until ``backoffLimit``."""
        container = pod.containers[0]
        backoff = self.config.retry_backoff
        while True:
            try:
                await self._certgen(pod)
                return
            except CertgenExit:
                exited = now_utc()
                container.terminated = (1, "Error", exited)  # STATUS Error, until the kubelet backs off
                container.ready = False
                self.store.touch(pod)
                if container.restart_count >= job.backoff_limit:
                    raise
            await asyncio.sleep(backoff / 2)
            container.exited(1, "Error", exited)
            container.waiting_reason = "CrashLoopBackOff"
            self.store.touch(pod)
            await asyncio.sleep(backoff / 2)
            backoff = min(backoff * 2, 300.0)
            container.waiting_reason = None
            container.restart()
            container.ready = True
            self.store.touch(pod)

    async def _cannot_start(self, job: Job) -> None:
        """The job controller cannot create the pod: a ``FailedCreate`` event per try, backing off."""
        ns = self.store.namespace
        message = (
            f'Error creating: pods "{job.name}-" is forbidden: error looking up service account '
            f'{ns}/certgen: serviceaccount "certgen" not found'
        )
        backoff = self.config.retry_backoff
        while True:
            self.store.record_event("Job", job.name, job.uid, "FailedCreate", message, "job-controller")
            self.store.touch(job)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 360.0)

    def _finish(self, job: Job, pod: Pod, succeeded: bool, reason: str | None) -> None:
        store = self.store
        finished = now_utc()
        job.completed = finished
        job.succeeded = succeeded
        job.failure_reason = reason
        container = pod.containers[0]
        container.ready = False
        if succeeded:
            pod.phase = "Succeeded"
            container.terminated = (0, "Completed", finished)
            container.log.close()
            store.touch(pod)
        else:
            # the job controller deletes a failed Job's running pod (deadline, or backoff limit with
            # restartPolicy OnFailure): its logs go with it; status.failed counts it
            if store.remove_pod(pod.name) is not None:
                job.failed_pods += 1
            if reason in ("DeadlineExceeded", "BackoffLimitExceeded"):
                words = "was active longer than specified deadline"
                if reason == "BackoffLimitExceeded":
                    words = "has reached the specified backoff limit"
                store.record_event("Job", job.name, job.uid, reason, f"Job {words}", "job-controller")
        store.touch(job)
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
        if self.config.failure == "forbidden":
            await asyncio.sleep(self.config.failing_after)
            error = (
                f'secrets "{SECRET_NAME}" is forbidden: User "system:serviceaccount:{ns}:certgen" cannot '
                f'update resource "secrets" in API group "" in the namespace "{ns}"'
            )
            self._log(pod, "execution failed", level="fatal", caller="cmd/main.go:38", error=error)
            raise CertgenExit(error)
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
