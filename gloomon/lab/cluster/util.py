"""Small helpers shared by the lab's parts: loopback ports, orphan-proof children, Kubernetes-ish names."""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import tempfile
from datetime import UTC, datetime
from pathlib import Path

_PR_SET_PDEATHSIG = 1
#: The alphabet Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port that is free right now (the OS picks it; never a fixed port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def reserve_port(host: str = "127.0.0.1") -> socket.socket:
    """A loopback port held for a server that listens later: bound (the OS picks it) and not listening, so
    connections to it are refused as to an empty port and no other socket can bind it (no
    ``SO_REUSEADDR``) until the caller closes it, just before its server binds the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    return sock


def die_with_parent() -> None:
    """``preexec_fn`` for children: the kernel SIGKILLs them when the lab's process dies (no orphans)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may have died between fork and prctl: then nobody would ever kill us.
    if os.getppid() == 1:
        os._exit(1)


def name_suffix(length: int = 5) -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(length))


def now_utc() -> datetime:
    return datetime.now(UTC)


def rfc3339(ts: datetime) -> str:
    """Kubernetes ``metav1.Time``: seconds precision, ``Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(ts: datetime) -> str:
    """kubelet's ``timestamps=true`` prefix: RFC3339Nano (``2026-11-25T20:52:32.123456789Z``)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def zap_ts(ts: datetime) -> str:
    """zap's ISO8601 encoder as Gloo configures it: milliseconds, ``Z``."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def fnv64(*parts: bytes) -> int:
    """FNV-1 64-bit over the parts (Go's ``fnv.New64``), the lab's SDS snapshot version."""
    value = 0xCBF29CE484222325
    for part in parts:
        for byte in part:
            value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
            value ^= byte
    return value


WORKDIR_PREFIX = "gloomon-lab-"
OWNER_FILE = "owner.pid"


def make_workdir() -> Path:
    """A fresh temporary lab directory, stamped with our pid so a later lab can clean it up if we crash."""
    path = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
    (path / OWNER_FILE).write_text(str(os.getpid()))
    return path


def remove_stale_workdirs() -> None:
    """Delete temporary lab directories whose owning process is gone (a killed lab leaves its pods' files)."""
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            pid = int((path / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(path, ignore_errors=True)
