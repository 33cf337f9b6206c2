"""Fleet topologies: several clusters behind one kubeconfig.

A :class:`Topology` is data: which clusters (kubeconfig contexts) a :class:`gloomon.lab.fleet.LabFleet`
starts, what runs in each, and which cluster's gloo an edge cluster's proxies dial.

- ``two-clusters``: ``east`` and ``west``, two independent installs, each with its own certgen, CA and
  ``gloo-mtls-certs``.
- ``split-planes``: ``mgmt`` runs gloo and certgen; ``edge`` runs only gateway-proxies and extauth,
  whose xDS link crosses to ``mgmt``'s gloo. The edge cluster has no certgen Job or CronJob: its
  ``gloo-mtls-certs`` is a **copy** that a sync tool (:class:`gloomon.lab.secret_sync.SecretSync`, a
  stand-in for kubed's config-syncer with ``kubed.appscode.com/sync-contexts: edge`` on the source)
  writes after a delay.

How the edge proxies reach gloo: the chart's bootstrap is unchanged (``gloo.gloo-system.svc.cluster.local:
9977``, ``alt_stat_name: xds_cluster``); the user made ``gloo`` in the edge cluster an ExternalName
Service for the management cluster's gloo load balancer, so the edge Envoys' xDS cluster names the same
hostname as in a single cluster. On loopback that hostname leads to the management lab's gloo listener
ports (``Lab.management``). The edge API serves that Service: ``gloo``, type ExternalName, naming
``gloo-xds.<management cluster>.example.internal`` (``Lab.management_address``), gloo's xDS ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gloomon.domain.model import Component

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
