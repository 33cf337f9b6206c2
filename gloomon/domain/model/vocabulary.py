"""Vocabulary shared by every model (components, severities, phases), the parsers' typed failure, and
parsed log lines.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# --------------------------------------------------------------------------------------------------
# Vocabulary


class Component(enum.StrEnum):
    """A Gloo deployment whose Envoy takes part in the internal mTLS.

    ``gateway-proxy`` is every classic proxy (``gatewayProxies.<name>``), ``kube-gateway`` every Gloo
    1.19+ Kubernetes Gateway API proxy; the proxy's own name is the pod's ``proxy`` (real-clusters.md §4).
    """

    GLOO = "gloo"
    GATEWAY_PROXY = "gateway-proxy"
    EXTAUTH = "extauth"
    RATE_LIMIT = "rate-limit"
    KUBE_GATEWAY = "kube-gateway"

    @classmethod
    def parse(cls, text: str) -> Component | None:
        try:
            return cls(text)
        except ValueError:
            return None


COMPONENT_ORDER: tuple[Component, ...] = tuple(Component)

#: Default Envoy admin port per component (reference/gloo-mtls.md §1, §2.5).
DEFAULT_ADMIN_PORTS: Mapping[Component, int] = {
    Component.GLOO: 8001,
    Component.GATEWAY_PROXY: 19000,
    Component.EXTAUTH: 8001,
    Component.RATE_LIMIT: 8001,
    Component.KUBE_GATEWAY: 19000,  # gateway2 chart: admin on 127.0.0.1:19000
}

#: The container running each component's Envoy when its proxy has the default name. A classic proxy's
#: main container is named after the proxy (``public-gw``); a pod's own is ``PodInfo.envoy_container``.
DEFAULT_ENVOY_CONTAINERS: Mapping[Component, str] = {
    Component.GLOO: "envoy-sidecar",
    Component.GATEWAY_PROXY: "gateway-proxy",
    Component.EXTAUTH: "envoy-sidecar",
    Component.RATE_LIMIT: "envoy-sidecar",
    Component.KUBE_GATEWAY: "gloo-gateway",
}

SECRET_NAME = "gloo-mtls-certs"
SERVER_CERT_SECRET = "server_cert"
VALIDATION_CONTEXT_SECRET = "validation_context"


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Phase(enum.StrEnum):
    """Where a (bundle, leaf) pair stands in certgen's three-phase rotation (DESIGN.md)."""

    STEADY = "steady"
    CA_ADDED = "ca-added"
    LEAF_ROTATED = "leaf-rotated"
    STALLED = "stalled"
    BROKEN = "broken"
    UNKNOWN = "unknown"


# --------------------------------------------------------------------------------------------------
# Parse results


@dataclass(frozen=True, slots=True)
class ParseError:
    """A parser's typed failure: what was being parsed and why it could not be.

    Parsers return ``T | ParseError`` and never raise past the domain boundary.
    """

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


# --------------------------------------------------------------------------------------------------
# Logs


class LogKind(enum.StrEnum):
    PLAIN = "plain"
    SDS_UPDATE = "sds-update"  # Updating SDS config … Snapshot version is N
    SDS_UPDATE_FAILED = "sds-update-failed"
    SDS_START = "sds-start"
    CERTGEN_PHASE = "certgen-phase"  # updating to both ca bundles / new server cert / new ca bundle
    CERTGEN_WAIT = "certgen-wait"  # grace period … N seconds remaining
    CERTGEN_DONE = "certgen-done"
    CERTGEN_CANCELLED = "certgen-cancelled"
    XDS_STREAM_CLOSED = "xds-stream-closed"
    TLS_VERIFY_FAILED = "tls-verify-failed"
    UPSTREAM_CONNECT_ERROR = "upstream-connect-error"
    SECRET_NOT_SUPPLIED = "secret-not-supplied"
    CONFIG_REJECTED = "config-rejected"
    ENVOY_START = "envoy-start"


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One parsed log line. ``message`` is remote text: render it literally."""

    ts: datetime | None
    level: str  # debug | info | warning | error | critical
    component: Component | None
    pod: str
    container: str
    message: str
    kind: LogKind = LogKind.PLAIN
    fields: Mapping[str, str] = field(default_factory=dict)
    raw: str = field(default="", repr=False, compare=False)
    #: when the kubelet received the line (its ``timestamps=true`` prefix): the order across streams;
    #: ``ts`` is the line's own time, shown but never used to reorder (a pod can back-date its lines)
    received: datetime | None = field(default=None, compare=False)
    #: the context (cluster) whose pod wrote it; None where no context is known (``--target``, tests)
    context: str | None = None


@dataclass(frozen=True, slots=True)
class LogBatch:
    """What the log ring took in: from its line number ``start`` on, it now holds ``events``.

    Lines are numbered from the first the ring ever held, so a reader mirroring the ring keeps its lines
    before ``start`` and replaces the rest. ``start`` equals the reader's end when the batch only appends;
    it is earlier when late lines (a resumed stream's catch-up) were merged in above newer ones.
    """

    start: int
    events: tuple[LogEvent, ...]
