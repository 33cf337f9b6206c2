"""``GatewayDeployer``: a stand-in for gloo's Kubernetes Gateway API deployer rendering its Gateway's copy
of ``gloo-mtls-certs`` (Gloo 1.19+ under ``glooMtls``; reference/real-clusters.md §4).

Read in solo-io/gloo (``8d57572e55``): ``projects/gateway2/deployer/deployer.go`` ``getHelmTlsSecretData``
reads ``gloo-mtls-certs`` from the control plane's namespace and renders it, through the gateway2 chart's
``proxy-deployment.yaml`` (its first object: ``kind: Secret``, ``ca.crt``/``tls.crt``/``tls.key``, type
``kubernetes.io/tls``, no labels), into the Gateway's namespace beside the proxy Deployment; every object
is server-side applied (field manager ``solo.io/gloo-gateway``, ``ForceOwnership``) with a controller
ownerReference to the Gateway. ``projects/gateway2/controller/controller.go`` re-queues every Gateway on
each change of the source (glooMtls makes the controller watch Secrets), and the Gateway that owns a
rendered object on each event of that object (``Owns``: its deletion too), so the copy follows the
source at once, and a deleted copy comes back at once, while gloo's process runs. Down, nothing renders:
the copy freezes (or stays missing) until gloo starts again and reconciles every Gateway.
"""

from __future__ import annotations

import asyncio

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import NamespaceStore, new_uid
from gloomon.tasks import cancel_and_wait

#: ``wellknown.GatewayControllerName``: the controller name and the field manager of every applied object
DEPLOYER_MANAGER = "solo.io/gloo-gateway"
#: the ownerReference's apiVersion and kind (``deployer.go`` copies the Gateway's own)
GATEWAY_API = ("gateway.networking.k8s.io/v1", "Gateway")


class GatewayDeployer:
    """gloo's deployer rendering the copy of ``gloo-mtls-certs`` for the Gateway ``gateway`` in the
    namespace of ``target``, from the control plane's namespace ``source``.

    Reconciles (the copy applied from the source's current content) on each write of the source and on
    the copy's deletion while ``running`` (gloo's process up), and when gloo's process starts. Faults:
    :meth:`gloo_process` (down: no reconcile), :meth:`remove_copy` (the copy deleted; re-created at once
    unless gloo is down).
    """

    def __init__(self, source: NamespaceStore, target: NamespaceStore, gateway: str) -> None:
        self.source = source
        self.target = target
        self.gateway = gateway
        self.gateway_uid = new_uid()
        self.running = True
        #: reconciles that applied the copy (the first one, at install, included)
        self.renders = 0
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def owner(self) -> str:
        """``Gateway apps/http``: what the copy's ownerReference names."""
        return f"{GATEWAY_API[1]} {self.target.namespace}/{self.gateway}"

    def install(self) -> None:
        """Before the Gateway's pods start: the copy as gloo already rendered it, and the source's watch."""
        assert self.source.secret is not None, f"{self.source.namespace} has no {SECRET_NAME} yet"
        self._reconcile()
        self.source.on_secret(self._source_written)

    def _source_written(self, _data: SecretData) -> None:
        if self.running:
            self._reconcile()

    def _reconcile(self) -> None:
        """Server-side apply of the copy from the source's current content (all three keys, as rendered)."""
        source = self.source.secret
        if source is None:  # getHelmTlsSecretData: "failed to get gloo mtls secret"; nothing is applied
            return
        copy = self.target.write_secret(
            source.data,
            manager=DEPLOYER_MANAGER,
            operation="Apply",
            owner=(*GATEWAY_API, self.gateway, self.gateway_uid),
        )
        copy.missing = source.missing
        self.renders += 1

    def gloo_process(self, *, up: bool) -> None:
        """gloo's process stops (nothing reconciles) or starts (its controller reconciles every Gateway)."""
        self.running = up
        if up:
            self._reconcile()

    def remove_copy(self) -> None:
        """The copy is deleted (running pods keep their mounted files); its owner's controller sees the
        delete event and applies it again, a moment later, while gloo's process runs."""
        self.target.delete_secret()
        if self.running:
            task = asyncio.get_running_loop().create_task(self._requeued(), name="gateway-deployer")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _requeued(self) -> None:
        await asyncio.sleep(0)  # the delete event reaches the controller's queue after the deletion
        if self.running and self.target.secret is None:
            self._reconcile()

    def restore_copy(self) -> None:
        """A reconcile now (there is no sync rule to restore: gloo applies the copy whenever it runs)."""
        if self.running:
            self._reconcile()

    async def stop(self) -> None:
        self.source.off_secret(self._source_written)
        await cancel_and_wait(*self._pending)
