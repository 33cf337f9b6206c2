"""``SecretSync``: a stand-in for kubed's config-syncer copying ``gloo-mtls-certs`` into another namespace,
of this cluster or of another one.

Two places real Gloo installs need such a copy (reference/real-clusters.md §4): split planes (the edge
cluster's release namespace holds a copy of the management cluster's secret; kubed's
``kubed.appscode.com/sync-contexts: <context>`` on the source) and a Kubernetes Gateway API proxy (a
kube-gateway runs in its Gateway's namespace and mounts a per-namespace copy; kubed's intra-cluster
``kubed.appscode.com/sync: <namespace selector>`` on the source, the target namespace labelled to match).
Either way kubed writes each copy as a full write by manager ``kubed`` with the same origin labels and
annotation, which is all one :class:`SecretSync` does.
"""

from __future__ import annotations

import asyncio
import json

from gloomon.domain.model import SECRET_NAME
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import NamespaceStore
from gloomon.tasks import cancel_and_wait

#: the copy's labels and annotation, as kubed's config-syncer sets them on every copy it writes
ORIGIN_ANNOTATION = "kubed.appscode.com/origin"
ORIGIN_NAME_LABEL = "kubed.appscode.com/origin.name"
ORIGIN_NAMESPACE_LABEL = "kubed.appscode.com/origin.namespace"
ORIGIN_CLUSTER_LABEL = "kubed.appscode.com/origin.cluster"
#: on the source secret: the kubeconfig contexts kubed copies it to (another cluster)
SYNC_CONTEXTS_ANNOTATION = "kubed.appscode.com/sync-contexts"
#: on the source secret: the label selector of the namespaces kubed copies it to (this cluster)
SYNC_ANNOTATION = "kubed.appscode.com/sync"
#: ``managedFields[0].manager`` of the copy
SYNC_MANAGER = "kubed"
#: seconds between a write of the source and the copy's write, unless a lab or fleet is given another
SYNC_DELAY = 3.0
#: the copy faults, as ``/lab/v1/faults/<name>`` takes them (``faults.py``)
SYNC_FAULTS = ("sync-lag", "freeze-sync", "remove-copy")


class SecretSync:
    """kubed copying ``gloo-mtls-certs`` from the namespace ``source`` to the namespace ``target``.

    ``origin_cluster`` is the source's cluster (the copy's ``origin.cluster`` label); ``rule`` the
    annotation that asks kubed for this copy on the source (``SYNC_CONTEXTS_ANNOTATION`` or
    ``SYNC_ANNOTATION``, and its value). Each write of the source reaches the target ``delay`` seconds
    later, in order, as a full write by manager ``kubed`` with kubed's origin labels and annotation.
    Faults: ``delay`` (a longer one), ``freeze`` (writes stop reaching the target; unfreezing copies the
    current source after the delay), ``remove_copy`` (the copy is deleted and no longer written, until
    ``restore_copy``).
    """

    def __init__(
        self,
        source: NamespaceStore,
        target: NamespaceStore,
        *,
        origin_cluster: str,
        rule: tuple[str, str],
        delay: float = SYNC_DELAY,
    ) -> None:
        self.source = source
        self.target = target
        self.origin_cluster = origin_cluster
        self.rule = rule
        self.delay = delay
        self.frozen = False
        self.missing = False
        #: copies written so far (the first one at install included)
        self.copies = 0
        self._pending: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        """Before the target's pods start: the copy as the sync already wrote it, and the source's watch."""
        source = self.source.secret
        assert source is not None, f"{self.source.namespace} has no {SECRET_NAME} yet"
        key, value = self.rule
        source.annotations[key] = value
        self._copy(source.data)
        self.source.on_secret(self._changed)

    def _changed(self, data: SecretData) -> None:
        if self.frozen or self.missing:
            return
        self._schedule(data)

    def _schedule(self, data: SecretData) -> None:
        task = asyncio.get_running_loop().create_task(self._copy_later(data), name="secret-sync")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _copy_later(self, data: SecretData) -> None:
        await asyncio.sleep(self.delay)
        if not (self.frozen or self.missing):
            self._copy(data)

    def _copy(self, data: SecretData) -> None:
        source = self.source.secret
        origin = {
            "namespace": self.source.namespace,
            "name": SECRET_NAME,
            "uid": source.uid if source else "",
            "resourceVersion": str(source.resource_version) if source else "",
        }
        labels = {
            ORIGIN_NAME_LABEL: SECRET_NAME,
            ORIGIN_NAMESPACE_LABEL: self.source.namespace,
            ORIGIN_CLUSTER_LABEL: self.origin_cluster,
        }
        self.target.write_secret(
            data,
            manager=SYNC_MANAGER,
            labels=labels,
            annotations={ORIGIN_ANNOTATION: json.dumps(origin, separators=(",", ":"))},
        )
        self.copies += 1

    def freeze(self, frozen: bool = True) -> None:
        """Stop copying (a stuck sync); unfreezing copies the source's current secret after the delay."""
        was, self.frozen = self.frozen, frozen
        if was and not frozen and not self.missing and self.source.secret is not None:
            self._schedule(self.source.secret.data)

    def remove_copy(self) -> None:
        """The copy is deleted from the target and the sync no longer writes it (running pods keep
        their mounted files, as kubelet does; a new pod could not mount it)."""
        self.missing = True
        self.target.delete_secret()

    def restore_copy(self) -> None:
        """The sync writes the copy again (now, not after the delay: a re-created sync rule)."""
        self.missing = False
        if self.source.secret is not None:
            self._copy(self.source.secret.data)

    async def stop(self) -> None:
        self.source.off_secret(self._changed)
        await cancel_and_wait(*self._pending)
