"""The per-pod ``sds`` container stand-in: secret volume → SDS files for that pod's Envoy, plus Gloo's logs.

In a cluster the kubelet refreshes the pod's ``gloo-mtls-certs`` volume some time after the secret
changes, and the ``sds`` sidecar notices (fsnotify), re-reads ``tls.key``/``tls.crt``/``ca.crt`` and
publishes a snapshot whose version is a hash of the three files. Here one object plays both roles: after
a random kubelet-like delay it writes the pod's two SDS files (tmp + atomic rename into the watched
directory; Envoy's file watch picks them up) and logs the SDS server's zap-JSON lines
(reference/gloo-mtls.md §3.6–3.7), each with a ``seq`` field.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import Callable
from pathlib import Path

from gloomon.domain.model import SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET
from gloomon.lab.cluster.certs import SecretData
from gloomon.lab.cluster.store import Container
from gloomon.lab.cluster.util import fnv64

SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
SSL_DIR = "/etc/envoy/ssl"
#: the Gloo release the lab runs: its images' tag (``quay.io/solo-io/gloo:1.18.0``) and sds's log ``version``
GLOO_VERSION = "1.18.0"
_LOGGER = "sds_server"


def snapshot_version(data: SecretData) -> str:
    """Deterministic decimal uint64 over key, chain and CA, like ``GetSnapshotVersion`` (FNV-64 based)."""
    return str(fnv64(data.tls_key, data.tls_crt, data.ca_crt))


def write_sds_files(sds_dir: Path, data: SecretData, version: str) -> None:
    """Write ``server_cert.json`` and ``validation_context.json`` (one secret each, inline PEM)."""
    sds_dir.mkdir(parents=True, exist_ok=True)
    bodies = {
        SERVER_CERT_SECRET: {
            "@type": SECRET_TYPE,
            "name": SERVER_CERT_SECRET,
            "tls_certificate": {
                "certificate_chain": {"inline_string": data.tls_crt.decode()},
                "private_key": {"inline_string": data.tls_key.decode()},
            },
        },
        VALIDATION_CONTEXT_SECRET: {
            "@type": SECRET_TYPE,
            "name": VALIDATION_CONTEXT_SECRET,
            "validation_context": {"trusted_ca": {"inline_string": data.ca_crt.decode()}},
        },
    }
    for name in (VALIDATION_CONTEXT_SECRET, SERVER_CERT_SECRET):
        tmp = sds_dir / f".{name}.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump({"version_info": version, "resources": [bodies[name]]}, fh)
        os.replace(tmp, sds_dir / f"{name}.json")


def write_unserved_files(sds_dir: Path) -> None:
    """The SDS files of a pod whose sds server never serves: empty, so Envoy's secrets stay warming.

    Envoy 1.40 refuses to start when a ``path_config_source`` file is missing ("paths must refer to an
    existing path in the system"), so the files must exist. An empty file fails to parse *before* any
    config is available, which Envoy counts as ``update_failure`` (its stand-in for a failed stream, as
    with an SDS server that is down) and never as ``update_rejected``; a file with no resources would be
    a rejected update instead, which a real sds outage never produces.
    """
    sds_dir.mkdir(parents=True, exist_ok=True)
    for name in (VALIDATION_CONTEXT_SECRET, SERVER_CERT_SECRET):
        (sds_dir / f"{name}.json").touch(mode=0o600, exist_ok=True)


class SdsStandIn:
    """One pod's ``sds`` container: delivers the secret to that pod's Envoy after a kubelet-like delay.

    ``frozen`` (lagging pod: its volume stops being refreshed) ignores later secret updates; ``down``
    (sds-down) never delivers anything; ``transform`` rewrites what this pod receives (untrusted bundle).
    """

    def __init__(
        self,
        *,
        container: Callable[[], Container],
        sds_dir: Path,
        client: str,
        delay: tuple[float, float],
        stats_server: bool,
        rng: random.Random,
    ) -> None:
        self._container = container
        self.sds_dir = sds_dir
        self.client = client
        self.delay = delay
        self.stats_server = stats_server
        self.rng = rng
        self.frozen = False
        self.down = False
        self.transform: Callable[[SecretData], SecretData] | None = None
        self.delivered: SecretData | None = None
        self.version: str | None = None
        self._target: SecretData | None = None
        self._pending: asyncio.Task[None] | None = None
        self._crashloop: asyncio.Task[None] | None = None

    def _log(self, msg: str, level: str = "info", caller: str = "run/run.go:80", **fields: object) -> None:
        self._container().log.zap(level, _LOGGER, caller, msg, version=GLOO_VERSION, **fields)

    def start(self, initial: SecretData) -> None:
        """Container start: the startup sequence of §3.7, then the first snapshot (synchronously)."""
        self._startup_lines()
        if self.down:
            write_unserved_files(self.sds_dir)
            self._crash()
            # By the time anyone looks, the kubelet has restarted it once and is backing off.
            self._container().restart()
            self._startup_lines()
            self._crash()
            self._crashloop = asyncio.get_running_loop().create_task(self._crash_loop())
            return
        self._log("secrets confirmed present, proceeding to start SDS server", caller="run/run_main.go:98")
        self._log("sds server listening on 0.0.0.0:8234", caller="server/server.go:118")
        self._publish(initial)

    def _startup_lines(self) -> None:
        if self.stats_server:
            self._log("Stats server starting at :9091", caller="stats/stats.go:64")
        self._log("initializing config", caller="run/run_main.go:33")
        self._log(
            "config loaded", caller="run/run_main.go:54", glooMtlsSdsEnabled=True, istioMtlsSdsEnabled=False
        )
        self._log("checking for existence of secrets", caller="run/run_main.go:76")

    def _crash(self) -> None:
        """sds-down: the files never appear, so the container dies fatally and crash-loops."""
        container = self._container()
        self._log(
            f"could not find file '{SSL_DIR}/tls.key'",
            level="fatal",
            caller="run/run_main.go:91",
            stacktrace="main.main\n\t/go/src/github.com/solo-io/gloo/projects/sds/cmd/main.go:10",
        )
        container.ready = False
        container.waiting_reason = "CrashLoopBackOff"

    async def _crash_loop(self) -> None:
        backoff = 20.0
        while True:
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 300.0)
            self._container().restart()
            self._startup_lines()
            self._crash()

    def _publish(self, data: SecretData) -> None:
        delivered = self.transform(data) if self.transform else data
        version = snapshot_version(delivered)
        write_sds_files(self.sds_dir, delivered, version)
        self.delivered = delivered
        self.version = version
        self._log(
            f"Updating SDS config. sdsClient is {self.client}. Snapshot version is {version}",
            caller="server/server.go:76",
        )
        self._log(
            "watcher started",
            caller="run/run.go:71",
            sslKeyFile=f"{SSL_DIR}/tls.key",
            sshCertFile=f"{SSL_DIR}/tls.crt",
            sslCaFile=f"{SSL_DIR}/ca.crt",
        )

    def on_secret(self, data: SecretData) -> None:
        """The secret changed: deliver it after this pod's kubelet delay (latest content wins)."""
        if self.frozen or self.down:
            return
        self._target = data
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._deliver_later())

    async def _deliver_later(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.delay))
        data = self._target
        if data is None or self.frozen or self.down:
            return
        old = self.delivered
        for key, path in (("tls.key", "tls.key"), ("tls.crt", "tls.crt"), ("ca.crt", "ca.crt")):
            if old is None or old.as_dict()[key] != data.as_dict()[key]:
                self._log("received event", caller="run/run.go:93", event=f'REMOVE        "{SSL_DIR}/{path}"')
        self._publish(data)

    async def stop(self) -> None:
        for task in (self._pending, self._crashloop):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
