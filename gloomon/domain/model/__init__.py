"""Immutable models of everything gloomon knows: certificates, Envoy admin data, the secret, findings.

Every model is a frozen dataclass. Parsers (``gloomon.domain.parse``: ``envoy``, ``x509``, ``logs``)
build them from untrusted bytes; ``fleet.build_snapshot`` joins one poll's worth of them into a
:class:`FleetSnapshot`, which the UI and the report render and never mutate. Private keys never reach
any model.

The models live in ``vocabulary`` (vocabulary, parse errors, log events), ``certs``, ``admin`` (Envoy
admin data), ``cluster`` (Kubernetes-side state), ``webhook`` (gloo's validation webhook) and ``snapshot``
(judgement); this module re-exports every one of them so ``from gloomon.domain.model import X`` works.
"""

from __future__ import annotations

from gloomon.domain.model.admin import (
    CertsContext,
    CertsReport,
    ClustersReport,
    ClusterStatus,
    EnvoyStats,
    HostStatus,
    SdsSecret,
    SdsStats,
    SecretsDump,
    ServerInfo,
    TlsStats,
    UpstreamStats,
)
from gloomon.domain.model.certs import (
    CertInfo,
    PhaseVerdict,
    TrustBundle,
)
from gloomon.domain.model.cluster import (
    AdminFetch,
    ContainerState,
    ContextState,
    CronJobState,
    ForwardState,
    ForwardStatus,
    JobState,
    KubeEvent,
    Plane,
    PodInfo,
    SecretState,
    TargetRef,
)
from gloomon.domain.model.release import GlooRelease
from gloomon.domain.model.snapshot import (
    MTLS_HINT,
    MTLS_WORDS,
    Finding,
    FleetSnapshot,
    LinkState,
    MtlsState,
    PollTimings,
    SecretStatus,
    Subjects,
    TargetStatus,
    XdsLink,
    copy_source,
    gloo_namespaces,
    secret_of,
)
from gloomon.domain.model.vocabulary import (
    COMPONENT_ORDER,
    DEFAULT_ADMIN_PORTS,
    DEFAULT_ENVOY_CONTAINERS,
    SECRET_NAME,
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    Component,
    LogBatch,
    LogEvent,
    LogKind,
    ParseError,
    Phase,
    Severity,
)
from gloomon.domain.model.webhook import (
    WEBHOOK_CERTGEN_JOB,
    WEBHOOK_PORT,
    WEBHOOK_SECRET_NAME,
    WebhookConfig,
    WebhookEntry,
    WebhookState,
    webhook_config_name,
)

__all__ = [
    "COMPONENT_ORDER",
    "DEFAULT_ADMIN_PORTS",
    "DEFAULT_ENVOY_CONTAINERS",
    "MTLS_HINT",
    "MTLS_WORDS",
    "SECRET_NAME",
    "SERVER_CERT_SECRET",
    "VALIDATION_CONTEXT_SECRET",
    "WEBHOOK_CERTGEN_JOB",
    "WEBHOOK_PORT",
    "WEBHOOK_SECRET_NAME",
    "AdminFetch",
    "CertInfo",
    "CertsContext",
    "CertsReport",
    "ClusterStatus",
    "ClustersReport",
    "Component",
    "ContainerState",
    "ContextState",
    "CronJobState",
    "EnvoyStats",
    "Finding",
    "FleetSnapshot",
    "ForwardState",
    "ForwardStatus",
    "GlooRelease",
    "HostStatus",
    "JobState",
    "KubeEvent",
    "LinkState",
    "LogBatch",
    "LogEvent",
    "LogKind",
    "MtlsState",
    "ParseError",
    "Phase",
    "PhaseVerdict",
    "Plane",
    "PodInfo",
    "PollTimings",
    "SdsSecret",
    "SdsStats",
    "SecretState",
    "SecretStatus",
    "SecretsDump",
    "ServerInfo",
    "Severity",
    "Subjects",
    "TargetRef",
    "TargetStatus",
    "TlsStats",
    "TrustBundle",
    "UpstreamStats",
    "WebhookConfig",
    "WebhookEntry",
    "WebhookState",
    "XdsLink",
    "copy_source",
    "gloo_namespaces",
    "secret_of",
    "webhook_config_name",
]
