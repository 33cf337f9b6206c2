"""What a :class:`gloomon.lab.lab.Lab` and a :class:`gloomon.lab.fleet.LabFleet` share: a working
directory (a temporary one made at start, removed at stop, unless one is given), the kubeconfigs in it,
``async with``, and a start that, failing, stops whatever it started and raises one
:class:`LabStartError` naming what did not start."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Self

from gloomon.lab.cluster.util import make_workdir
from gloomon.lab.pods.process import LabStartError


class Lifecycle:
    """Subclasses give ``_start`` (the work of a start), ``stop`` (idempotent; it calls
    ``_remove_workdir`` last) and ``_what`` (``the lab (healthy)``)."""

    def __init__(self, workdir: Path | str | None) -> None:
        self._own_workdir = workdir is None
        #: pods' files and the kubeconfigs; a temporary directory (made at start) unless given
        self.workdir = Path(workdir) if workdir is not None else Path()
        self._stopped = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def kubeconfig_path(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def exec_kubeconfig_path(self) -> Path:
        """The same contexts, whose users run an exec plugin for short-lived tokens."""
        return self.workdir / "kubeconfig-exec"

    @property
    def _what(self) -> str:
        raise NotImplementedError

    async def start(self) -> None:
        if self._own_workdir:
            self.workdir = make_workdir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            await self._start()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, LabStartError):
                raise LabStartError(f"{self._what} did not start: {exc}") from exc
            raise

    async def _start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    def _remove_workdir(self) -> None:
        if self._own_workdir and self.workdir != Path():
            shutil.rmtree(self.workdir, ignore_errors=True)
