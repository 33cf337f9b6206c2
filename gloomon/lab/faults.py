"""The lab's faults (``Lab`` inherits them): what goes wrong, triggered from Python or through the API
façade's ``/lab/v1/faults/<name>`` endpoint (``_fault``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gloomon.domain.model import SECRET_NAME, Component
from gloomon.lab.cluster.util import now_utc
from gloomon.lab.secret_sync import SYNC_FAULTS

if TYPE_CHECKING:
    from gloomon.lab.api.server import ApiServer
    from gloomon.lab.cluster.store import NamespaceStore
    from gloomon.lab.gateway_deployer import GatewayDeployer
    from gloomon.lab.pods.certgen_job import CertgenConfig, CertgenRunner
    from gloomon.lab.pods.deployments import ComponentSpec
    from gloomon.lab.pods.runtime import PodRuntime
    from gloomon.lab.pods.webhook import WebhookCertgen, WebhookServer
    from gloomon.lab.secret_sync import SecretSync


class LabFaults:
    """Fault methods over the state a :class:`gloomon.lab.lab.Lab` holds."""

    store: NamespaceStore
    #: the syncs writing a copy of the secret into this cluster, by the namespace they write to
    syncs: dict[str, SecretSync]
    #: gloo's Gateway deployer rendering the copy into each Gateway's namespace, by that namespace
    deployers: dict[str, GatewayDeployer]
    api: ApiServer | None
    certgen: CertgenRunner | None
    certgen_config: CertgenConfig
    runtimes: dict[str, PodRuntime]
    webhook: WebhookServer | None
    webhook_certgen: WebhookCertgen
    _webhook_ttl: asyncio.Task[None] | None

    def runtime(self, pod: str) -> PodRuntime:
        raise NotImplementedError

    def _runtime(self, component: Component, slot: int, spec: ComponentSpec | None = None) -> PodRuntime:
        raise NotImplementedError

    async def restart_pod(self, pod: str) -> str:
        """Delete the pod; its ReplicaSet makes a new one (new name, new Envoy, restartCount 0)."""
        old = self.runtime(pod)
        secret = old.store.secret  # the pod mounts its own namespace's secret
        if secret is None:
            raise ValueError(f"pod {pod}: no {SECRET_NAME} in {old.store.namespace} for a new pod to mount")
        gloo = old.spec.component is Component.GLOO
        self._deployers_running(False, gloo)
        await old.stop()
        del self.runtimes[pod]
        old.store.remove_pod(pod)
        if old.spec.component is Component.GLOO and self.webhook and self.store.webhook_secret:
            self.webhook.load(self.store.webhook_secret.data)  # a new gloo reads the current secret
        new = self._runtime(old.spec.component, old.slot, old.spec)
        try:
            await new.start(secret.data)
        except BaseException:
            await new.stop()
            del self.runtimes[new.name]
            new.store.remove_pod(new.name)
            raise
        self._deployers_running(True, gloo)  # the new gloo reconciles every Gateway at its start
        return new.name

    def _deployers_running(self, running: bool, gloo: bool = True) -> None:
        """gloo's process stops or starts (``gloo``: it is gloo's pod): so does its Gateway deployer."""
        for deployer in self.deployers.values() if gloo else ():
            deployer.gloo_process(up=running)

    async def restart_container(self, pod: str) -> None:
        """The pod's Envoy container crashes and restarts in place (same name, restartCount + 1)."""
        await self.runtime(pod).restart_envoy_container()

    async def gloo_process_down(self, down: bool = True) -> None:
        """gloo's own process goes down (its ADS on 9999 gone, its Gateway deployer stopped: the copies it
        renders freeze) or comes back (and reconciles every Gateway); its envoy-sidecar stays up."""
        for runtime in list(self.runtimes.values()):
            if runtime.spec.component is Component.GLOO:
                await runtime.gloo_process(down=down)
        self._deployers_running(not down)

    def freeze_pod(self, pod: str, frozen: bool = True) -> None:
        """Stop (or resume) secret updates reaching ``pod`` (a stuck kubelet volume refresh)."""
        self.runtime(pod).sds.frozen = frozen

    async def cut_port_forwards(self) -> int:
        assert self.api is not None
        return self.api.streams.cut_forwards()

    async def cut_log_streams(self) -> int:
        assert self.api is not None
        return self.api.streams.cut_logs()

    async def api_outage(self, seconds: float) -> None:
        """The API is unreachable (connection refused) for ``seconds``; returns when the outage began."""
        assert self.api is not None
        await self.api.outage(seconds)

    def forbid_secrets(self, forbidden: bool = True, namespace: str | None = None) -> None:
        """403 on secrets in every namespace, or only in ``namespace`` (no RoleBinding there)."""
        assert self.api is not None
        if namespace is None:
            self.api.forbid_secrets = forbidden
        elif namespace not in self.store.cluster.namespaces:
            raise ValueError(f"no namespace {namespace} in this cluster")
        elif forbidden:
            self.api.forbid_secrets_in.add(namespace)
        else:
            self.api.forbid_secrets_in.discard(namespace)

    def forbid_webhooks(self, forbidden: bool = True) -> None:
        """403 on the cluster-scoped ValidatingWebhookConfigurations (RBAC with a namespaced Role only)."""
        assert self.api is not None
        self.api.forbid_webhooks = forbidden

    async def renew_webhook(self) -> None:
        """A gateway-certgen run now (``helm upgrade``'s hook): a new CA and certificate in
        ``gateway-validation-certs`` and the caBundle; gloo serves the new one only once restarted."""
        await asyncio.to_thread(self.webhook_certgen.run, now_utc())
        if self._webhook_ttl is not None:
            self._webhook_ttl.cancel()
        ttl = self.certgen_config.ttl_after_finished
        self._webhook_ttl = asyncio.get_running_loop().create_task(self.webhook_certgen.forget_finished(ttl))

    async def rotate_now(self) -> asyncio.Task[None]:
        """Start a certgen run now; the returned task ends when the Job finishes."""
        assert self.certgen is not None
        return self.certgen.run_now()

    async def _fault(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if name == "restart-pod":
            return {"pod": await self.restart_pod(str(body["pod"]))}
        if name == "restart-container":
            await self.restart_container(str(body["pod"]))
            return {}
        if name == "cut-forwards":
            return {"cut": await self.cut_port_forwards()}
        if name == "cut-logs":
            return {"cut": await self.cut_log_streams()}
        if name == "api-outage":
            await self.api_outage(float(body.get("seconds", 5.0)))
            return {}
        if name == "forbid-secrets":
            self.forbid_secrets(bool(body.get("enabled", True)), _namespace(body))
            return {}
        if name == "forbid-webhooks":
            self.forbid_webhooks(bool(body.get("enabled", True)))
            return {}
        if name == "renew-webhook":
            await self.renew_webhook()
            return {}
        if name == "rotate":
            await self.rotate_now()
            return {}
        if name == "gloo-process-down":
            await self.gloo_process_down(bool(body.get("enabled", True)))
            return {}
        if name == "freeze-pod":
            self.freeze_pod(str(body["pod"]), bool(body.get("enabled", True)))
            return {}
        if name == "scan":
            return {"sweeps": await self.scan(int(body.get("sweeps", 1)))}
        if name in SYNC_FAULTS:
            return self._sync_fault(name, body)
        raise KeyError(f"unknown fault {name!r}")

    def sync(self, namespace: str | None = None) -> SecretSync:
        """The sync writing the secret's copy into ``namespace`` (default: the release namespace, an edge
        cluster's copy of its management cluster's secret)."""
        namespace = namespace or self.store.namespace
        found = self.syncs.get(namespace)
        if namespace in self.deployers:
            raise ValueError(
                f"the copy of {SECRET_NAME} in namespace {namespace} is no sync's: gloo's Gateway deployer "
                f"renders it (owner {self.deployers[namespace].owner}) at once after each write of the "
                f"source, while gloo's process runs; stop it with gloo-process-down"
            )
        if found is None:
            copies = ", ".join(sorted(self.syncs)) or "none in this cluster"
            raise ValueError(f"no synced copy of {SECRET_NAME} in namespace {namespace} (copies: {copies})")
        return found

    def _sync_fault(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """sync-lag ``{"seconds": N}``, freeze-sync and remove-copy ``{"enabled": bool}``, each with an
        optional ``"namespace"`` naming the copy (default: the release namespace's). On a copy gloo's
        Gateway deployer renders only remove-copy applies (gloo re-creates it at its next reconcile)."""
        deployer = self.deployers.get(_namespace(body) or "")
        if deployer is not None and name == "remove-copy":
            if bool(body.get("enabled", True)):
                deployer.remove_copy()
            else:
                deployer.restore_copy()
            return {"namespace": deployer.target.namespace, "owner": deployer.owner}
        sync = self.sync(_namespace(body))
        if name == "sync-lag":
            sync.delay = float(body.get("seconds", sync.delay))
            return {"delay": sync.delay, "namespace": sync.target.namespace}
        enabled = bool(body.get("enabled", True))
        if name == "freeze-sync":
            sync.freeze(enabled)
        elif enabled:
            sync.remove_copy()
        else:
            sync.restore_copy()
        return {"namespace": sync.target.namespace}

    async def scan(self, sweeps: int = 1) -> int:
        """User traffic noise (``scanner.py``): ``sweeps`` rounds of plaintext, junk and untrusted clients
        against the gateway-proxy serving user TLS (``Lab(user_https=True)``); the rounds done."""
        from gloomon.lab.scanner import Scanner

        scanner = Scanner.for_lab(self)
        for _ in range(sweeps):
            await scanner.sweep()
        return scanner.sweeps


def _namespace(body: dict[str, Any]) -> str | None:
    """A fault body's optional ``"namespace"``."""
    namespace = body.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise TypeError(f"namespace must be a string, not {namespace!r}")
    return namespace
