"""Read gloo's validation webhook: ``gateway-validation-certs``, the ValidatingWebhookConfiguration, the
``gateway-certgen`` Jobs, and the certificate gloo actually serves on its 8443.

The served certificate comes from a TLS handshake (no HTTP request) through a port-forward to the gloo
pod's 8443, verification off (the point is to see what is served, trusted or not), SNI
``gloo.<ns>.svc`` as the API server sends it. The forward is kept between polls and re-targeted when the
gloo pod changes; the handshake is repeated every :data:`SERVED_EVERY` reads, and at once for a new gloo
pod or container restart (what makes gloo load a renewed secret). The secret's ``tls.key`` is dropped
on receipt (:func:`objects.drop_private_key`), before anything reads the decoded object. The
configuration is cluster-scoped: a 403 there (a namespaced Role only) is a state the domain reports once;
the rest is still read.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ssl
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from gloomon.domain.model import (
    WEBHOOK_CERTGEN_JOB,
    WEBHOOK_PORT,
    WEBHOOK_SECRET_NAME,
    CertInfo,
    JobState,
    ParseError,
    PodInfo,
    TrustBundle,
    WebhookConfig,
    WebhookEntry,
    WebhookState,
    webhook_config_name,
)
from gloomon.domain.parse import x509
from gloomon.sources.errors import describe_exception
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.kube.client import ApiError, KubeReader
from gloomon.sources.kube.portforward import PodForward
from gloomon.sources.kube.rest import RawApi

#: the CronJob Helm makes for the webhook when ``gateway.certGenJob.cron.enabled`` (its Jobs' owner)
WEBHOOK_CRONJOB = "gateway-certgen-cronjob"
#: how long the handshake through the forward may take
HANDSHAKE_TIMEOUT = 5.0
#: a served certificate is read again after this many reads of the same gloo pod (and container restarts),
#: at once when the pod changes or the last handshake failed: a handshake through a new port-forward
#: websocket costs ~70 ms CPU in the lab (both ends), the API reads ~2 ms each
SERVED_EVERY = 6


def _as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def webhook_entries(obj: Any) -> WebhookConfig:
    """A decoded ValidatingWebhookConfiguration → its webhooks' caBundle, failurePolicy and service."""
    meta = _as_map(_as_map(obj).get("metadata"))
    entries = []
    hooks = _as_map(obj).get("webhooks")
    for hook in hooks if isinstance(hooks, list) else ():
        if not isinstance(hook, Mapping):
            continue
        client = _as_map(hook.get("clientConfig"))
        service = _as_map(client.get("service"))
        bundle, error = _ca_bundle(client.get("caBundle"))
        port = service.get("port")
        policy = hook.get("failurePolicy")
        entries.append(
            WebhookEntry(
                name=str(hook.get("name") or ""),
                ca_bundle=bundle,
                failure_policy=str(policy) if isinstance(policy, str) and policy else None,
                service_name=str(service["name"]) if service.get("name") else None,
                service_namespace=str(service["namespace"]) if service.get("namespace") else None,
                path=str(service["path"]) if service.get("path") else None,
                port=port if isinstance(port, int) else (443 if service else None),
                ca_bundle_error=error,
            )
        )
    return WebhookConfig(name=str(meta.get("name") or ""), webhooks=tuple(entries))


def _ca_bundle(value: Any) -> tuple[TrustBundle, str | None]:
    """``caBundle`` is base64 of PEM in JSON; empty or absent is an empty bundle (no error)."""
    if not value:
        return TrustBundle(), None
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return TrustBundle(), "is not base64"
    parsed = x509.parse_pem_bundle(raw, source="caBundle")
    if isinstance(parsed, ParseError):
        return TrustBundle(), f"is unreadable: {parsed.message}"
    return TrustBundle(cas=parsed), None


def webhook_jobs(list_obj: Any) -> tuple[JobState, ...]:
    """The webhook's certgen Jobs: named ``gateway-certgen…``, labelled ``gloo=gateway-certgen`` or owned
    by its CronJob (whose Jobs carry no ``gloo`` label)."""
    items = _as_map(list_obj).get("items")
    jobs = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        meta = _as_map(item.get("metadata"))
        labels = _as_map(meta.get("labels"))
        owners = meta.get("ownerReferences")
        owned = any(
            isinstance(o, Mapping) and o.get("name") == WEBHOOK_CRONJOB
            for o in (owners if isinstance(owners, list) else ())
        )
        if (
            str(meta.get("name", "")).startswith(WEBHOOK_CERTGEN_JOB)
            or labels.get("gloo") == WEBHOOK_CERTGEN_JOB
            or owned
        ):
            jobs.append(kube_objects.job_state(item))
    return tuple(sorted(jobs, key=lambda job: (job.started_at is not None, job.started_at, job.name)))


async def served_certificate(address: str, server_name: str) -> CertInfo:
    """The leaf presented in a TLS handshake with ``host:port`` (verification off, SNI ``server_name``);
    raises OSError / ssl.SSLError / TimeoutError, or ValueError when no certificate came."""
    host, _, port = address.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    async with asyncio.timeout(HANDSHAKE_TIMEOUT):
        _, writer = await asyncio.open_connection(host, int(port), ssl=context, server_hostname=server_name)
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    if not der:
        raise ValueError("the handshake gave no certificate")
    cert = x509.cert_info_from_der(der)
    if isinstance(cert, ParseError):
        raise ValueError(f"unreadable certificate: {cert.message}")
    return cert


