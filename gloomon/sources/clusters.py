"""One watched context of a :class:`~gloomon.sources.session.MonitorSession`: its clients and what its
last poll read, and what the snapshot is told about it (:class:`ContextState`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gloomon.domain.model import Component, ContextState, CronJobState, PodInfo, SecretState, WebhookState
from gloomon.sources.kube.client import KubeReader
from gloomon.sources.kube.config import KubeConnection
from gloomon.sources.kube.forwards import ForwardSet
from gloomon.sources.kube.webhook import WebhookReader


@dataclass(eq=False)
class _Cluster:
    """One context: its clients, forwards, the last pods and CronJob read successfully, and this poll's
    secret reads (``observed`` False where one failed)."""

    connection: KubeConnection
    reader: KubeReader
    forwards: ForwardSet
    #: the validation webhook's reads (None: this context's webhook is not read)
    webhook: WebhookReader | None = None
    #: this poll's reads of gloo-mtls-certs, one per namespace read (the release namespace's first;
    #: ``observed`` False where a read failed)
    secrets: tuple[SecretState, ...] = ()
    #: the validation webhook as this poll read it (the last read kept when the API was not reached)
    webhook_state: WebhookState | None = None
    cronjob: CronJobState | None = None
    pods: dict[Component, list[PodInfo]] | None = None
    missing: tuple[Component, ...] = ()
    listed: tuple[PodInfo, ...] = ()  # every component and certgen pod of the last list (their status)
    #: components with neither a Deployment nor a pod in the watched namespaces
    not_installed: tuple[Component, ...] = ()
    error: str | None = None
    #: this poll could not read the pod list (no connection, a 5xx, a 403): an Envoy whose fetch failed
    #: too is not observed, not unreachable (the source error is the one finding)
    api_down: bool = False
    #: why this context could not be watched at start (API unreachable, 401, 403, namespace missing):
    #: every poll tries again; the other contexts are watched meanwhile
    start_error: str | None = None


def gloo_installed(cluster: _Cluster) -> bool | None:
    """Whether gloo runs in this context (a pod, or its Deployment); None when this poll cannot tell."""
    if cluster.pods is None or cluster.api_down or cluster.start_error is not None:
        return None
    deployed = cluster.reader.deployed
    return bool(cluster.pods.get(Component.GLOO)) or (deployed is not None and Component.GLOO in deployed)


def context_state(cluster: _Cluster) -> ContextState:
    return ContextState(
        name=cluster.connection.context,
        gloo_installed=gloo_installed(cluster),
        missing=cluster.missing,
        error=cluster.error,
        api_down=cluster.api_down,
        pods=tuple(pod.name for pod in cluster.listed),
        deployed=None if cluster.reader.deployed is None else tuple(sorted(cluster.reader.deployed)),
    )


def session_cronjob(clusters: Sequence[_Cluster]) -> CronJobState | None:
    """certgen's CronJob: the one of a context where gloo runs (certgen runs only there), else the
    first read."""
    installed = [c.cronjob for c in clusters if c.cronjob is not None and gloo_installed(c)]
    present = [job for job in installed if job is not None and not job.missing]
    return next(iter(present or installed), next((c.cronjob for c in clusters if c.cronjob), None))


def not_installed(clusters: Sequence[_Cluster]) -> tuple[Component, ...]:
    """Components no watched context has (neither a Deployment nor a pod): information, not a gap."""
    return tuple(c for c in Component if clusters and all(c in k.not_installed for k in clusters))
