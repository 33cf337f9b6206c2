"""What the user asked for, resolved from flags: one immutable object handed to sources and UI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gloomon.domain.model import DEFAULT_ADMIN_PORTS, Component

if TYPE_CHECKING:
    from gloomon.domain.health.judge import HealthPolicy


@dataclass(frozen=True, slots=True)
class DirectTarget:
    """``--target NAME=URL``: an admin URL polled without Kubernetes; NAME gives the component."""

    name: str
    component: Component
    url: str


@dataclass(frozen=True, slots=True)
class Settings:
    #: the namespace Gloo is installed in (gloo, the secret, certgen): the first ``-n``
    namespace: str = "gloo-system"
    #: more namespaces whose proxies are watched (``-n`` repeated: a classic proxy moved by
    #: ``gatewayProxies.<name>.namespace``, a Gateway's own namespace for its kube-gateway)
    extra_namespaces: tuple[str, ...] = ()
    #: ``--all-namespaces``: proxies are discovered in every namespace
    all_namespaces: bool = False
    kubeconfig: str | None = None
    #: kubeconfig contexts to watch; empty means the current context (or in-cluster config).
    contexts: tuple[str, ...] = ()
    interval: float = 5.0
    request_timeout: float = 3.0
    admin_ports: Mapping[Component, int] = field(default_factory=lambda: dict(DEFAULT_ADMIN_PORTS))
    targets: tuple[DirectTarget, ...] = ()
    #: None means HealthPolicy() defaults.
    policy: HealthPolicy | None = None
    log_buffer: int = 5000
    log_since_seconds: float = 600.0
    #: where the dashboard's ``s`` key writes its JSON file; None is the current directory
    save_dir: str | None = None

    @property
    def watched_namespaces(self) -> tuple[str, ...]:
        """Where proxies are discovered (``--all-namespaces`` aside): the release namespace first."""
        return tuple(dict.fromkeys((self.namespace, *self.extra_namespaces)))

    @property
    def direct(self) -> bool:
        """Only ``--target`` URLs, no Kubernetes."""
        return bool(self.targets)

    def admin_port(self, component: Component) -> int:
        return self.admin_ports.get(component, DEFAULT_ADMIN_PORTS[component])
