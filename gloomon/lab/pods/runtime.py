"""The runtime of each simulated pod: its Envoy, its sds server, gloo's ADS, extauth's and rate-limit's
xDS clients, main-container logs.

What a pod is made of (labels, containers, ports) is :mod:`gloomon.lab.pods.deployments`'s; each pod's
``port_map`` ties the pod's port numbers (admin 8001/19000, gloo's 9977/9976…) to the loopback ports
really used.

Ports other processes must know in advance are picked in Python just before use, so another process may
take one in between: an Envoy (or gloo's xDS servers) that finds its port taken is retried with fresh
ports, up to ``START_ATTEMPTS`` times. Envoy's admin port is Envoy's own pick (port 0), never raced, and
so is the sds server's (bound before its Envoy's bootstrap names it, or held unbound-to-listen by
``reserve_port`` while the sds is late or crash-looping). A gateway-proxy's 8080 is bound by
Envoy when gloo's LDS names it; a port taken meanwhile is NACKed, and gloo moves the listener to a fresh
port (``_move_http_port``, :mod:`gloomon.lab.pods.ads`).
"""

from __future__ import annotations

import asyncio
import errno
import random
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gloomon.domain.model import DEFAULT_ADMIN_PORTS, SECRET_NAME, Component
from gloomon.lab.cluster import util
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import Container, Deployment, NamespaceStore, Pod
from gloomon.lab.cluster.util import name_suffix
from gloomon.lab.pods.ads import HTTP_PORT, GlooXds
from gloomon.lab.pods.bootstrap import bootstrap
from gloomon.lab.pods.clients import XdsClient
from gloomon.lab.pods.deployments import ComponentSpec, pod_containers
from gloomon.lab.pods.process import EnvoyProcess, EnvoyStartError, LabStartError
from gloomon.lab.pods.sds import GLOO_VERSION, SDS_PORT, SdsServer
from gloomon.lab.pods.user_tls import USER_HTTPS_PORT, USER_MTLS_PORT, UserTls

#: How many times a pod tries to start its Envoy (or gloo's xDS servers) when a port was taken meanwhile.
START_ATTEMPTS = 3
#: how late the sds of an ``sds_fault="late"`` pod starts: after Envoy's 15 s initial fetch timeout
SDS_LATE = 16.0
#: a key-missing pod's sds has crash-looped this often before the lab starts (the pods it starts with
#: are ~50 s old: runs of ~13 s, restarted after 0.5 s, then 10 s of back-off); a pod made since starts at 0
KEY_MISSING_RESTARTS = 2
#: gloo's service ports, whose loopback stand-ins every client's bootstrap names.
GLOO_SERVICE_PORTS = (9977, 9976)


def free_port() -> int:
    """The lab's one free-port picker (tests replace it to force a port to be taken before use)."""
    return util.free_port()


def gloo_service_ports() -> dict[int, int]:
    """Fresh loopback ports for gloo's TLS listeners, keyed by gloo's pod port."""
    return {port: free_port() for port in GLOO_SERVICE_PORTS}


@dataclass
class PodTraits:
    """Faults that belong to a deployment replica slot and survive pod restarts (unlike a lagging volume)."""

    untrusted_bundle: bytes | None = None
    #: the pod's sds fails as in production: "late" (up ``SDS_LATE`` s after the pod started: Envoy's
    #: initial fetch times out first), "dead" (dies once it delivered, then crash-loops) or "key-missing"
    #: (the mounted secret lacks ca.crt: every start exits ``could not find file``)
    sds_fault: str = ""
    #: a gateway-proxy serving the user's HTTPS on its 8443 (``user_tls.py``): user TLS beside the mTLS
    user_https: bool = False


