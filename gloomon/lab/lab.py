"""``Lab``: an embedded Gloo mTLS installation on loopback, behind a Kubernetes API (README.md beside it).

``async with Lab(scenario="healthy") as lab:`` starts gloo, two gateway-proxy replicas, extauth and
rate-limit as real Envoys fed by SDS files, certgen, and the HTTPS API façade with a kubeconfig; it
returns once every pod's Envoy serves certificates. Faults can be triggered from Python or through the
façade's ``/lab/v1/faults/<name>`` endpoint.

A lab is one cluster, named by its kubeconfig ``context`` (and ``cluster``). Several labs make a fleet
(``fleet.py``); a lab given a ``management`` lab is an edge cluster with no gloo and no certgen, whose
clients dial the management lab's gloo and whose secret a sync tool copies in (``topologies.py``,
``secret_sync.py``). A cluster has namespaces: the release namespace (``store``) and, with ``variety``, the
Gateway's namespace where the kube-gateway runs on the copy of the secret gloo's Gateway deployer renders
there (``deployers``, ``gateway_deployer.py``; kubed's in an edge cluster, which runs no gloo), and
public-gw's when ``public_gw_namespace`` moves it, on kubed's copy (``syncs``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import random
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from gloomon.domain.model import SECRET_NAME, WEBHOOK_PORT, Component
from gloomon.lab import scenarios
from gloomon.lab.api.server import ApiServer
from gloomon.lab.cluster import certs as certgen
from gloomon.lab.cluster.store import ClusterStore, NamespaceStore
from gloomon.lab.cluster.util import now_utc, remove_stale_workdirs
from gloomon.lab.faults import LabFaults
from gloomon.lab.gateway_deployer import GatewayDeployer
from gloomon.lab.kubeconfig import write_kubeconfigs
from gloomon.lab.lifecycle import Lifecycle
from gloomon.lab.pods.ads import GlooXds
from gloomon.lab.pods.bootstrap import envoy_binary
from gloomon.lab.pods.certgen_job import CertgenConfig, CertgenRunner
from gloomon.lab.pods.deployments import SPECS, VARIETY, ComponentSpec, make_deployment
from gloomon.lab.pods.process import LabStartError
from gloomon.lab.pods.runtime import PodRuntime, PodTraits, gloo_service_ports
from gloomon.lab.pods.unmountable import add_unmountable_pod
from gloomon.lab.pods.webhook import WebhookCertgen, WebhookServer
from gloomon.lab.secret_sync import SYNC_ANNOTATION, SYNC_DELAY, SecretSync
from gloomon.lab.starting_state import initial_secret, seed_failed_runs, seed_stalled_history

CONTEXT = "gloomon-lab"
REPLICAS = {Component.GLOO: 1, Component.GATEWAY_PROXY: 2, Component.EXTAUTH: 1, Component.RATE_LIMIT: 1}
#: the namespace of the variety's Gateway (its kube-gateway runs there)
GATEWAY_NAMESPACE = "apps"
#: the variety's Gateway: the gateway2 chart names its proxy Deployment ``gloo-proxy-<Gateway>``
GATEWAY_NAME = "http"
#: the label of the namespaces kubed copies ``gloo-mtls-certs`` into (the source's kubed sync selector)
SYNC_SELECTOR = ("gloo-mtls-certs", "sync")


class Lab(Lifecycle, LabFaults):
    """One running lab. See the module docstring and gloomon/lab/README.md for the public API."""

    def __init__(
        self,
        scenario: str = "healthy",
        namespace: str = "gloo-system",
        *,
        workdir: Path | str | None = None,
        certgen_config: CertgenConfig | None = None,
        rotation_duration: float | None = None,
        first_run_after: float | None = None,
        kubelet_delay: tuple[float, float] = (0.2, 1.5),
        job_ttl: float | None = None,
        seed: int | None = None,
        token_validity: float = 30.0,
        user_https: bool = False,
        sds_debounce: bool = False,
        context: str = CONTEXT,
        cluster: str | None = None,
        replicas: dict[Component, int] | None = None,
        management: Lab | None = None,
        variety: bool = False,
        gateway_namespace: str = GATEWAY_NAMESPACE,
        public_gw_namespace: str | None = None,
        sync_delay: float = SYNC_DELAY,
    ) -> None:
        self.scenario = scenario
        self.spec = scenarios.get(scenario)
        self.namespace = namespace
        config = certgen_config or self.spec.certgen
        overrides: dict[str, Any] = {}
        if rotation_duration is not None:
            overrides["rotation_duration"] = rotation_duration
        if first_run_after is not None:
            overrides["first_run_after"] = first_run_after
        if job_ttl is not None:
            overrides["ttl_after_finished"] = job_ttl
        self.certgen_config = dataclasses.replace(config, **overrides)
        self.kubelet_delay = kubelet_delay
        #: how long a token of the exec-plugin kubeconfig (``exec_kubeconfig_path``) is valid
        self.token_validity = token_validity
        #: the first gateway-proxy also serves the user's HTTPS on its 8443 (``pods/user_tls.py``)
        self.user_https = user_https
        #: the sds of Gloo 1.20.14 / 1.21.4 / 1.22+: one reload 500 ms after a volume refresh's events
        self.sds_debounce = sds_debounce
        self._rng = random.Random(seed)
        super().__init__(workdir)
        #: the release namespace's objects; ``store.cluster`` is the whole cluster (every namespace)
        self.store = ClusterStore().add_namespace(namespace)
        self.token = secrets.token_urlsafe(32)
        #: the kubeconfig's context and cluster entry for this lab (cluster defaults to the context)
        self.context = context
        self.cluster = cluster or context
        #: pods per component; without gloo the lab is an edge cluster and needs a ``management``
        self.replicas = dict(replicas if replicas is not None else REPLICAS)
        #: the lab whose gloo this lab's clients dial (split planes); its secret comes from a sync tool
        self.management = management
        #: also Gloo's proxy variety (``pods/deployments.py`` VARIETY): public-gw, its dataplanePerProxy
        #: extauth and rate-limit, a kube-gateway
        self.variety = variety
        #: the namespace of the variety's Gateway ``http``, where its kube-gateway runs (Gloo 1.19+)
        self.gateway_namespace = gateway_namespace
        #: ``gatewayProxies.publicGw.namespace``: where public-gw runs (default: the release namespace)
        self.public_gw_namespace = public_gw_namespace or namespace
        #: seconds between a write of the secret and kubed's copy of it into another namespace
        self.sync_delay = sync_delay
        if (Component.GLOO in self.replicas) == (management is not None):
            raise ValueError("a lab runs gloo itself or names a management lab, not both or neither")
        #: set once gloo runs on its final ports; an edge lab awaits ``before_pods`` (the fleet's: the
        #: management lab's ``gloo_up`` and the secret sync's first copy) before it starts its pods
        self.gloo_up = asyncio.Event()
        self.before_pods: Callable[[], Awaitable[None]] = self._management_up
        #: the syncs writing a copy of the secret into this cluster, by the namespace they write to: kubed
        #: copying it into public-gw's namespace (or, in an edge cluster, the kube-gateway's), or a fleet's
        #: into an edge cluster's release namespace; the ``sync-lag``, ``freeze-sync`` and ``remove-copy``
        #: faults name them by namespace
        self.syncs: dict[str, SecretSync] = {}
        #: gloo's Gateway deployer rendering the copy into each Gateway's namespace (``variety``), by that
        #: namespace; ``remove-copy`` names it by namespace, ``gloo-process-down`` stops it
        self.deployers: dict[str, GatewayDeployer] = {}
        self.api: ApiServer | None = None
        self.certgen: CertgenRunner | None = None
        self.runtimes: dict[str, PodRuntime] = {}
        #: gloo's validation webhook: its 8443 (the gloo pod's port_map names it) and its certgen
        self.webhook: WebhookServer | None = None
        self.webhook_certgen = WebhookCertgen(self.store, self.spec.webhook)
        self._webhook_ttl: asyncio.Task[None] | None = None
        self._traits: dict[tuple[Component, int], PodTraits] = {}
        self._gloo_ports: dict[int, int] = {}
        #: gloo's xDS servers (ADS on its 9999), run by the gloo pod (``pods/ads.py``); an edge cluster's
        #: gateway-proxies use their management lab's
        self.control_plane = GlooXds(namespace)
        #: why ``_all_serving`` last said no (for the start error).
        self._not_serving = ""
        self._started = False

    # ------------------------------------------------------------------------------- lifecycle

    @property
    def api_url(self) -> str:
        assert self.api is not None, "lab not started"
        return self.api.url

    async def start(self) -> None:
        """Start everything; returns when every pod's Envoy serves certificates and every gateway-proxy
        holds its ADS stream (sds-late and key-missing pods excepted).

        On failure every process started so far is stopped and one :class:`LabStartError` says which pod
        failed and why (with Envoy's last stderr line).
        """
        envoy_binary()  # fail early and clearly when the lab extra is missing
        remove_stale_workdirs()
        await super().start()

    @property
    def _what(self) -> str:
        return f"the lab ({self.scenario})"

    @property
    def management_address(self) -> str:
        """What an edge cluster's ``gloo`` ExternalName Service names: the management cluster's gloo
        behind a load balancer (on loopback: its listener ports, ``gloo_ports``)."""
        assert self.management is not None
        return f"gloo-xds.{self.management.cluster}.example.internal"

    @property
    def gloo_ports(self) -> dict[int, int]:
        """gloo's service ports (9977, 9976) → the loopback ports its TLS listeners bind (or will)."""
        return self._gloo_ports

    async def _start(self) -> None:
        if self.management is None:
            (initial, written), tls = await asyncio.gather(
                asyncio.to_thread(initial_secret, self.spec, self.namespace),
                asyncio.to_thread(certgen.tls_server_pair),
            )
            self.store.write_secret(initial, at=written)
            if self.spec.stalled:
                self.store.secret.created = now_utc() - timedelta(days=200)  # type: ignore[union-attr]
        else:
            tls = await asyncio.to_thread(certgen.tls_server_pair)
        self.api = ApiServer(
            self.store.cluster,
            self.namespace,
            self.token,
            self.workdir / "apiserver",
            tls,
            faults=self._fault,
        )
        await self.api.start()
        write_kubeconfigs(
            self.api,
            self.kubeconfig_path,
            self.exec_kubeconfig_path,
            context=self.context,
            cluster=self.cluster,
            token=self.token,
            namespace=self.namespace,
            token_validity=self.token_validity,
        )
        if self.management is None:  # an edge cluster has no certgen Job or CronJob
            self.certgen = CertgenRunner(self.store, self.certgen_config)
        if self.spec.stalled:
            seed_stalled_history(self.store, self.certgen_config)
        seed_failed_runs(self.store, self.spec.failed_runs)
        if self.spec.untrusted:
            stranger = await asyncio.to_thread(certgen.generate, self.namespace)
            self._traits[(Component.EXTAUTH, 0)] = PodTraits(untrusted_bundle=stranger.ca_pem)
        if self.spec.sds_fault == "key-missing":  # every pod mounts the secret without ca.crt
            self.store.secret.missing = ("ca.crt",)  # type: ignore[union-attr]
        elif self.spec.sds_fault:
            self._traits[(Component.RATE_LIMIT, 0)] = PodTraits(sds_fault=self.spec.sds_fault)
        if self.user_https:
            self._traits[(Component.GATEWAY_PROXY, 0)] = PodTraits(user_https=True)
        if self.management is None:
            self._gloo_ports = gloo_service_ports()
            await self._start_webhook()
        else:  # an edge cluster: its pods wait for the management lab's gloo and the secret's copy
            await self.before_pods()
            self._gloo_ports = self.management.gloo_ports  # the same dict: clients follow its moves
            self.store.external_names["gloo"] = (self.management_address, self.store.next_rv())
            if self.store.secret is None:
                raise LabStartError(f"edge cluster {self.context}: no {SECRET_NAME} copy to mount")
            initial = self.store.secret.data
        runtimes = []
        for component, replicas in self.replicas.items():
            deployment = make_deployment(self.store, SPECS[component], replicas)
            runtimes += [self._runtime(deployment.component, slot) for slot in range(replicas)]
        for spec in VARIETY if self.variety else ():
            make_deployment(self._copy_in(spec), spec, 1)
            runtimes.append(self._runtime(spec.component, 0, spec))
        # gloo first: if its service ports were taken it moves them, before any client's bootstrap names them.
        clients = [r for r in runtimes if r.spec.component is not Component.GLOO]
        for gloo in (r for r in runtimes if r.spec.component is Component.GLOO):
            await gloo.start(initial, move_gloo_ports=True, with_lab=True)
            self.gloo_up.set()  # its service ports are final: edge clusters' clients may name them
        # Every start runs to its end (no Envoy left starting behind our back) before a failure is raised.
        results = await asyncio.gather(
            *(r.start(r.mounted(), with_lab=True) for r in clients), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            more = f" (and {len(failures) - 1} more pod(s) failed)" if len(failures) > 1 else ""
            if isinstance(failures[0], LabStartError):
                raise LabStartError(f"{failures[0]}{more}") from failures[0]
            raise failures[0]
        self._started = True
        try:
            await self.wait_for(self._all_serving, timeout=30.0)
        except TimeoutError:
            raise LabStartError(
                f"not every pod serves certificates within 30s: {self._not_serving}"
            ) from None
        if self.spec.lagging:
            await self._make_lagging()
        if self.spec.secret_deleted:
            add_unmountable_pod(self.store, Component.GATEWAY_PROXY)
        if self.spec.gloo_process_down:
            await self.gloo_process_down()
        if self.certgen is not None:
            self.certgen.start()

    @property
    def copy_namespaces(self) -> list[str]:
        """The namespaces other than the release namespace that hold a copy of the secret (gloo's or
        kubed's), sorted: where the variety's proxies run."""
        return sorted({*self.syncs, *self.deployers} - {self.namespace})

    def namespace_of(self, spec: ComponentSpec) -> str:
        """Where the pods of ``spec`` run: a kube-gateway in its Gateway's namespace, public-gw where
        ``gatewayProxies.publicGw.namespace`` puts it, everything else in the release namespace."""
        if spec.component is Component.KUBE_GATEWAY:
            return self.gateway_namespace
        if spec.component is Component.GATEWAY_PROXY and spec.proxy == "public-gw":
            return self.public_gw_namespace
        return self.namespace

    def _copy_in(self, spec: ComponentSpec) -> NamespaceStore:
        """The namespace the pods of ``spec`` run in (:meth:`namespace_of`). Outside the release namespace
        they mount a copy of the secret there: a kube-gateway's is rendered by gloo's Gateway deployer
        (``gateway_deployer.py``) for the Gateway ``GATEWAY_NAME``; a classic proxy's (the classic chart
        renders none) kubed makes (``kubed.appscode.com/sync`` on the source selects the namespace by
        its label) ``sync_delay`` seconds after each write of the release namespace's secret; so does an
        edge cluster's kube-gateway's, whose cluster runs no gloo to render it."""
        namespace = self.namespace_of(spec)
        if namespace == self.namespace:
            return self.store
        if namespace in self.deployers:
            return self.deployers[namespace].target
        if namespace in self.syncs:
            return self.syncs[namespace].target
        if spec.component is Component.KUBE_GATEWAY and self.management is None:
            target = self.store.cluster.add_namespace(namespace)
            deployer = GatewayDeployer(self.store, target, GATEWAY_NAME)
            deployer.install()
            self.deployers[namespace] = deployer
            return target
        target = self.store.cluster.add_namespace(namespace, {SYNC_SELECTOR[0]: SYNC_SELECTOR[1]})
        sync = SecretSync(
            self.store,
            target,
            origin_cluster=self.cluster,
            rule=(SYNC_ANNOTATION, "=".join(SYNC_SELECTOR)),
            delay=self.sync_delay,
        )
        sync.install()
        self.syncs[namespace] = sync
        return target

    async def _management_up(self) -> None:
        assert self.management is not None
        await self.management.gloo_up.wait()

    async def _start_webhook(self) -> None:
        """gateway-certgen's secret and caBundle as the scenario has them, and gloo's webhook endpoint."""
        await asyncio.to_thread(self.webhook_certgen.install)
        assert self.store.webhook_secret is not None
        self.webhook = WebhookServer(self.workdir / "webhook")
        self.webhook.load(self.store.webhook_secret.data)
        await self.webhook.start()

    def _runtime(self, component: Component, slot: int, spec: ComponentSpec | None = None) -> PodRuntime:
        spec = spec or SPECS[component]  # a VARIETY spec is given
        every = PodTraits(sds_fault="key-missing") if self.spec.sds_fault == "key-missing" else PodTraits()
        store = self.store.cluster.namespaces[self.namespace_of(spec)]
        runtime = PodRuntime(
            store=store,
            gloo_namespace=self.namespace,
            deployment=store.deployments[spec.deployment],
            spec=spec,
            slot=slot,
            traits=self._traits.get((component, slot), every) if spec is SPECS.get(component) else every,
            workdir=self.workdir / "pods",
            gloo_ports=self._gloo_ports,
            kubelet_delay=self.kubelet_delay,
            rng=self._rng,
            control_plane=self.management.control_plane if self.management else self.control_plane,
            sds_debounce=self.sds_debounce,
        )
        if component is Component.GLOO and self.webhook is not None:
            runtime.local_ports[WEBHOOK_PORT] = self.webhook.port
        self.runtimes[runtime.name] = runtime
        return runtime

    async def _make_lagging(self) -> None:
        """Freeze the second gateway-proxy's secret volume, then rotate: it keeps the old certificate."""
        assert self.certgen is not None
        lagging = self.runtimes[self.pods(Component.GATEWAY_PROXY)[1]]
        lagging.sds.frozen = True
        await self.certgen.run_now()
        others = [r for r in self.runtimes.values() if r is not lagging and not r.traits.sds_fault]
        await self.wait_for(lambda: all(r.sds.delivered == r.mounted() for r in others), timeout=30.0)

    async def _all_serving(self) -> bool:
        """Every pod's Envoy serves a certificate (sds-late, key-missing excepted) and every gateway-proxy is
        ADS-connected; an Envoy that died fails now."""
        self._not_serving = ""
        async with aiohttp.ClientSession() as session:
            for runtime in list(self.runtimes.values()):
                self._not_serving = await runtime.not_serving(session)
                if self._not_serving:
                    return False
        return True

    async def stop(self) -> None:
        """Stop certgen, every Envoy (reaped, none left behind), the API; remove our temporary files."""
        if self._stopped:
            return
        self._stopped = True
        for sync in self.syncs.values():
            await sync.stop()
        for deployer in self.deployers.values():
            await deployer.stop()
        if self.certgen is not None:
            await self.certgen.stop()
        await asyncio.gather(*(r.stop() for r in self.runtimes.values()), return_exceptions=True)
        if self._webhook_ttl is not None:
            self._webhook_ttl.cancel()
        if self.webhook is not None:
            await self.webhook.stop()
        if self.api is not None:
            await self.api.stop()
        self._remove_workdir()
        self._started = False

    async def _fault(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.management is not None and name in ("rotate", "renew-webhook"):
            raise ValueError(
                f"{self.context} runs no certgen (its management cluster {self.management.context} does)"
            )
        return await super()._fault(name, body)

    def expire_tokens(self) -> None:
        """Every token the exec plugin got expires now: the next request with one gets 401."""
        assert self.api is not None, "lab not started"
        self.api.tokens.expire_all()

    # --------------------------------------------------------------------------------- queries

    def pods(self, component: Component | None = None) -> list[str]:
        """Names of the current Gloo pods of every namespace (certgen job pods excluded), oldest first."""
        return [p.name for p in self.store.cluster.pods_of(component) if p.name in self.runtimes]

    def runtime(self, pod: str) -> PodRuntime:
        try:
            return self.runtimes[pod]
        except KeyError:
            raise KeyError(f"no such pod: {pod}") from None

    def admin_url(self, pod: str) -> str:
        port = self.runtime(pod).admin_port
        return f"http://127.0.0.1:{port}"

    def envoy_pids(self) -> list[int]:
        return [
            r.envoy.pid for r in self.runtimes.values() if r.envoy is not None and r.envoy.pid is not None
        ]

    async def wait_for(
        self, predicate: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0, interval: float = 0.05
    ) -> None:
        """Poll ``predicate`` (sync or async) until true; TimeoutError after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(interval)
