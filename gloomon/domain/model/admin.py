"""Envoy admin data: ``/certs``, ``/config_dump`` secrets, ``/clusters``, ``/stats`` and ``/server_info``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gloomon.domain.model.certs import CertInfo

# --------------------------------------------------------------------------------------------------
# Envoy admin data


@dataclass(frozen=True, slots=True)
class CertsContext:
    """One TLS context of ``/certs``."""

    ca_certs: tuple[CertInfo, ...]
    cert_chain: tuple[CertInfo, ...]


@dataclass(frozen=True, slots=True)
class CertsReport:
    """``/certs``: de-duplicated contexts. No contexts at all means no secret was delivered yet."""

    contexts: tuple[CertsContext, ...]

    @property
    def delivered(self) -> bool:
        return bool(self.contexts)


@dataclass(frozen=True, slots=True)
class SdsSecret:
    """One secret of ``/config_dump`` (``dynamic_active_secrets`` or ``dynamic_warming_secrets``).

    ``certs`` are the public certificates it carries: the chain of a ``tls_certificate`` (the private key
    is dropped) or the CAs of a ``validation_context``.
    """

    name: str
    kind: str  # "tls_certificate" | "validation_context" | "unknown"
    version_info: str | None
    last_updated: datetime | None
    certs: tuple[CertInfo, ...]
    warming: bool = False
    error: str | None = None  # why the certificates could not be read (bad PEM in the secret)


@dataclass(frozen=True, slots=True)
class SecretsDump:
    secrets: tuple[SdsSecret, ...]

    def get(self, name: str, *, warming: bool = False) -> SdsSecret | None:
        for secret in self.secrets:
            if secret.name == name and secret.warming == warming:
                return secret
        return None


@dataclass(frozen=True, slots=True)
class HostStatus:
    address: str
    health_flags: tuple[str, ...]  # () when healthy
    cx_active: int = 0
    cx_connect_fail: int = 0
    cx_total: int = 0
    rq_error: int = 0
    rq_success: int = 0
    rq_total: int = 0
    rq_timeout: int = 0
    #: the DNS name the host was resolved from (``/clusters`` ``hostname``): "" when Envoy gives none
    hostname: str = ""

    @property
    def healthy(self) -> bool:
        return not self.health_flags


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str
    observability_name: str | None
    hosts: tuple[HostStatus, ...]

    @property
    def healthy(self) -> bool:
        return bool(self.hosts) and all(host.healthy for host in self.hosts)

    @property
    def cx_connect_fail(self) -> int:
        return sum(host.cx_connect_fail for host in self.hosts)


@dataclass(frozen=True, slots=True)
class ClustersReport:
    clusters: tuple[ClusterStatus, ...]

    def get(self, name: str) -> ClusterStatus | None:
        for cluster in self.clusters:
            if name in (cluster.name, cluster.observability_name):
                return cluster
        return None


@dataclass(frozen=True, slots=True)
class SdsStats:
    """``sds.<secret>.*``: one secret's gRPC SDS subscription (file-based SDS has no stream state)."""

    secret: str
    version: str | None = None
    update_success: int = 0
    update_rejected: int = 0
    #: stream failures: each close of the SDS stream (the sds container gone) counts one
    update_failure: int = 0
    #: ``sds.<secret>.control_plane.connected_state``: its SDS stream open; None without one (file SDS)
    connected: bool | None = None
    #: the initial fetch timed out (``initial_fetch_timeout``, 15 s): the secret stayed warming that long
    init_fetch_timeout: int = 0


@dataclass(frozen=True, slots=True)
class UpstreamStats:
    """``cluster.<stat name>.upstream_cx_*`` of one cluster of the mTLS link: the xDS cluster
    (``xds_cluster``), gloo's hop to its own process (``gloo_xds_cluster``) or an SDS cluster
    (``gateway_proxy_sds``, ``gloo_sds``, ``gloo_client_sds``). Cluster-wide: they survive a host change."""

    cluster: str
    cx_connect_fail: int = 0
    cx_active: int = 0
    cx_total: int = 0


@dataclass(frozen=True, slots=True)
class TlsStats:
    """``ssl.*`` counters of one listener or cluster scope.

    Scopes look like ``listener.0.0.0.0_9977`` or ``cluster.xds_cluster``.
    """

    scope: str
    handshake: int = 0
    fail_verify_error: int = 0
    fail_verify_no_cert: int = 0
    connection_error: int = 0

    @property
    def errors(self) -> int:
        return self.fail_verify_error + self.fail_verify_no_cert + self.connection_error


@dataclass(frozen=True, slots=True)
class EnvoyStats:
    """The filtered subset of ``/stats`` gloomon asks for."""

    sds: tuple[SdsStats, ...] = ()
    tls: tuple[TlsStats, ...] = ()
    cert_expiry: Mapping[str, datetime] = field(default_factory=dict)
    #: the root ``control_plane.connected_state``: only ADS clients (gateway-proxy, kube-gateway) have it
    control_plane_connected: bool | None = None
    upstream: tuple[UpstreamStats, ...] = ()
    #: ``<scope>.{client,server}_ssl_socket_factory.*_context_secrets_not_ready`` summed per scope
    #: (``cluster.xds_cluster``, ``listener.0.0.0.0_9977``): connections refused for want of an SDS secret
    secrets_not_ready: Mapping[str, int] = field(default_factory=dict)
    raw: Mapping[str, int | str] = field(default_factory=dict, repr=False, compare=False)

    def sds_for(self, secret: str) -> SdsStats | None:
        for item in self.sds:
            if item.secret == secret:
                return item
        return None

    def upstream_for(self, cluster: str) -> UpstreamStats | None:
        """The counters of the cluster of stat name ``cluster``, when ``/stats`` gave them."""
        for item in self.upstream:
            if item.cluster == cluster:
                return item
        return None


@dataclass(frozen=True, slots=True)
class ServerInfo:
    version: str | None  # semver, e.g. "1.40.0"
    full_version: str | None
    state: str  # LIVE | DRAINING | PRE_INITIALIZING | INITIALIZING | unknown
    uptime_seconds: float | None = None  # as of ``read_at``
    #: when this ``/server_info`` was read (it is read once per Envoy): its uptime is as of then, so the
    #: Envoy started at ``read_at - uptime``; None: as of the fetch carrying it
    read_at: datetime | None = None