class PodRuntime:
    """One running simulated pod: the store's Pod, its Envoy, its sds server, gloo's xDS or a client."""

    def __init__(
        self,
        *,
        store: NamespaceStore,
        gloo_namespace: str,
        deployment: Deployment,
        spec: ComponentSpec,
        slot: int,
        traits: PodTraits,
        workdir: Path,
        gloo_ports: dict[int, int],
        kubelet_delay: tuple[float, float],
        rng: random.Random,
        control_plane: GlooXds,
        sds_debounce: bool = False,
    ) -> None:
        #: the pod's namespace (it mounts that namespace's secret); gloo's Service is in ``gloo_namespace``
        self.store = store
        self.gloo_namespace = gloo_namespace
        self.spec = spec
        self.slot = slot
        self.traits = traits
        self.gloo_ports = gloo_ports
        name = f"{deployment.name}-{deployment.template_hash}-{name_suffix()}"
        self.pod = Pod(
            name=name,
            namespace=store.namespace,
            labels=dict(spec.pod_labels),
            containers=pod_containers(spec),
            pod_ip=store.next_pod_ip(),
            component=spec.component,
            owner=("ReplicaSet", f"{deployment.name}-{deployment.template_hash}", deployment.uid),
        )
        self.workdir = workdir / name
        self.local_ports = {port: free_port() for port in self._own_ports()}
        if spec.component is Component.GLOO:
            self.local_ports.update(gloo_ports)
        self._user_tls = UserTls.make() if traits.user_https else None
        proxy_like = spec.component in (Component.GATEWAY_PROXY, Component.KUBE_GATEWAY)
        client = f"{name}.{store.namespace}" if proxy_like else "sds_client"
        self.sds = SdsServer(
            container=lambda: self._container("sds"),
            client=client,
            port=0,  # its first start binds a port the OS picks; the bootstrap names it (the pod's 8234)
            delay=kubelet_delay,
            stats_server=proxy_like,
            rng=rng,
            debounce=sds_debounce,
        )
        if traits.untrusted_bundle is not None:
            bundle = traits.untrusted_bundle
            self.sds.transform = lambda data: SecretData(
                ca_crt=bundle, tls_crt=data.tls_crt, tls_key=data.tls_key
            )
        self.envoy: EnvoyProcess | None = None
        #: gloo's xDS servers (the gloo pod runs them; gateway-proxies register their listener port)
        self.control_plane = control_plane
        self.xds = control_plane if spec.component is Component.GLOO else None
        self.client: XdsClient | None = None
        if spec.component in (Component.EXTAUTH, Component.RATE_LIMIT) and 9955 in spec.local_ports:
            self.client = XdsClient(spec.component, f"{name}.{store.namespace}", 0, rng)

    @property
    def name(self) -> str:
        return self.pod.name

    def _container(self, name: str) -> Container:
        container = self.pod.container(name)
        assert container is not None
        return container

    @property
    def admin_port(self) -> int | None:
        return self.envoy.admin_port if self.envoy else None

    @property
    def user_tls(self) -> UserTls | None:
        """The user TLS material of a ``user_https`` gateway-proxy (its client CA issues trusted clients)."""
        return self._user_tls

    def mounted(self) -> SecretData:
        """What the pod's secret volume holds: ``gloo-mtls-certs`` of its own namespace (a copy outside the
        release namespace)."""
        secret = self.store.secret
        if secret is None:
            raise LabStartError(f"pod {self.name}: no {SECRET_NAME} in {self.store.namespace} to mount")
        return secret.data

    async def start(
        self, secret: SecretData, *, move_gloo_ports: bool = False, with_lab: bool = False
    ) -> None:
        """Pod start: secret volume mounted → sds serves it → Envoy starts and loads it.

        ``move_gloo_ports``: gloo's pod may pick new service ports if its own are taken (only before any
        client's bootstrap names them, i.e. at the lab's start). ``with_lab``: one of the pods the lab
        starts with, which have run a while (a key-missing sds has crash-looped
        ``KEY_MISSING_RESTARTS`` times), not one made since. Raises :class:`LabStartError`.
        """
        self.store.add_pod(self.pod)
        self.store.on_secret(self._secret_written)
        await self._start_sds(secret, KEY_MISSING_RESTARTS if with_lab else 0)
        if self.xds is not None:
            await self._start_xds(self.xds)
            self._log_main()
        elif self.spec.component in (Component.EXTAUTH, Component.RATE_LIMIT):
            self._log_main()
        elif self.spec.component is Component.GATEWAY_PROXY:
            self.local_ports[HTTP_PORT] = free_port()  # where gloo's listener for this proxy binds
            self.control_plane.add_gateway(self.node_id, self.local_ports[HTTP_PORT], self._move_http_port)
        await self.start_envoy(move_gloo_ports=move_gloo_ports)
        if self.client is not None:
            self.client.start()

    @property
    def node_id(self) -> str:
        """This pod's Envoy node id (gateway-proxy: ``<pod>.<ns>``, the sidecars: ``sds_client``)."""
        if self.spec.component is Component.GATEWAY_PROXY:
            return f"{self.name}.{self.store.namespace}"
        return "sds_client"

    def _secret_written(self, data: SecretData) -> None:
        """A write of the secret: the pod's volume follows it, lacking the keys the write left out."""
        secret = self.store.secret
        self.sds.on_secret(data, missing=secret.missing if secret is not None else ())

    async def _start_sds(self, secret: SecretData, restarts: int) -> None:
        """``restarts``: how often a key-missing sds has crash-looped already."""
        late = SDS_LATE if self.traits.sds_fault == "late" else 0.0
        # key-missing: the volume lacks the keys the secret's last write left out
        missing = self.store.secret.missing if self.store.secret is not None else ()
        if late or missing:
            self.sds.reserve_port(util.reserve_port())  # the bootstrap names it; the sds binds it later
        self.sds.die_after_delivery = self.traits.sds_fault == "dead"
        try:
            if missing:
                self.sds.fail_at_start(secret, missing, restarts=restarts)
            else:
                await self.sds.start(secret, late=late)
        except OSError as exc:
            raise LabStartError(f"the sds of pod {self.name} could not listen: {exc}") from exc
        self.local_ports[SDS_PORT] = self.sds.port

    async def _start_xds(self, xds: GlooXds) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                await xds.start(port=self.local_ports[9999], rest_port=self.local_ports[9998])
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == START_ATTEMPTS:
                    raise LabStartError(
                        f"gloo's xDS server of pod {self.name} could not listen"
                        f" (attempt {attempt} of {START_ATTEMPTS}): {exc}"
                    ) from exc
            self.local_ports.update({9999: free_port(), 9998: free_port()})

    async def start_envoy(self, *, move_gloo_ports: bool = False) -> None:
        """Start the pod's Envoy; when a listener port was taken meanwhile, retry with fresh ports.

        gloo's service ports are only moved when ``move_gloo_ports`` (clients' bootstraps name them);
        otherwise gloo retries the same ones after a short pause. The port map follows the ports used.
        """
        envoy_container = self.spec.envoy_container
        for attempt in range(1, START_ATTEMPTS + 1):
            config = bootstrap(
                self.spec.component,
                pod=self.name,
                namespace=self.store.namespace,
                gloo_namespace=self.gloo_namespace,
                sds_port=self.local_ports[SDS_PORT],
                gloo_ports=self.gloo_ports,
                local_ports=self.local_ports,
                user_tls=self._user_tls,
                proxy=self.spec.proxy,
            )
            self.envoy = EnvoyProcess(
                self.name,
                config,
                self.workdir / "envoy",
                sink=lambda line: self._container(envoy_container).log.append(line),
            )
            try:
                await self.envoy.start()
                break
            except EnvoyStartError as exc:
                if not exc.address_in_use or attempt == START_ATTEMPTS:
                    reason = (
                        f"{exc.reason} (attempt {attempt} of {START_ATTEMPTS})" if attempt > 1 else exc.reason
                    )
                    raise EnvoyStartError(
                        self.name, reason, exc.last_line, address_in_use=exc.address_in_use
                    ) from None
            await self._fresh_envoy_ports(move_gloo_ports)
        self._update_port_map()
        if self.client is not None:
            self.client.port = self.local_ports[9955]  # the process dials its sidecar's listener

    async def _fresh_envoy_ports(self, move_gloo_ports: bool) -> None:
        """New loopback ports for the listeners this pod's Envoy binds (gloo: its service ports)."""
        if self.spec.component is Component.GLOO:
            if move_gloo_ports:
                self.gloo_ports.update(gloo_service_ports())  # in place: shared with later clients
                self.local_ports.update(self.gloo_ports)
            else:
                await asyncio.sleep(0.5)  # the holder may be gone by then; clients cannot follow a move
        else:
            # the sds server already listens on its port; gloo's listener binds 8080 later, over LDS
            kept = {p: self.local_ports[p] for p in (SDS_PORT, HTTP_PORT) if p in self.local_ports}
            self.local_ports = {port: free_port() for port in self._own_ports()} | kept

    def _move_http_port(self) -> int:
        """The loopback port of this proxy's 8080 was taken before Envoy bound it: a fresh one, in the port
        map too (gloo's next LDS version names it)."""
        self.local_ports[HTTP_PORT] = free_port()
        self._update_port_map()
        return self.local_ports[HTTP_PORT]

    def _own_ports(self) -> tuple[int, ...]:
        """The pod-local ports mapped to loopback ones: the spec's, and 8443, 8444 with ``user_https``."""
        return (
            *self.spec.local_ports,
            *((USER_HTTPS_PORT, USER_MTLS_PORT) if self.traits.user_https else ()),
        )

    def _update_port_map(self) -> None:
        port_map = dict(self.local_ports)
        if self.spec.component is Component.GLOO:
            port_map.update(self.gloo_ports)
        if self.envoy is not None and self.envoy.admin_port is not None:
            port_map[DEFAULT_ADMIN_PORTS[self.spec.component]] = self.envoy.admin_port
        self.pod.port_map = port_map

    async def not_serving(self, session: aiohttp.ClientSession) -> str:
        """Why this pod's Envoy serves no certificate yet (a gateway-proxy: or has no ADS stream to gloo);
        "" once it does, or when its sds is down.

        An Envoy that exited raises :class:`LabStartError` with its exit code and last stderr line.
        """
        envoy = self.envoy
        if envoy is not None and not envoy.running:
            code = envoy.process.returncode if envoy.process else None
            last = f": {envoy.last_line}" if envoy.last_line else ""
            raise LabStartError(f"envoy of pod {self.name} exited with code {code}{last}")
        if self.traits.sds_fault in ("late", "key-missing"):
            return ""
        try:
            async with session.get(f"http://127.0.0.1:{self.admin_port}/certs") as resp:
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            return f"pod {self.name}: admin /certs failed: {exc!r}"
        if not any(c.get("cert_chain") for c in body.get("certificates", [])):
            return f"pod {self.name}: no certificate loaded yet"
        if self.spec.component is Component.GATEWAY_PROXY:
            url = f"http://127.0.0.1:{self.admin_port}/stats?filter=^control_plane\\.connected_state$"
            try:
                async with session.get(url) as resp:
                    text = await resp.text()
            except aiohttp.ClientError as exc:
                return f"pod {self.name}: admin /stats failed: {exc!r}"
            if text.strip() != "control_plane.connected_state: 1":
                return f"pod {self.name}: no ADS stream to gloo yet ({text.strip()})"
        return ""

    async def gloo_process(self, *, down: bool) -> None:
        """gloo's own process dies (its ADS streams reset, 9999 refuses) or comes back; the sidecar stays up.

        Down, the kubelet shows the ``gloo`` container crash-looping (restartCount + 1, not Ready)."""
        assert self.xds is not None, "only the gloo pod runs gloo's process"
        main = self._container("gloo")
        if down:
            await self.xds.stop_ads()
            main.restart()
            main.ready, main.waiting_reason = False, "CrashLoopBackOff"
        else:
            await self._start_xds(self.xds)
            main.ready, main.waiting_reason = True, None
            self._log_main()
        self.store.touch(self.pod)

    async def restart_envoy_container(self) -> None:
        """The Envoy container crashes and is restarted in place (same pod, restartCount + 1)."""
        if self.envoy is not None:
            await self.envoy.stop()
        self._container(self.spec.envoy_container).restart()
        self.store.touch(self.pod)
        await self.start_envoy()

    async def stop(self) -> None:
        self.store.off_secret(self._secret_written)
        await self.sds.stop()
        if self.envoy is not None:
            await self.envoy.stop()
        if self.client is not None:
            await self.client.stop()
        if self.spec.component is Component.GATEWAY_PROXY:
            self.control_plane.remove_gateway(self.node_id)
        if self.xds is not None:
            await self.xds.stop()

    def _log_main(self) -> None:
        """A few lines from the pod's main container (gloo, extauth, rate-limit), zap JSON like Gloo's."""
        main = self._container(
            self.spec.containers[-1][0]
            if self.spec.component is Component.GLOO
            else self.spec.containers[0][0]
        )
        if self.spec.component is Component.GLOO:
            main.log.zap(
                "info",
                "gloo.v1.event_loop.setup",
                "setup/setup.go:91",
                "starting gloo xds server",
                version=GLOO_VERSION,
                address="127.0.0.1:9999",
            )
            main.log.zap(
                "info",
                "gloo.v1.event_loop.setup",
                "setup/setup.go:97",
                "starting rest xds server",
                version=GLOO_VERSION,
                address="127.0.0.1:9998",
            )
        else:
            main.log.zap(
                "info",
                self.spec.component.value,
                "server/server.go:57",
                "starting server",
                version=GLOO_VERSION,
                glooAddress="127.0.0.1:9955",
            )
