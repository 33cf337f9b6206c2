"""The lists of one context across its watched namespaces (``-n`` repeated, ``--all-namespaces``):
the proxies' pods and Deployments, and from them which components are missing or not installed.

Mixed into :class:`gloomon.sources.kube.client.KubeReader`, which gives it the API clients and
``_json`` (one call, decoded, errors as :class:`ApiError`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from gloomon.domain.model import Component, PodInfo
from gloomon.sources.errors import ApiError
from gloomon.sources.kube import objects as kube_objects

#: the component expected in every Gloo installation; every other one only when a Deployment of it
#: exists (classic proxies can be disabled, extauth and rate-limit are Enterprise, kube-gateway 1.19+)
_ALWAYS_EXPECTED = (Component.GLOO,)


class WatchedLists:
    """List calls over :attr:`watched` (None: every namespace), each merged into one list."""

    #: where pods and Deployments are listed (the release namespace first); None: every namespace
    watched: tuple[str, ...] | None
    timeout: float
    #: the components the last Deployment list had (None: not listed, or not allowed to list)
    deployed: frozenset[Component] | None
    _core: Any
    _apps: Any

    async def _json(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        raise NotImplementedError  # KubeReader's

    async def _list_watched(self, what: str, namespaced: Any, everywhere: Any, **query: Any) -> Any:
        """One list call per watched namespace (one for all with ``--all-namespaces``), merged."""
        if self.watched is None:
            return await self._json(
                f"{what} (all namespaces)", lambda: everywhere(_request_timeout=self.timeout, **query)
            )

        def call(namespace: str) -> Callable[[], Awaitable[Any]]:
            return lambda: namespaced(namespace, _request_timeout=self.timeout, **query)

        lists = await asyncio.gather(*(self._json(f"{what} in {ns}", call(ns)) for ns in self.watched))
        return kube_objects.merge_lists(lists)

    async def _watched_pods(self) -> Any:
        """Every pod of :data:`~objects.POD_SELECTORS` in the watched namespaces, as one list."""
        lists = await asyncio.gather(
            *(
                self._list_watched(
                    f"pods ({selector})",
                    self._core.list_namespaced_pod_without_preload_content,
                    self._core.list_pod_for_all_namespaces_without_preload_content,
                    label_selector=selector,
                )
                for selector in kube_objects.POD_SELECTORS
            )
        )
        return kube_objects.merge_lists(lists)

    async def component_pods_of(self, component: Component) -> list[PodInfo]:
        return kube_objects.pods_of(await self._watched_pods(), component)

    async def component_presence(
        self, pods: dict[Component, list[PodInfo]]
    ) -> tuple[tuple[Component, ...], tuple[Component, ...]]:
        """(missing, not installed): components expected (gloo always; the others when a Deployment of
        theirs exists) without a ready pod, and components with neither a Deployment nor a pod."""
        try:
            deployments = kube_objects.deployment_components(
                await self._list_watched(
                    "deployments",
                    self._apps.list_namespaced_deployment_without_preload_content,
                    self._apps.list_deployment_for_all_namespaces_without_preload_content,
                )
            )
        except ApiError as error:
            if error.status == 0:
                raise
            deployments = {}  # RBAC without deployments: judge from pods alone
            self.deployed = None
        else:
            self.deployed = frozenset(deployments)
        missing, absent = [], []
        for component in Component:
            listed = [pod for pod in pods.get(component, ()) if not pod.deleting]
            expected = component in deployments or component in _ALWAYS_EXPECTED
            if expected and not any(pod.ready for pod in listed):
                missing.append(component)
            elif not expected and not listed:
                absent.append(component)
        return tuple(missing), tuple(absent)
