"""``--target NAME=URL``: admin URLs polled as given, without Kubernetes (no forward, no secret, no logs)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from gloomon.domain.model import ForwardState, ForwardStatus, TargetRef
from gloomon.settings import DirectTarget
from gloomon.sources.errors import SourceError

DIRECT_CONTEXT = "direct"


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: what may be shown, logged or exported."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2]
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_url(url: str) -> str:
    """The URL without a trailing slash; :class:`SourceError` when it is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise SourceError(f"--target: not an http(s) admin URL: {without_userinfo(url)!r}")
    return url.rstrip("/")


def direct_targets(
    targets: Iterable[DirectTarget], namespace: str, request_urls: dict[str, str] | None = None
) -> list[TargetRef]:
    """One :class:`TargetRef` per ``--target``, in the order given, with a ``direct`` forward state.

    The refs carry the URL without credentials; ``request_urls`` (shown URL → given URL) receives the
    ones that had ``user:password@``, for the admin poller to request with.
    """
    refs = []
    for target in targets:
        url = check_url(target.url)
        shown = without_userinfo(url)
        if shown != url and request_urls is not None:
            request_urls[shown] = url
        state = ForwardState(ForwardStatus.DIRECT, local_address=urlsplit(shown).netloc)
        refs.append(TargetRef(DIRECT_CONTEXT, namespace, target.component, target.name, shown, state))
    return refs
