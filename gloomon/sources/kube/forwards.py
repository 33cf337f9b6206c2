"""The forwards of one context, reconciled with its pods: new pod → forward, gone pod → re-target or close.

A forward whose pod disappears is handed to the component's new pod (same local address), found by label,
re-listing with exponential backoff (capped at 5 s) as soon as the API reports the pod gone — not only at
the next poll. A pod the API says is gone (no longer listed, terminating, or a 404 on its port-forward)
leaves the targets at once: it is not an unreachable Envoy, and a rolling restart raises no warning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from gloomon.domain.model import Component, ForwardState, ForwardStatus, PodInfo, TargetRef
from gloomon.sources.errors import describe_exception
from gloomon.sources.kube.client import ApiError, KubeReader
from gloomon.sources.kube.portforward import PodForward
from gloomon.tasks import cancel_and_wait

BACKOFF_START = 0.2
BACKOFF_CAP = 5.0
HEAL_DEADLINE = 60.0
#: how many names of gone pods are remembered (a poll in flight may still hold one of them)
GONE_MEMORY = 1024


def _runnable(pod: PodInfo) -> bool:
    return pod.phase == "Running" and not pod.deleting


@dataclass(frozen=True, slots=True)
class _Spare:
    """A forward whose pod is gone, kept (with its local port) for the component's next pod."""

    forward: PodForward
    until: datetime


class ForwardSet:
    """Forwards of one context; ``reconcile`` with each fresh pod list, ``targets`` for the poll."""

    def __init__(
        self,
        reader: KubeReader,
        admin_ports: Callable[[Component], int],
        *,
        clock: Callable[[], datetime],
        request_timeout: float,
        spare_seconds: float,
    ) -> None:
        self.reader = reader
        self._admin_port = admin_ports
        self._clock = clock
        self._timeout = request_timeout
        self._spare_ttl = timedelta(seconds=spare_seconds)
        self.forwards: dict[str, PodForward] = {}  # pod name → forward
        self._components: dict[str, Component] = {}  # pod name → component
        self._pods: dict[Component, list[PodInfo]] = {}
        self._gone: dict[str, None] = {}  # pods the API says are gone, oldest first
        self._spares: dict[Component, list[_Spare]] = {}
        self._healing: dict[Component, asyncio.Task[None]] = {}
        self._lock = asyncio.Lock()
        self._closed = False
        #: why the last reconcile could not open a loopback listener, if it could not
        self.listen_error: str | None = None

    @property
    def context(self) -> str:
        return self.reader.context

    @property
    def namespace(self) -> str:
        return self.reader.namespace

    async def reconcile(self, pods: Mapping[Component, list[PodInfo]]) -> None:
        """Make the forwards match ``pods`` (every component listed; an absent one keeps its forwards).

        A no-op once closed: a discovery finishing after ``close()`` must not open new listeners. A
        listener that cannot be opened (``EMFILE``, …) leaves that pod unforwarded until the next call and
        its reason in :attr:`listen_error`.
        """
        if self._closed:
            return
        async with self._lock:
            if self._closed:
                return
            self.listen_error = None
            for component, component_pods in pods.items():
                await self._reconcile_component(component, component_pods)

    async def _reconcile_component(self, component: Component, pods: list[PodInfo]) -> None:
        self._pods[component] = list(pods)
        now = self._clock()
        runnable = {pod.name for pod in pods if _runnable(pod)}
        listed = {pod.name for pod in pods if not pod.deleting}
        spares = self._spares.setdefault(component, [])
        for name in [n for n, c in self._components.items() if c is component and n not in runnable]:
            forward = self.forwards.pop(name)
            del self._components[name]
            if name not in listed:
                self._forget(name)
            forward.mark_down(f"pod {name} is gone")
            spares.append(_Spare(forward, now + self._spare_ttl))
        for pod in pods:
            if not _runnable(pod) or pod.name in self.forwards:
                continue
            if spares:
                forward = spares.pop(0).forward
                forward.retarget(pod.name, self._admin_port(component), pod.namespace or self.namespace)
            else:
                forward = PodForward(
                    self.reader.connection,
                    pod.namespace or self.namespace,
                    pod.name,
                    self._admin_port(component),
                    clock=self._clock,
                    connect_timeout=max(self._timeout, 2.0),
                    on_pod_gone=self._pod_gone,
                )
                try:
                    await forward.start()
                except OSError as exc:  # EMFILE, EADDRNOTAVAIL…: retried at the next reconcile
                    self.listen_error = f"port-forward: cannot listen on 127.0.0.1: {describe_exception(exc)}"
                    continue
            self.forwards[pod.name] = forward
            self._components[pod.name] = component
        expired = [spare for spare in spares if spare.until <= now]
        for spare in expired:
            spares.remove(spare)
            await spare.forward.close()

    def _forget(self, pod: str) -> None:
        """Remember that the API says ``pod`` is gone: it is no target any more, not even of a poll in
        flight (see :meth:`is_gone`)."""
        self._gone[pod] = None
        while len(self._gone) > GONE_MEMORY:
            del self._gone[next(iter(self._gone))]

    def is_gone(self, pod: str) -> bool:
        """Whether the API said ``pod`` is gone (unlisted, terminating, or a 404 on its port-forward)."""
        return pod in self._gone

    def _pod_gone(self, forward: PodForward) -> None:
        """Called by a forward on a 404: the pod leaves the targets, and the component's pods are
        re-listed with backoff until the forward is re-homed."""
        self._forget(forward.pod)
        component = self._components.get(forward.pod)
        if component is None or component in self._healing or self._closed:
            return
        self._healing[component] = asyncio.get_running_loop().create_task(self._heal(component))

    async def _heal(self, component: Component) -> None:
        delay = BACKOFF_START
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HEAL_DEADLINE
        try:
            while loop.time() < deadline:
                try:
                    pods = await self.reader.component_pods_of(component)
                except ApiError:
                    pods = None
                if pods is not None:
                    await self.reconcile({component: pods})
                    if not self._spares.get(component):
                        return
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_CAP)
        finally:
            self._healing.pop(component, None)

    def targets(self) -> list[TargetRef]:
        """Every pod of every component (forwarded or not runnable) but the gone ones, in a stable order."""
        refs: list[TargetRef] = []
        for component, pods in self._pods.items():
            for pod in pods:
                if pod.deleting or pod.name in self._gone:
                    continue
                forward = self.forwards.get(pod.name)
                ns = pod.namespace or self.namespace
                if forward is not None:
                    refs.append(
                        TargetRef(self.context, ns, component, pod.name, forward.url, forward.state, pod)
                    )
                else:
                    state = ForwardState(ForwardStatus.DOWN, None, pod.started_at, f"pod is {pod.phase}")
                    refs.append(TargetRef(self.context, ns, component, pod.name, None, state, pod))
        order = {component: index for index, component in enumerate(Component)}
        return sorted(refs, key=lambda ref: (order[ref.component], ref.pod))

    def forward_for(self, pod: str) -> PodForward | None:
        return self.forwards.get(pod)

    async def close(self) -> None:
        self._closed = True
        await cancel_and_wait(*self._healing.values())
        forwards, self.forwards = list(self.forwards.values()), {}
        forwards += [spare.forward for spares in self._spares.values() for spare in spares]
        self._spares.clear()
        self._components.clear()
        await asyncio.gather(*(forward.close() for forward in forwards), return_exceptions=True)
