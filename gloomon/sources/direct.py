"""``--target NAME=URL``: admin URLs polled as given, without Kubernetes (no forward, no secret, no logs)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from gloomon.domain.models import ForwardState, ForwardStatus, TargetRef
from gloomon.settings import DirectTarget
from gloomon.sources.errors import SourceError

DIRECT_CONTEXT = "direct"


def check_url(url: str) -> str:
    """The URL without a trailing slash; :class:`SourceError` when it is not an http(s) URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"--target: not an http(s) admin URL: {url!r}")
    return url.rstrip("/")


def direct_targets(targets: Iterable[DirectTarget], namespace: str) -> list[TargetRef]:
    """One :class:`TargetRef` per ``--target``, in the order given, with a ``direct`` forward state."""
    refs = []
    for target in targets:
        url = check_url(target.url)
        state = ForwardState(ForwardStatus.DIRECT, local_address=urlsplit(url).netloc)
        refs.append(TargetRef(DIRECT_CONTEXT, namespace, target.component, target.name, url, state))
    return refs
