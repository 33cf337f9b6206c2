"""The bundle's .tar.gz, written member by member under ``--max-size``.

The budget counts what a member costs in the uncompressed tar (a 512-byte header, long-name headers,
the content rounded up to 512 bytes), so the compressed file can only be smaller than the limit; a share
of it is kept back for README.txt, written last, which says what did not fit. Once one member does not
fit, nothing more is added ("stop adding"): the rest is listed as left out. The file is written under
``<name>.partial`` and renamed when complete, so an interrupted run leaves no archive that looks whole.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

from gloomon.sources.limits import MB

#: tar's block; a member costs its header block(s) and its content rounded up to whole blocks
_BLOCK = 512
#: a member's header with room for a long name (GNU longname: two more blocks)
_HEADER_COST = 3 * _BLOCK
#: README.txt's share of the budget: its longest text, and gzip's worst case on incompressible data
README_RESERVE = 64 * 1024
#: the smallest --max-size that leaves room for more than README.txt
MIN_MAX_SIZE = 256 * 1024


def cost(size: int) -> int:
    """Bytes ``size`` bytes of content take in the uncompressed tar."""
    return _HEADER_COST + -(-size // _BLOCK) * _BLOCK


def human_size(size: int) -> str:
    """``12.3 MB``, ``4.5 KB``, ``17 B`` (1024-based, as --max-size reads them)."""
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} B"


class BundleArchive:
    """Add members with :meth:`add`; :meth:`finish` writes README.txt and renames the file in place."""

    def __init__(self, path: Path, max_size: int, *, mtime: float | None = None) -> None:
        self.path = path
        self.max_size = max_size
        self.prefix = path.name.removesuffix(".tar.gz").removesuffix(".tgz") or "gloomon-bundle"
        self._partial = path.with_name(path.name + ".partial")
        self._tar = tarfile.open(self._partial, "w:gz", format=tarfile.GNU_FORMAT)  # noqa: SIM115
        self._budget = max_size - README_RESERVE - max_size // 500 - 2 * _BLOCK
        self._used = 0
        self._mtime = time.time() if mtime is None else mtime
        #: (name inside the bundle, content bytes) in the order added
        self.members: list[tuple[str, int]] = []
        #: what was not added because the budget ran out (names, with sizes when known)
        self.left_out: list[str] = []
        self.full = False

    def add(self, name: str, data: bytes) -> bool:
        """Add ``data`` as ``<prefix>/<name>``; False (and listed as left out) when it does not fit."""
        if self.full or self._used + cost(len(data)) > self._budget:
            self.full = True
            self.left_out.append(f"{name} ({human_size(len(data))})")
            return False
        self._write(name, data)
        self._used += cost(len(data))
        self.members.append((name, len(data)))
        return True

    def skip(self, name: str) -> None:
        """Record ``name`` as left out without fetching it (the budget already ran out)."""
        self.full = True
        self.left_out.append(f"{name} (not fetched)")

    def _write(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(f"{self.prefix}/{name}")
        info.size = len(data)
        info.mtime = int(self._mtime)
        info.mode = 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def finish(self, readme: str) -> int:
        """Write README.txt (cut to its reserve), close, move into place; the archive's size in bytes."""
        data = readme.encode()
        limit = README_RESERVE - _HEADER_COST - _BLOCK
        if len(data) > limit:
            data = data[: limit - 40].rsplit(b"\n", 1)[0] + b"\n[README cut at its size limit]\n"
        self._write("README.txt", data)
        self._tar.close()
        self._partial.replace(self.path)
        return self.path.stat().st_size

    def discard(self) -> None:
        """Close and delete the unfinished file (nothing was worth keeping, or the run failed)."""
        self._tar.close()
        self._partial.unlink(missing_ok=True)
