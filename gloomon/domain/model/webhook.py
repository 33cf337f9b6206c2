"""gloo's validation webhook as observed: ``gateway-validation-certs``, the ValidatingWebhookConfiguration's
``caBundle`` and failure policy, the certificate gloo actually serves on its 8443, and certgen's Jobs.

The same certgen binary that rotates ``gloo-mtls-certs`` writes this secret (Job ``gateway-certgen``) and
patches the webhook configuration's ``caBundle`` (reference/real-clusters.md §5). ``tls.key`` is dropped on
receipt, as for the mTLS secret: no model holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gloomon.domain.model.certs import CertInfo, TrustBundle
from gloomon.domain.model.cluster import JobState

WEBHOOK_SECRET_NAME = "gateway-validation-certs"
#: Helm's name is ``gloo-gateway-validation-webhook-<release namespace>``
WEBHOOK_CONFIG_PREFIX = "gloo-gateway-validation-webhook-"
#: the Helm hook Job (``6.5-gateway-certgen-job.yaml``) and the label of its Jobs and pods
WEBHOOK_CERTGEN_JOB = "gateway-certgen"
#: the port of the gloo container that serves the webhook (Service ``gloo`` port 443 → 8443)
WEBHOOK_PORT = 8443


def webhook_config_name(namespace: str) -> str:
    return f"{WEBHOOK_CONFIG_PREFIX}{namespace}"


@dataclass(frozen=True, slots=True)
class WebhookEntry:
    """One ``webhooks[]`` item: what the API server trusts (``caBundle``) and dials (the service)."""

    name: str
    #: the decoded ``clientConfig.caBundle``; an empty bundle when the field is empty or absent
    ca_bundle: TrustBundle
    #: ``Fail`` or ``Ignore`` as written; None when unset (the API server's default is ``Fail``)
    failure_policy: str | None
    service_name: str | None
    service_namespace: str | None
    path: str | None = None
    port: int | None = None
    #: why the caBundle could not be decoded (not base64, not PEM)
    ca_bundle_error: str | None = None

    @property
    def fails_closed(self) -> bool:
        """Whether a broken webhook rejects every request it matches (``Fail``, also the default)."""
        return (self.failure_policy or "Fail") != "Ignore"

    @property
    def service_host(self) -> str | None:
        """The name the API server verifies the served certificate against: ``<svc>.<ns>.svc``."""
        if not self.service_name or not self.service_namespace:
            return None
        return f"{self.service_name}.{self.service_namespace}.svc"


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """The cluster-scoped ``ValidatingWebhookConfiguration`` ``gloo-gateway-validation-webhook-<ns>``."""

    name: str
    webhooks: tuple[WebhookEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookState:
    """Everything one poll read about the validation webhook of one context.

    Each part has its own outcome, since RBAC may allow the secret and not the cluster-scoped webhook
    configuration: ``*_missing`` means the API answered 404, ``*_error`` any other failure (403 included,
    with ``config_forbidden`` for the configuration).
    """

    context: str
    namespace: str
    read_at: datetime
    secret_bundle: TrustBundle | None = None
    secret_leaf: CertInfo | None = None
    secret_missing: bool = False
    #: 403 on the secret (a Role without it): an RBAC matter, said at info, the rest still judged
    secret_forbidden: bool = False
    secret_error: str | None = None
    config: WebhookConfig | None = None
    config_missing: bool = False
    config_forbidden: bool = False
    config_error: str | None = None
    #: the leaf gloo presented in a TLS handshake on its 8443 (port-forwarded), when one was made
    served: CertInfo | None = None
    served_error: str | None = None
    #: the gloo pod whose 8443 was read
    served_pod: str | None = None
    #: ``gateway-certgen`` Jobs (the Helm hook, or the cron's), oldest first
    jobs: tuple[JobState, ...] = ()
    jobs_error: str | None = None

    @property
    def installed(self) -> bool:
        """Whether this context runs gloo's validation webhook at all (any of its parts exists)."""
        return not (self.secret_missing and self.config_missing and not self.jobs and self.served is None)
