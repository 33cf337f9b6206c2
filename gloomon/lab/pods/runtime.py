"""The runtime of each simulated pod: its Envoy, sds stand-in, gloo's xDS stand-in, main-container logs.

What a pod is made of (labels, containers, ports) is :mod:`gloomon.lab.pods.deployments`'s; each pod's
``port_map`` ties the pod's port numbers (admin 8001/19000, gloo's 9977/9976…) to the loopback ports
really used.

Ports other processes must know in advance are picked in Python just before use, so another process may
take one in between: an Envoy (or gloo's xDS stand-in) that finds its port taken is retried with fresh
ports, up to ``START_ATTEMPTS`` times. Envoy's admin port is Envoy's own pick (port 0), never raced.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from gloomon.domain.model import DEFAULT_ADMIN_PORTS, Component
from gloomon.lab.cluster import util
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import ClusterStore, Container, Deployment, Pod
from gloomon.lab.cluster.util import name_suffix
from gloomon.lab.pods.bootstrap import bootstrap
from gloomon.lab.pods.deployments import ComponentSpec, pod_containers
from gloomon.lab.pods.process import EnvoyProcess, EnvoyStartError, LabStartError
from gloomon.lab.pods.sds import GLOO_VERSION, SDS_PORT, SdsServer
from gloomon.lab.pods.user_tls import USER_HTTPS_PORT, USER_MTLS_PORT, UserTls

#: How many times a pod tries to start its Envoy (or gloo's xDS stand-in) when a port was taken meanwhile.
START_ATTEMPTS = 3
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
    sds_down: bool = False
    #: a gateway-proxy serving the user's HTTPS on its 8443 (``user_tls.py``): user TLS beside the mTLS
    user_https: bool = False


class XdsStandIn:
    """gloo's own xDS servers on 127.0.0.1:9999/9998 (the ``gloo`` container): accept and hold connections."""

    def __init__(self) -> None:
        self.servers: list[asyncio.Server] = []

    async def start(self, ports: list[int]) -> None:
        """Listen on ``ports``; on failure (OSError) nothing is left listening."""
        try:
            for port in ports:
                self.servers.append(await asyncio.start_server(self._handle, "127.0.0.1", port))
        except BaseException:
            await self.stop()
            raise

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self.servers.clear()


class PodRuntime:
    """One running simulated pod: the store's Pod, its Envoy, its sds stand-in, and stand-in servers."""

    def __init__(
        self,
        *,
        store: ClusterStore,
        deployment: Deployment,
        spec: ComponentSpec,
        slot: int,
        traits: PodTraits,
        workdir: Path,
        gloo_ports: dict[int, int],
        kubelet_delay: tuple[float, float],
        rng: random.Random,
    ) -> None:
        self.store = store
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
        )
        if traits.untrusted_bundle is not None:
            bundle = traits.untrusted_bundle
            self.sds.transform = lambda data: SecretData(
                ca_crt=bundle, tls_crt=data.tls_crt, tls_key=data.tls_key
            )
        self.envoy: EnvoyProcess | None = None
        self.xds = XdsStandIn() if spec.component is Component.GLOO else None

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

    async def start(self, secret: SecretData, *, move_gloo_ports: bool = False) -> None:
        """Pod start: secret volume mounted → sds serves it → Envoy starts and loads it.

        ``move_gloo_ports``: gloo's pod may pick new service ports if its own are taken (only before any
        client's bootstrap names them, i.e. at the lab's start). Raises :class:`LabStartError`.
        """
        self.store.add_pod(self.pod)
        self.store.on_secret(self.sds.on_secret)
        await self._start_sds(secret)
        if self.xds is not None:
            await self._start_xds(self.xds)
            self._log_main()
        elif self.spec.component in (Component.EXTAUTH, Component.RATE_LIMIT):
            self._log_main()
        await self.start_envoy(move_gloo_ports=move_gloo_ports)

    async def _start_sds(self, secret: SecretData) -> None:
        if self.traits.sds_down:
            self.sds.port = self.local_ports[SDS_PORT] = free_port()  # nothing will listen there
            self.sds.fail_at_start()
            return
        try:
            await self.sds.start(secret)
        except OSError as exc:
            raise LabStartError(f"the sds of pod {self.name} could not listen: {exc}") from exc
        self.local_ports[SDS_PORT] = self.sds.port

    async def _start_xds(self, xds: XdsStandIn) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                await xds.start([self.local_ports[9999], self.local_ports[9998]])
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == START_ATTEMPTS:
                    raise LabStartError(
                        f"gloo's xDS stand-in of pod {self.name} could not listen"
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

    async def _fresh_envoy_ports(self, move_gloo_ports: bool) -> None:
        """New loopback ports for the listeners this pod's Envoy binds (gloo: its service ports)."""
        if self.spec.component is Component.GLOO:
            if move_gloo_ports:
                self.gloo_ports.update(gloo_service_ports())  # in place: shared with later clients
                self.local_ports.update(self.gloo_ports)
            else:
                await asyncio.sleep(0.5)  # the holder may be gone by then; clients cannot follow a move
        else:
            sds = self.local_ports[SDS_PORT]  # the sds server already listens there
            self.local_ports = {port: free_port() for port in self._own_ports()}
            self.local_ports[SDS_PORT] = sds

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
        """Why this pod's Envoy serves no certificate yet; "" once it does, or when its sds is down.

        An Envoy that exited raises :class:`LabStartError` with its exit code and last stderr line.
        """
        envoy = self.envoy
        if envoy is not None and not envoy.running:
            code = envoy.process.returncode if envoy.process else None
            last = f": {envoy.last_line}" if envoy.last_line else ""
            raise LabStartError(f"envoy of pod {self.name} exited with code {code}{last}")
        if self.traits.sds_down:
            return ""
        try:
            async with session.get(f"http://127.0.0.1:{self.admin_port}/certs") as resp:
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, ValueError) as exc:
            return f"pod {self.name}: admin /certs failed: {exc!r}"
        if not any(c.get("cert_chain") for c in body.get("certificates", [])):
            return f"pod {self.name}: no certificate loaded yet"
        return ""

    async def restart_envoy_container(self) -> None:
        """The Envoy container crashes and is restarted in place (same pod, restartCount + 1)."""
        if self.envoy is not None:
            await self.envoy.stop()
        self._container(self.spec.envoy_container).restart()
        self.store.touch(self.pod)
        await self.start_envoy()

    async def stop(self) -> None:
        self.store.off_secret(self.sds.on_secret)
        await self.sds.stop()
        if self.envoy is not None:
            await self.envoy.stop()
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
