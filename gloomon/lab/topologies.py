"""Fleet topologies (several clusters, one kubeconfig) and the secret sync that split planes rely on.

A :class:`Topology` is data: which clusters (kubeconfig contexts) a :class:`gloomon.lab.fleet.LabFleet`
starts, what runs in each, and which cluster's gloo an edge cluster's proxies dial.

- ``two-clusters``: ``east`` and ``west``, two independent installs, each with its own certgen, CA and
  ``gloo-mtls-certs``.
- ``split-planes``: ``mgmt`` runs gloo and certgen; ``edge`` runs only gateway-proxies and extauth,
  whose xDS link crosses to ``mgmt``'s gloo. The edge cluster has no certgen Job or CronJob: its
  ``gloo-mtls-certs`` is a **copy** that a sync tool (:class:`SecretSync`, a stand-in for kubed's
  config-syncer with ``kubed.appscode.com/sync-contexts: edge`` on the source) writes after a delay.

How the edge proxies reach gloo: the chart's bootstrap is unchanged (``gloo.gloo-system.svc.cluster.local:
9977``, ``alt_stat_name: xds_cluster``); the user made ``gloo`` in the edge cluster an ExternalName
Service for the management cluster's gloo load balancer, so the edge Envoys' xDS cluster names the same
hostname as in a single cluster. On loopback that hostname leads to the management lab's gloo listener
ports (``Lab.management``). The edge API serves that Service: ``gloo``, type ExternalName, naming
``gloo-xds.<management cluster>.example.internal`` (``Lab.management_address``), gloo's xDS ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gloomon.domain.model import SECRET_NAME, Component
from gloomon.lab.cluster.certs import SecretData

if TYPE_CHECKING:
    from gloomon.lab.lab import Lab

#: the copy's labels and annotation, as kubed's config-syncer sets them on every copy it writes
ORIGIN_ANNOTATION = "kubed.appscode.com/origin"
ORIGIN_NAME_LABEL = "kubed.appscode.com/origin.name"
ORIGIN_NAMESPACE_LABEL = "kubed.appscode.com/origin.namespace"
ORIGIN_CLUSTER_LABEL = "kubed.appscode.com/origin.cluster"
#: on the source secret: the kubeconfig contexts kubed copies it to
SYNC_CONTEXTS_ANNOTATION = "kubed.appscode.com/sync-contexts"
#: ``managedFields[0].manager`` of the copy
SYNC_MANAGER = "kubed"
#: seconds between a write of the source and the copy's write, unless a fleet is given another
SYNC_DELAY = 3.0

FULL = {Component.GLOO: 1, Component.GATEWAY_PROXY: 2, Component.EXTAUTH: 1, Component.RATE_LIMIT: 1}


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """One cluster of a topology: its context, its pods, and (edge) the context whose gloo it dials."""

    context: str
    replicas: dict[Component, int] = field(default_factory=lambda: dict(FULL))
    management: str | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    summary: str
    clusters: tuple[ClusterPlan, ...]


TOPOLOGIES: dict[str, Topology] = {
    t.name: t
    for t in (
        Topology(
            "two-clusters",
            "two independent installs (contexts east and west), each with its own certgen CA and secret",
            (ClusterPlan("east"), ClusterPlan("west")),
        ),
        Topology(
            "split-planes",
            "gloo and certgen in mgmt; edge runs gateway-proxies and extauth on mgmt's gloo, with a synced"
            " copy of gloo-mtls-certs",
            (
                ClusterPlan("mgmt", {Component.GLOO: 1}),
                ClusterPlan("edge", {Component.GATEWAY_PROXY: 2, Component.EXTAUTH: 1}, management="mgmt"),
            ),
        ),
    )
}


def get(name: str) -> Topology:
    try:
        return TOPOLOGIES[name]
    except KeyError:
        raise ValueError(f"unknown topology {name!r}; choose one of: {', '.join(TOPOLOGIES)}") from None


class SecretSync:
    """A stand-in for kubed's config-syncer copying ``gloo-mtls-certs`` from ``source`` to ``target``.

    Each write of the source reaches the target ``delay`` seconds later, in order, as a full write by
    manager ``kubed`` with kubed's origin labels and annotation. Faults: ``lag`` (a longer delay),
    ``frozen`` (writes stop reaching the target; unfreezing copies the current source after the delay),
    ``remove_copy`` (the copy is deleted and no longer written, until ``restore_copy``).
    """

    def __init__(self, source: Lab, target: Lab, delay: float = SYNC_DELAY) -> None:
        self.source = source
        self.target = target
        self.delay = delay
        self.frozen = False
        self.missing = False
        #: copies written so far (the first one at install included)
        self.copies = 0
        self._pending: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        """Before the edge lab starts: the copy as the sync already wrote it, and the source's watch."""
        source = self.source.store.secret
        assert source is not None, "the source lab has no secret yet"
        source.annotations[SYNC_CONTEXTS_ANNOTATION] = self.target.context
        self._copy(source.data)
        self.source.store.on_secret(self._changed)

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
        source = self.source.store.secret
        origin = {
            "namespace": self.source.namespace,
            "name": SECRET_NAME,
            "uid": source.uid if source else "",
            "resourceVersion": str(source.resource_version) if source else "",
        }
        labels = {
            ORIGIN_NAME_LABEL: SECRET_NAME,
            ORIGIN_NAMESPACE_LABEL: self.source.namespace,
            ORIGIN_CLUSTER_LABEL: self.source.cluster,
        }
        self.target.store.write_secret(
            data,
            manager=SYNC_MANAGER,
            labels=labels,
            annotations={ORIGIN_ANNOTATION: json.dumps(origin, separators=(",", ":"))},
        )
        self.copies += 1

    def freeze(self, frozen: bool = True) -> None:
        """Stop copying (a stuck sync); unfreezing copies the source's current secret after the delay."""
        was, self.frozen = self.frozen, frozen
        if was and not frozen and not self.missing and self.source.store.secret is not None:
            self._schedule(self.source.store.secret.data)

    def remove_copy(self) -> None:
        """The copy is deleted from the target and the sync no longer writes it (running pods keep
        their mounted files, as kubelet does; a new pod could not mount it)."""
        self.missing = True
        self.target.store.delete_secret()

    def restore_copy(self) -> None:
        """The sync writes the copy again (now, not after the delay: a re-created sync rule)."""
        self.missing = False
        if self.source.store.secret is not None:
            self._copy(self.source.store.secret.data)

    async def stop(self) -> None:
        self.source.store.off_secret(self._changed)
        for task in list(self._pending):
            task.cancel()
        for task in list(self._pending):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def fault_hooks(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]]:
        """``/lab/v1/faults/<name>`` handlers for the target lab's API: sync-lag, freeze-sync, remove-copy."""

        async def lag(body: dict[str, Any]) -> dict[str, Any]:
            self.delay = float(body.get("seconds", self.delay))
            return {"delay": self.delay}

        async def freeze(body: dict[str, Any]) -> dict[str, Any]:
            self.freeze(bool(body.get("enabled", True)))
            return {}

        async def remove(body: dict[str, Any]) -> dict[str, Any]:
            if bool(body.get("enabled", True)):
                self.remove_copy()
            else:
                self.restore_copy()
            return {}

        return {"sync-lag": lag, "freeze-sync": freeze, "remove-copy": remove}
