"""gloo's validation webhook in the lab: the certificate gloo serves on its 8443, and the gateway-certgen
Job that writes ``gateway-validation-certs`` and patches the webhook configuration's ``caBundle``.

:class:`WebhookServer` is real TLS on a loopback port that stands for the gloo pod's 8443 in its
``port_map`` (so the API's port-forward reaches it): it presents the secret's ``tls.crt`` as loaded when
gloo (re)started, as gloo reads ``/etc/gateway/validation-certs``. :class:`WebhookCertgen` seeds the
scenario's history and runs the Helm hook Job ``gateway-certgen`` as Gloo's chart renders it
(``6.5-gateway-certgen-job.yaml``): args ``--secret-name=gateway-validation-certs --svc-name=gloo
--validating-webhook-configuration-name=gloo-gateway-validation-webhook-<ns> --force-rotation=true``,
labels ``gloo=gateway-certgen``, certgen's log lines (logger ``gencert``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from gloomon.domain.model import WEBHOOK_CERTGEN_JOB, WEBHOOK_SECRET_NAME, webhook_config_name
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.certs import GeneratedCerts, SecretData
from gloomon.lab.cluster.store import Container, Job, NamespaceStore, Pod, WebhookConfiguration
from gloomon.lab.cluster.util import name_suffix, now_utc
from gloomon.lab.pods.certgen_job import IMAGE
from gloomon.tasks import cancel_and_wait

#: the webhook's pod labels (the Job's pod template) and the Job's own ``gloo`` label
LABELS = {"gloo": WEBHOOK_CERTGEN_JOB, "sidecar.istio.io/inject": "false"}
_LOGGER = "gencert"


class WebhookServer:
    """gloo's webhook TLS endpoint on ``127.0.0.1:<port>``; :meth:`load` is what a gloo start reads."""

    def __init__(self, workdir: Path) -> None:
        self._dir = workdir
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0
        #: the ``tls.crt`` presented now
        self.serving: bytes = b""

    def load(self, data: SecretData) -> None:
        """Present ``data``'s certificate from the next handshake on (gloo restarted with this secret)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        cert, key = self._dir / "tls.crt", self._dir / "tls.key"
        cert.write_bytes(data.tls_crt)
        key.touch(mode=0o600)
        key.write_bytes(data.tls_key)
        try:
            self._context.load_cert_chain(cert, key)
        finally:
            key.unlink()
        self.serving = data.tls_crt

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Hold the connection until the client ends it (a handshake is all gloomon asks for)."""
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while await reader.read(4096):
                pass
        except (OSError, ssl.SSLError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await cancel_and_wait(*self._connections)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None


@dataclass(frozen=True, slots=True)
class WebhookSetup:
    """How a scenario finds the webhook (see :mod:`gloomon.lab.scenarios`)."""

    #: the leaf's days left: negative for an expired certificate (no Job renewed it)
    days_left: float | None = None
    #: after an upgrade: certgen wrote a new CA and leaf, gloo serves them, the caBundle keeps the old CA
    stale_ca_bundle: bool = False
    #: the certificate was made for this service name (an older install's ``gateway``)
    service: str = "gloo"
    #: this many gateway-certgen Jobs in the last hour, each making a new CA (ArgoCD re-syncing)
    syncs: int = 0
    failure_policy: str = "Ignore"


class WebhookCertgen:
    """Writes the webhook's secret and caBundle as the scenario has them, and runs gateway-certgen Jobs."""

    def __init__(self, store: NamespaceStore, setup: WebhookSetup) -> None:
        self.store = store
        self.setup = setup
        self.namespace = store.namespace

    def args(self) -> tuple[str, ...]:
        return (
            f"--secret-name={WEBHOOK_SECRET_NAME}",
            "--svc-name=gloo",
            f"--validating-webhook-configuration-name={webhook_config_name(self.namespace)}",
            "--force-rotation=true",
        )

    def install(self) -> None:
        """The state at lab start (runs in a thread: it makes RSA keys)."""
        setup, store, now = self.setup, self.store, now_utc()
        store.cluster.webhook_config = WebhookConfiguration(
            webhook_config_name(self.namespace), failure_policy=setup.failure_policy
        )
        store.touch(store.cluster.webhook_config)
        if setup.days_left is not None:
            made = now - (certgen.LEAF_VALIDITY - timedelta(days=setup.days_left))
            self._write(certgen.generate(self.namespace, now=made), made)
        elif setup.stale_ca_bundle:  # the upgrade's Job wrote the secret, not the caBundle; gone since (TTL)
            old_at, new_at = now - timedelta(days=40), now - timedelta(minutes=3)
            self._write(certgen.generate(self.namespace, now=old_at), old_at)
            new = certgen.generate(self.namespace, now=new_at)
            store.write_webhook_secret(WEBHOOK_SECRET_NAME, new.secret(), at=new_at)
        elif setup.service != "gloo":
            made = now - timedelta(days=30)
            self._write(certgen.generate(self.namespace, now=made, svc=setup.service), made)
        elif setup.syncs:
            for index in range(setup.syncs):
                self.run(now - timedelta(minutes=5 + 15 * (setup.syncs - 1 - index)), keep=True)
        else:  # installed 10 minutes ago; the hook Job left after ttlSecondsAfterFinished
            made = now - timedelta(minutes=10)
            self._write(certgen.generate(self.namespace, now=made), made)

    def _write(self, made: GeneratedCerts, at: datetime) -> None:
        self.store.write_webhook_secret(WEBHOOK_SECRET_NAME, made.secret(), at=at)
        self._patch(made.ca_pem)

    def _patch(self, ca_bundle: bytes) -> None:
        config = self.store.cluster.webhook_config
        assert config is not None
        config.ca_bundle = ca_bundle
        self.store.touch(config)

    def run(self, at: datetime, *, keep: bool = False) -> Job:
        """One gateway-certgen run at ``at``: force rotation makes a new CA and leaf every time, then the
        caBundle is patched. A ``keep`` Job stays listed (ArgoCD's hook Jobs; their pods long collected);
        otherwise the Job and its pod go after ``ttlSecondsAfterFinished`` (:meth:`forget_finished`)."""
        store = self.store
        name = WEBHOOK_CERTGEN_JOB if not keep else f"{WEBHOOK_CERTGEN_JOB}-{name_suffix()}"
        job = Job(
            name=name,
            labels={"gloo": WEBHOOK_CERTGEN_JOB, "gloo.solo.io/component": "certgen"},
            pod_name=f"{name}-{name_suffix()}",
            owner_cronjob=None,
            args=self.args(),
            created=at,
            completed=at + timedelta(seconds=2),
            succeeded=True,
            ttl_seconds_after_finished=None if keep else 60,
            pod_labels=dict(LABELS),
        )
        store.touch(job)
        store.jobs[name] = job
        made = certgen.generate(self.namespace, now=at)
        store.write_webhook_secret(WEBHOOK_SECRET_NAME, made.secret(), at=at)
        self._patch(made.ca_pem)
        if not keep:
            self._job_pod(job, at)
        return job

    def _job_pod(self, job: Job, at: datetime) -> None:
        """The Job's pod, completed, with certgen's lines."""
        store, name = self.store, job.name
        container = Container(
            name="certgen",
            image=IMAGE,
            args=job.args,
            env=(("POD_NAMESPACE", self.namespace),),
            started_at=at,
            ready=False,
            terminated=(0, "Completed", at + timedelta(seconds=2)),
        )
        pod = Pod(
            name=job.pod_name,
            namespace=self.namespace,
            labels={
                **LABELS,
                "batch.kubernetes.io/controller-uid": job.uid,
                "batch.kubernetes.io/job-name": name,
                "controller-uid": job.uid,
                "job-name": name,
            },
            containers=[container],
            pod_ip=store.next_pod_ip(),
            owner=("Job", name, job.uid),
            created=at,
            phase="Succeeded",
            service_account="certgen",
        )
        store.add_pod(pod)
        self._log(container, "starting certgen job, validated inputs")
        self._log(container, "secret exists but need to rotate...")
        self._log(container, "secret has been updated")
        self._log(
            container, "patching validating webhook configuration", vwc=webhook_config_name(self.namespace)
        )
        self._log(container, "finished successfully.")
        container.log.close()

    @staticmethod
    def _log(container: Container, msg: str, **fields: object) -> None:
        container.log.zap("info", _LOGGER, "run/run.go:46", msg, version="1.18.0", **fields)

    async def forget_finished(self, ttl: float) -> None:
        """``ttlSecondsAfterFinished``: the Helm hook Job and its pod are deleted ``ttl`` s after it ends."""
        await asyncio.sleep(ttl)
        job = self.store.jobs.get(WEBHOOK_CERTGEN_JOB)
        if job is not None and job.ttl_seconds_after_finished is not None:
            del self.store.jobs[WEBHOOK_CERTGEN_JOB]
            self.store.remove_pod(job.pod_name)
