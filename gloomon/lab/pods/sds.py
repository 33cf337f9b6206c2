"""The per-pod ``sds`` container: a gRPC SecretDiscoveryService on the pod's 8234, with Gloo's logs.

In a cluster the kubelet refreshes the pod's ``gloo-mtls-certs`` volume some time after the secret
changes (one atomic ``..data`` swap: a REMOVE event on each of the three watched files), and Gloo's
``sds`` server re-reads ``tls.key``/``tls.crt``/``ca.crt`` and sets one snapshot (every client gets the
same: go-control-plane's cache keyed by ``sdsClient``, the node ignored) whose version is the FNV hash of
key, chain and CA. Envoy subscribes to ``server_cert`` and ``validation_context`` over
``StreamSecrets`` (state of the world, :mod:`gloomon.lab.pods.xds`) and gets pushes on change.

Log lines are the server's zap JSON (real-clusters.md §2), each with a ``seq`` field. Two variants:
before 1.20.14 / 1.21.4 / 1.22 the server reloads once per fsnotify event (three identical
``Updating SDS config`` lines per write, each followed by ``watcher started``); from then on
(``debounce``) events are collected for 500 ms and one reload follows.

Lifecycle (the kubelet's view is the store's :class:`Container`): :meth:`SdsServer.start` at pod start,
or later with ``late`` (the container is still ``ContainerCreating`` meanwhile); :meth:`crash` stops the
server and puts the container in a CrashLoopBackOff whose restarts (kubelet back-off 10 s doubling to
300 s) die again at start. :meth:`fail_at_start` is a volume missing a key of the secret: each run (a new
pod's first, then every restart) checks the files for ``STAT_RETRY_SECONDS`` and dies ``could not find
file``, until the kubelet has refreshed the volume from a write that has every key (a rotation's full
write); the next run then serves.
Between runs the container is ``waiting`` (``CrashLoopBackOff``) with the run that died as
``lastState.terminated`` (exit 1, Go's ``log.Fatal``); a run is Ready while it runs (the chart gives sds no
readiness probe, 7-gateway-proxy-deployment.yaml).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from envoy.config.core.v3.base_pb2 import DataSource
from envoy.extensions.transport_sockets.tls.v3 import common_pb2, secret_pb2
from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest, DiscoveryResponse
from envoy.service.secret.v3 import sds_pb2_grpc

from gloomon.domain.model import SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import Container
from gloomon.lab.cluster.util import fnv64
from gloomon.lab.pods.xds import Resources, SotwEngine, serve_grpc
from gloomon.tasks import cancel_and_wait

SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
SSL_DIR = "/etc/envoy/ssl"
#: the Gloo release the lab runs: its images' tag (``quay.io/solo-io/gloo:1.18.0``) and sds's log ``version``
GLOO_VERSION = "1.18.0"
#: the sds server's pod port (``--sds-server-address``)
SDS_PORT = 8234
#: Gloo's fsnotify debounce (1.20.14+)
DEBOUNCE = 0.5
#: how long sds's 8 ``os.Stat`` retries of a missing file last before its Fatal (real-clusters.md §2)
STAT_RETRY_SECONDS = 13.0
_LOGGER = "sds_server"
_FILES = ("tls.key", "tls.crt", "ca.crt")


def snapshot_version(data: SecretData) -> str:
    """Deterministic decimal uint64 over key, chain and CA, like ``GetSnapshotVersion`` (FNV-64 based)."""
    return str(fnv64(data.tls_key, data.tls_crt, data.ca_crt))


def secret_resources(data: SecretData, version: str) -> Resources:
    """The snapshot Gloo's sds builds: ``server_cert`` (key pair) and ``validation_context`` (the CA
    bundle), PEM as ``inline_bytes``."""
    server_cert = secret_pb2.Secret(
        name=SERVER_CERT_SECRET,
        tls_certificate=common_pb2.TlsCertificate(
            certificate_chain=DataSource(inline_bytes=data.tls_crt),
            private_key=DataSource(inline_bytes=data.tls_key),
        ),
    )
    validation = secret_pb2.Secret(
        name=VALIDATION_CONTEXT_SECRET,
        validation_context=common_pb2.CertificateValidationContext(
            trusted_ca=DataSource(inline_bytes=data.ca_crt)
        ),
    )
    return Resources(version, {SERVER_CERT_SECRET: server_cert, VALIDATION_CONTEXT_SECRET: validation})


class _Service(sds_pb2_grpc.SecretDiscoveryServiceServicer):
    def __init__(self, engine: SotwEngine) -> None:
        self.engine = engine

    async def StreamSecrets(
        self, request_iterator: AsyncIterator[DiscoveryRequest], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[DiscoveryResponse]:
        async for response in self.engine.stream(request_iterator, context):
            yield response

    async def FetchSecrets(
        self, request: DiscoveryRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> DiscoveryResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "FetchSecrets is not served")
        raise AssertionError  # pragma: no cover - abort raises


class SdsServer:
    """One pod's ``sds`` container: delivers the secret to that pod's Envoy after a kubelet-like delay.

    ``frozen`` (lagging pod: its volume stops being refreshed) ignores later secret updates; ``transform``
    rewrites what this pod receives (untrusted bundle); ``port`` is the loopback port of the pod's 8234.
    """

    def __init__(
        self,
        *,
        container: Callable[[], Container],
        client: str,
        port: int,
        delay: tuple[float, float],
        stats_server: bool,
        rng: random.Random,
        debounce: bool = False,
    ) -> None:
        self._container = container
        self.client = client
        self.port = port
        self.delay = delay
        self.stats_server = stats_server
        self.rng = rng
        self.debounce = debounce
        self.frozen = False
        #: sds-dead: the process dies once this pod's Envoy ACKed both secrets, and crash-loops
        self.die_after_delivery = False
        self.transform: Callable[[SecretData], SecretData] | None = None
        #: keys of the secret absent from the pod's mounted volume (the kubelet refreshes it after a write)
        self.mounted_missing: tuple[str, ...] = ()
        self._missing_next: tuple[str, ...] = ()
        self._volume_refreshed = asyncio.Event()
        #: the loopback port of the pod's 8234 held (bound, not listening) until the server binds it
        self._reserved: socket.socket | None = None
        #: what the running server serves (``None`` before its first snapshot)
        self.delivered: SecretData | None = None
        self.version: str | None = None
        self.engine = SotwEngine(self._provide)
        self.server: grpc.aio.Server | None = None
        #: the snapshot as the secret's data (its key hidden from reprs); the protos are built per response
        self._snapshot: tuple[str, SecretData] | None = None
        self._target: SecretData | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        return self.server is not None

    def reserve_port(self, reservation: socket.socket) -> None:
        """The pod's 8234 before its server listens (sds late or crash-looping): ``reservation`` is bound
        and not listening, so Envoy's connections are refused as by an empty port and no other process
        can take it; the server binds it when it starts."""
        self._reserved = reservation
        self.port = int(reservation.getsockname()[1])

    def _release_port(self) -> None:
        if self._reserved is not None:
            self._reserved.close()
            self._reserved = None

    def _provide(self, node_id: str, type_url: str) -> Resources | None:
        if self._snapshot is None or type_url != SECRET_TYPE:
            return None
        return secret_resources(self._snapshot[1], self._snapshot[0])

    def _log(self, msg: str, level: str = "info", caller: str = "run/run.go:80", **fields: object) -> None:
        self._container().log.zap(level, _LOGGER, caller, msg, version=GLOO_VERSION, **fields)

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def start(self, secret: SecretData, *, late: float = 0.0) -> None:
        """Container start: Gloo's startup lines, the gRPC server, the first snapshot.

        With ``late`` the container only starts that many seconds from now (a slow image pull): it waits
        in ``ContainerCreating`` and this returns at once. Raises OSError when the port is taken.
        """
        self._target = secret
        if late > 0:
            container = self._container()
            container.ready, container.waiting_reason = False, "ContainerCreating"
            self._spawn(self._start_later(late))
            return
        await self._serve(secret)

    async def _start_later(self, late: float) -> None:
        await asyncio.sleep(late)
        container = self._container()
        container.ready, container.waiting_reason = True, None
        assert self._target is not None
        try:
            await self._serve(self._target)
        except OSError as exc:
            self.crash(f"listen tcp 0.0.0.0:{SDS_PORT}: {exc.strerror}")

    async def _serve(self, secret: SecretData) -> None:
        self._startup_lines()
        await self._listen(secret)

    async def _listen(self, secret: SecretData) -> None:
        """The files are there: the gRPC server on the pod's 8234, the first snapshot, the watcher."""
        service = _Service(self.engine)

        def add(server: grpc.aio.Server) -> None:
            sds_pb2_grpc.add_SecretDiscoveryServiceServicer_to_server(service, server)

        self._release_port()
        self.server, self.port = await serve_grpc(add, self.port)
        self._listening_lines()
        self._publish(secret)
        self._watcher_started()
        if self.die_after_delivery:
            self._spawn(self._die_once_delivered())

    async def _die_once_delivered(self) -> None:
        version = self.version

        def delivered() -> bool:  # both secrets' streams ACKed this version
            states = [state for states in self.engine.nodes.values() for state in states.values()]
            return sum(state.acks for state in states) >= 2 and all(
                state.acked == version for state in states
            )

        while not delivered():
            await asyncio.sleep(0.05)
        self.crash("transport: the server stopped serving: use of closed network connection")

    def _listening_lines(self) -> None:
        self._log("secrets confirmed present, proceeding to start SDS server", caller="run/run_main.go:98")
        self._log(f"sds server listening on 0.0.0.0:{SDS_PORT}", caller="server/server.go:118")

    def _startup_lines(self) -> None:
        if self.stats_server:
            self._log("Stats server starting at :9091", caller="stats/stats.go:64")
        self._log("initializing config", caller="run/run_main.go:33")
        self._log(
            "config loaded", caller="run/run_main.go:54", glooMtlsSdsEnabled=True, istioMtlsSdsEnabled=False
        )
        self._log("checking for existence of secrets", caller="run/run_main.go:76")

    def _watcher_started(self) -> None:
        self._log(
            "watcher started",
            caller="run/run.go:71",
            sslKeyFile=f"{SSL_DIR}/tls.key",
            sshCertFile=f"{SSL_DIR}/tls.crt",
            sslCaFile=f"{SSL_DIR}/ca.crt",
        )

    def _publish(self, data: SecretData) -> None:
        delivered = self.transform(data) if self.transform else data
        version = snapshot_version(delivered)
        self._log(
            f"Updating SDS config. sdsClient is {self.client}. Snapshot version is {version}",
            caller="server/server.go:122",
        )
        self._snapshot = (version, delivered)
        self.delivered, self.version = delivered, version
        self.engine.changed()

    def on_secret(self, data: SecretData, missing: tuple[str, ...] = ()) -> None:
        """The secret changed (``missing``: keys the write left out): the volume refresh reaches this pod
        after its kubelet delay (latest wins)."""
        if self.frozen:
            return
        self._target, self._missing_next = data, missing
        if self._pending is None or self._pending.done():
            self._pending = self._spawn(self._deliver_later())

    async def _deliver_later(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.delay))
        data = self._target
        if data is None or self.frozen:
            return
        if not self.serving:  # the volume is refreshed all the same: a down sds reads it when it next starts
            self.mounted_missing = self._missing_next
            self._volume_refreshed.set()
            return
        for name in _FILES:
            self._log("received event", caller="run/run.go:93", event=f'REMOVE        "{SSL_DIR}/{name}"')
            if not self.debounce:
                self._publish(data)
                self._watcher_started()
        if self.debounce:
            await asyncio.sleep(DEBOUNCE)
            if self.serving:
                self._publish(data)
                self._watcher_started()

    def crash(self, error: str, *, restarts: bool = True) -> None:
        """The process dies (``fatal error in gRPC server``): streams reset, the kubelet backs off and
        restarts it; with ``restarts`` every restart dies the same way before serving (CrashLoopBackOff)."""

        def fatal() -> None:
            address = f"0.0.0.0:{SDS_PORT}"
            self._fatal("fatal error in gRPC server", "server/server.go:93", address=address, error=error)

        fatal()
        self._spawn(self._stop_server())
        if restarts:
            self._spawn(self._crash_loop(fatal, listening=True))

    def fail_at_start(self, secret: SecretData, missing: tuple[str, ...], *, restarts: int = 0) -> None:
        """The volume lacks the secret's ``missing`` keys: every start stats the files ``STAT_RETRIES``
        times (~13 s), then dies Fatal ``could not find file`` and the kubelet backs off, until a refreshed
        volume has every key: that run serves ``secret`` (or what was written since). ``restarts``: the pod
        has been crash-looping that long already (the last run's log, ``CrashLoopBackOff``); 0, a new
        pod: its first run is this one, checking the files now."""
        self._target, self.mounted_missing = secret, missing

        def fatal() -> None:
            absent = next((name for name in _FILES if name in self.mounted_missing), _FILES[0])
            self._fatal(
                f"could not find file '{SSL_DIR}/{absent}'",
                "run/run_main.go:91",
                stacktrace="main.main\n\t/go/src/github.com/solo-io/gloo/projects/sds/cmd/main.go:10",
            )

        if restarts == 0:
            self._spawn(self._crash_loop(fatal, listening=False, running=True))
            return
        self._startup_lines()
        fatal()
        self._container().restart_count = restarts
        backoff = min(10.0 * 2 ** (restarts - 1), 300.0)
        self._spawn(self._crash_loop(fatal, listening=False, backoff=backoff))

    def _fatal(self, msg: str, caller: str, **fields: object) -> None:
        """The run dies (``log.Fatal``: exit 1); the kubelet shows it waiting in CrashLoopBackOff."""
        self._log(msg, "fatal", caller, **fields)
        container = self._container()
        container.exited(1, "Error")
        container.waiting_reason = "CrashLoopBackOff"

    async def _files_present(self) -> bool:
        """sds's start-up check of the mounted files, retried for ``STAT_RETRY_SECONDS``: True as soon as
        the volume has every key."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STAT_RETRY_SECONDS):
                while self.mounted_missing:
                    self._volume_refreshed.clear()
                    await self._volume_refreshed.wait()
        return not self.mounted_missing

    async def _crash_loop(
        self, fatal: Callable[[], None], *, listening: bool, backoff: float = 0.5, running: bool = False
    ) -> None:
        """The kubelet restarts the container at once, then backs off 10 s doubling to 300 s. A run that
        does not listen first checks the files (``_files_present``): found, it serves and the loop ends.
        ``running``: the container's first run (a new pod's) is this one, before any restart."""
        while True:
            if not running:
                await asyncio.sleep(backoff)
                backoff = 10.0 if backoff < 10.0 else min(backoff * 2, 300.0)
                self._container().restart()
            running = False
            container = self._container()
            container.ready, container.waiting_reason = True, None  # running; no readiness probe
            self._startup_lines()
            if listening:
                self._listening_lines()
            elif await self._files_present():
                assert self._target is not None
                try:
                    await self._listen(self._target)
                except OSError as exc:
                    self.crash(f"listen tcp 0.0.0.0:{SDS_PORT}: {exc.strerror}")
                return
            fatal()

    async def _stop_server(self) -> None:
        server, self.server = self.server, None
        self._snapshot = None
        if server is not None:
            await server.stop(None)

    async def stop(self) -> None:
        await cancel_and_wait(*self._tasks)
        await self._stop_server()
        self._release_port()
