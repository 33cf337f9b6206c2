"""``LabFleet``: several labs (clusters) started together behind one merged kubeconfig.

``async with LabFleet("two-clusters") as fleet:`` starts every cluster of the topology
(``topologies.py``) and returns once each lab's pods serve certificates. ``fleet.labs[context]`` is each
cluster's :class:`gloomon.lab.lab.Lab` (its own API server, URL, token, certgen CA and secret);
``fleet.kubeconfig_path`` names every context (``fleet.exec_kubeconfig_path``: the same with exec-plugin
users). Every cluster starts concurrently; an edge cluster's pods wait until the gloo they dial runs on
its final ports (their bootstraps name them) and the secret's copy is written. A failure stops
everything started and raises one :class:`LabStartError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gloomon.lab import topologies
from gloomon.lab.kubeconfig import merge_kubeconfigs
from gloomon.lab.lab import Lab
from gloomon.lab.lifecycle import Lifecycle
from gloomon.lab.pods.process import LabStartError
from gloomon.lab.secret_sync import SYNC_CONTEXTS_ANNOTATION, SYNC_DELAY, SecretSync


class LabFleet(Lifecycle):
    """Several running labs. ``lab_options`` go to every :class:`Lab` (e.g. ``kubelet_delay``)."""

    def __init__(
        self,
        topology: str = "two-clusters",
        *,
        workdir: Path | str | None = None,
        scenario: str = "healthy",
        sync_delay: float = SYNC_DELAY,
        **lab_options: Any,
    ) -> None:
        self.topology = topologies.get(topology)
        self.scenario = topology
        super().__init__(workdir)
        self.labs: dict[str, Lab] = {}
        #: the secret syncs, by the context of the cluster they write to
        self.syncs: dict[str, SecretSync] = {}
        self._lab_scenario = scenario
        self._sync_delay = sync_delay
        self._lab_options = lab_options

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(plan.context for plan in self.topology.clusters)

    @property
    def namespace(self) -> str:
        return next(iter(self.labs.values())).namespace

    def lab(self, context: str) -> Lab:
        try:
            return self.labs[context]
        except KeyError:
            raise KeyError(f"no cluster with context {context!r} in {self.topology.name}") from None

    @property
    def _what(self) -> str:
        return f"the fleet ({self.topology.name})"

    async def _start(self) -> None:
        for plan in self.topology.clusters:
            management = self.labs[plan.management] if plan.management else None
            self.labs[plan.context] = Lab(
                self._lab_scenario,
                workdir=self.workdir / plan.context,
                context=plan.context,
                replicas=plan.replicas,
                management=management,
                **self._lab_options,
            )
        starts = {context: asyncio.ensure_future(lab.start()) for context, lab in self.labs.items()}
        for edge in self.labs.values():
            if edge.management is not None:
                sync = SecretSync(
                    edge.management.store,
                    edge.store,
                    origin_cluster=edge.management.cluster,
                    rule=(SYNC_CONTEXTS_ANNOTATION, edge.context),
                    delay=self._sync_delay,
                )
                self.syncs[edge.context] = edge.syncs[edge.namespace] = sync
                edge.before_pods = self._before_pods(edge, sync, starts[edge.management.context])
        # Every start runs to its end (none left starting behind our back) before the first failure is raised.
        results = await asyncio.gather(*starts.values(), return_exceptions=True)
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise failures[0]
        merge_kubeconfigs([lab.kubeconfig_path for lab in self.labs.values()], self.kubeconfig_path)
        merge_kubeconfigs([lab.exec_kubeconfig_path for lab in self.labs.values()], self.exec_kubeconfig_path)

    @staticmethod
    def _before_pods(
        edge: Lab, sync: SecretSync, management_start: asyncio.Future[None]
    ) -> Callable[[], Awaitable[None]]:
        """What an edge lab awaits before its pods: the management lab's gloo on its final ports (or its
        failure, then the edge fails too), then the sync's first copy of the secret."""

        async def wait() -> None:
            management = edge.management
            assert management is not None
            up = asyncio.ensure_future(management.gloo_up.wait())
            either: set[asyncio.Future[Any]] = {up, management_start}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not management.gloo_up.is_set():
                up.cancel()
                raise LabStartError(
                    f"{edge.context}: its management cluster {management.context} did not start"
                )
            sync.install()

        return wait

    async def stop(self) -> None:
        """Stop the syncs, then every lab (edges first), and remove the fleet's files."""
        if self._stopped:
            return
        self._stopped = True
        for sync in self.syncs.values():
            await sync.stop()
        edges = [lab for lab in self.labs.values() if lab.management is not None]
        await asyncio.gather(*(lab.stop() for lab in edges), return_exceptions=True)
        planes = [lab for lab in self.labs.values() if lab.management is None]
        await asyncio.gather(*(lab.stop() for lab in planes), return_exceptions=True)
        self._remove_workdir()

    def envoy_pids(self) -> list[int]:
        return [pid for lab in self.labs.values() for pid in lab.envoy_pids()]
