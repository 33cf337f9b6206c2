"""Turn kubeconfig (or the pod's service account) into one API connection per watched context.

Resolution order, like kubectl: ``settings.kubeconfig``, then ``$KUBECONFIG`` (a ``:``-separated list,
merged), then ``~/.kube/config``; only when none of those exists and ``KUBERNETES_SERVICE_HOST`` is set,
the in-cluster service account. Every failure becomes a :class:`SourceError` with a one-line message.
``kubernetes.aio`` is imported here, lazily, so ``gloomon --help`` never pays for it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gloomon.domain.text import one_line
from gloomon.sources.errors import SourceError
from gloomon.sources.kube.credentials import Credentials
from gloomon.sources.kube.rest import RawApi

if TYPE_CHECKING:
    from gloomon.settings import Settings

IN_CLUSTER_CONTEXT = "in-cluster"
_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(eq=False)
class KubeConnection:
    """One context's clients: ``api`` for REST calls, ``ws`` (a ``WsApiClient``) for port-forward."""

    context: str
    server: str
    configuration: Any = field(repr=False)
    api: Any = field(repr=False)
    ws: Any = field(repr=False)

    def core(self, *, websocket: bool = False) -> Any:
        return RawApi(self.ws if websocket else self.api)

    def apps(self) -> Any:
        return RawApi(self.api)

    def batch(self) -> Any:
        return RawApi(self.api)

    async def close(self) -> None:
        for client in (self.ws, self.api):
            with contextlib.suppress(Exception):  # closing is best effort; nothing left to tell the user
                await client.close()


def kubeconfig_paths(settings: Settings) -> str | None:
    """The kubeconfig path list to read, or None when there is none (→ in-cluster, if available)."""
    if settings.kubeconfig:
        return settings.kubeconfig
    env = os.environ.get("KUBECONFIG")
    if env:
        return env
    default = Path.home() / ".kube" / "config"
    return str(default) if default.exists() else None


async def connect(settings: Settings) -> list[KubeConnection]:
    """One connection per requested context (or the current one). Raises :class:`SourceError`."""
    paths = kubeconfig_paths(settings)
    if paths is None:
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not settings.contexts:
            return [await _in_cluster()]
        raise SourceError(
            "no kubeconfig found (tried --kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a pod"
        )
    merged = _merge(paths)
    contexts = settings.contexts or (_current_context(merged, paths),)
    connections: list[KubeConnection] = []
    try:
        for name in contexts:
            connections.append(await _from_kubeconfig(merged, name))
    except BaseException:
        for connection in connections:
            await connection.close()
        raise
    return connections


def _merge(paths: str) -> Any:
    from kubernetes.aio.config.kube_config import KubeConfigMerger

    existing = [p for p in paths.split(os.pathsep) if p and Path(p).expanduser().exists()]
    if not existing:
        raise SourceError(f"kubeconfig: file not found: {paths}")
    try:
        merger = KubeConfigMerger(os.pathsep.join(existing))
    except Exception as exc:  # yaml/IO errors of every kind
        raise SourceError(f"kubeconfig: cannot read {paths}: {one_line(str(exc))}") from None
    if merger.config is None:
        raise SourceError(f"kubeconfig: {paths} is empty")
    return merger.config


def _context_names(merged: Any) -> list[str]:
    try:
        return [str(item["name"]) for item in merged["contexts"]]
    except Exception:  # malformed files are reported, not crashed on
        return []


def _current_context(merged: Any, paths: str) -> str:
    try:
        current = merged.value.get("current-context")
    except AttributeError:
        current = None
    if not current:
        names = ", ".join(_context_names(merged)) or "none"
        raise SourceError(f"kubeconfig: no current-context in {paths}; pass --context (contexts: {names})")
    return str(current)


async def _from_kubeconfig(merged: Any, context: str) -> KubeConnection:
    from kubernetes.aio.client import ApiClient, Configuration
    from kubernetes.aio.config.kube_config import KubeConfigLoader
    from kubernetes.aio.stream import WsApiClient

    names = _context_names(merged)
    if context not in names:
        available = ", ".join(names) or "none"
        raise SourceError(f"kubeconfig: context '{context}' not found (contexts: {available})")
    configuration = type.__call__(Configuration)
    try:
        loader = KubeConfigLoader(config_dict=merged, config_base_path=None, active_context=context)
        await loader.load_and_set(configuration)
    except SourceError:
        raise
    except Exception as exc:  # ConfigException, missing files, exec plugin failures
        raise SourceError(f"kubeconfig: context '{context}': {one_line(str(exc))}") from None
    _renewing(loader, configuration)
    return _connection(context, configuration, ApiClient, WsApiClient)


def _renewing(loader: Any, configuration: Any) -> None:
    """Renew an exec plugin's, a token file's or an OIDC token during the session (``credentials``)."""
    user = getattr(loader, "_user", None)  # the user section the loader resolved for the context
    path = getattr(user, "path", None)
    base = Path(path).parent if isinstance(path, str) else None
    credentials = Credentials(user, configuration, loader, base_path=base)
    if credentials.kind != "static":
        credentials.install()


async def _in_cluster() -> KubeConnection:
    from kubernetes.aio.client import ApiClient, Configuration
    from kubernetes.aio.config.incluster_config import InClusterConfigLoader
    from kubernetes.aio.stream import WsApiClient

    configuration = type.__call__(Configuration)
    try:
        InClusterConfigLoader(
            token_filename=str(_SA_DIR / "token"), cert_filename=str(_SA_DIR / "ca.crt")
        ).load_and_set(configuration)
    except Exception as exc:  # ConfigException and IO errors
        raise SourceError(f"in-cluster config: {one_line(str(exc))}") from None
    return _connection(IN_CLUSTER_CONTEXT, configuration, ApiClient, WsApiClient)


def _connection(context: str, configuration: Any, api_cls: Any, ws_cls: Any) -> KubeConnection:
    return KubeConnection(
        context=context,
        server=str(configuration.host),
        configuration=configuration,
        api=api_cls(configuration=configuration),
        ws=ws_cls(configuration=configuration),
    )