class WebhookReader:
    """The webhook reads of one context; ``read`` once per poll, ``close`` at the end."""

    def __init__(self, reader: KubeReader, *, clock: Callable[[], datetime]) -> None:
        self.reader = reader
        self._clock = clock
        self._admission = RawApi(reader.connection.api)
        self._forward: PodForward | None = None
        #: the last successful handshake: (pod, its restarts), the certificate, reads since
        self._served_last: tuple[tuple[str, int], CertInfo, int] | None = None
        self._cache: dict[str, tuple[object, Any]] = {}  # what → (uid, resourceVersion), decoded

    @property
    def namespace(self) -> str:
        return self.reader.namespace

    async def close(self) -> None:
        if self._forward is not None:
            await self._forward.close()
            self._forward = None

    async def read(self, gloo_pods: Sequence[PodInfo]) -> WebhookState:
        """One poll's view of the webhook; raises :class:`ApiError` only when the API is not reached."""
        now = self._clock()
        secret, config, jobs, served = await asyncio.gather(
            self._secret(), self._config(), self._jobs(), self._served(gloo_pods), return_exceptions=True
        )
        for result in (secret, config, jobs):
            if isinstance(result, ApiError) and result.status == 0:
                raise result
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
        fields: dict[str, Any] = {}
        if isinstance(secret, ApiError):
            fields["secret_missing"] = secret.status == 404
            fields["secret_forbidden"] = secret.status == 403
            fields["secret_error"] = None if secret.status == 404 else secret.message
        elif isinstance(secret, Exception):
            fields["secret_error"] = f"reading {WEBHOOK_SECRET_NAME}: {describe_exception(secret)}"
        else:
            fields.update(secret)
        if isinstance(config, ApiError):
            fields["config_missing"] = config.status == 404
            fields["config_forbidden"] = config.status == 403
            fields["config_error"] = None if config.status == 404 else config.message
        elif isinstance(config, WebhookConfig):
            fields["config"] = config
        elif isinstance(config, Exception):
            fields["config_error"] = f"reading the webhook configuration: {describe_exception(config)}"
        if isinstance(jobs, tuple):
            fields["jobs"] = jobs
        elif isinstance(jobs, Exception):
            fields["jobs_error"] = str(jobs) if isinstance(jobs, ApiError) else describe_exception(jobs)
        if isinstance(served, tuple):
            fields["served_pod"], fields["served"], fields["served_error"] = served
        return WebhookState(context=self.reader.context, namespace=self.namespace, read_at=now, **fields)

    def _cached(self, what: str, obj: Any, decode: Callable[[Any], Any]) -> Any:
        meta = _as_map(_as_map(obj).get("metadata"))
        version = (meta.get("uid"), meta.get("resourceVersion")) if meta.get("resourceVersion") else None
        hit = self._cache.get(what)
        if version is not None and hit is not None and hit[0] == version:
            return hit[1]
        decoded = decode(obj)
        if version is not None:
            self._cache[what] = (version, decoded)
        return decoded

    async def _secret(self) -> dict[str, Any]:
        reader = self.reader
        obj = await reader._json(  # the reader's one decoding path: caps, timeouts and error words
            f"secret {WEBHOOK_SECRET_NAME}",
            lambda: reader._core.read_namespaced_secret_without_preload_content(
                WEBHOOK_SECRET_NAME, self.namespace, _request_timeout=reader.timeout
            ),
        )
        if not isinstance(obj, dict):
            return {"secret_error": f"{WEBHOOK_SECRET_NAME}: not a Secret"}
        kube_objects.drop_private_key(obj)
        try:
            return dict(self._cached("secret", obj, self._decode_secret))
        finally:
            obj.clear()

    def _decode_secret(self, obj: dict[str, Any]) -> dict[str, Any]:
        state = kube_objects.secret_state(
            obj, context=self.reader.context, namespace=self.namespace, read_at=self._clock()
        )
        return {"secret_bundle": state.bundle, "secret_leaf": state.leaf, "secret_error": state.error}

    async def _config(self) -> WebhookConfig:
        name = webhook_config_name(self.namespace)
        obj = await self.reader._json(
            f"validatingwebhookconfiguration {name}",
            lambda: self._admission.read_validating_webhook_configuration_without_preload_content(
                name, _request_timeout=self.reader.timeout
            ),
        )
        decoded: WebhookConfig = self._cached("config", obj, webhook_entries)
        return decoded

    async def _jobs(self) -> tuple[JobState, ...]:
        reader = self.reader
        obj = await reader._json(
            "jobs",
            lambda: reader._batch.list_namespaced_job_without_preload_content(
                self.namespace, _request_timeout=reader.timeout
            ),
        )
        return webhook_jobs(obj)

    async def _served(self, gloo_pods: Sequence[PodInfo]) -> tuple[str | None, CertInfo | None, str | None]:
        """(pod, served leaf, error) through the forward to a running gloo pod's 8443."""
        pod = next((p for p in gloo_pods if p.phase == "Running" and not p.deleting), None)
        if pod is None:
            return None, None, None
        if self._forward is None:
            self._forward = PodForward(
                self.reader.connection, self.namespace, pod.name, WEBHOOK_PORT, clock=self._clock
            )
            await self._forward.start()
        else:
            self._forward.retarget(pod.name)
        key = (pod.name, pod.restarts)
        last = self._served_last
        if last is not None and last[0] == key and last[2] < SERVED_EVERY:
            self._served_last = (key, last[1], last[2] + 1)
            return pod.name, last[1], None
        address = self._forward.local_address
        assert address is not None
        try:
            cert = await served_certificate(address, f"gloo.{self.namespace}.svc")
        except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:
            self._served_last = None
            state = self._forward.state
            reason = state.error or describe_exception(exc)
            return pod.name, None, f"TLS handshake through the port-forward failed: {reason}"
        self._served_last = (key, cert, 1)
        return pod.name, cert, None
