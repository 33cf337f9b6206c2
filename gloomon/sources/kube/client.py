"""Read what the data path needs from one cluster: component pods, deployments, the secret, certgen.

Every call uses a ``*_without_preload_content`` method (of :class:`~gloomon.sources.kube.rest.RawApi`,
not the generated API classes, whose import costs most of a second) and decodes the JSON itself: cheaper
than building pydantic models each poll, tolerant of fields a model would reject, and it lets the
secret's private key be dropped before anything else holds the decoded object. Failures are
:class:`ApiError` with a one-line message (``status`` 0 means the API could not be reached).

Bodies are read in chunks under :data:`BODY_CAP` (a broken or hostile API server streaming without end
costs at most that): the secret is at most 1 MiB of data (the API server's limit, 1.4 MB in base64),
and pod, deployment and job lists of a namespace cost ~5-10 KB per object, so 64 MB is thousands of
objects more than any Gloo namespace holds. A larger body is an :class:`ApiError` naming the cap.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gloomon.domain.model import (
    SECRET_NAME,
    Component,
    CronJobState,
    KubeEvent,
    PodInfo,
    SecretState,
)
from gloomon.domain.text import one_line
from gloomon.sources.errors import ApiError as ApiError
from gloomon.sources.errors import SourceError, describe_exception, status_message
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.kube import status as kube_status
from gloomon.sources.kube.config import KubeConnection
from gloomon.sources.kube.credentials import renew_after_unauthorized, renewal_error, token_of
from gloomon.sources.kube.watched import WatchedLists
from gloomon.sources.limits import MB, BodyTooLarge, read_at_most, read_capped

if TYPE_CHECKING:
    from gloomon.settings import Settings

#: the largest API response body read (see the module docstring)
BODY_CAP = 64 * MB


class KubeReader(WatchedLists):
    """The read-only API calls of one context: Gloo's objects in its release namespace ``namespace``,
    proxies' pods and Deployments there and in ``more_namespaces`` (or, ``all_namespaces``, anywhere)."""

    def __init__(
        self,
        connection: KubeConnection,
        namespace: str,
        *,
        timeout: float,
        more_namespaces: tuple[str, ...] = (),
        all_namespaces: bool = False,
    ) -> None:
        self.connection = connection
        self.namespace = namespace
        #: where pods and Deployments are listed (the release namespace first); None: every namespace
        self.watched: tuple[str, ...] | None = (
            None if all_namespaces else tuple(dict.fromkeys((namespace, *more_namespaces)))
        )
        self.timeout = float(max(timeout, 1.0))
        self._core = connection.core()
        self._apps = connection.apps()
        self._batch = connection.batch()
        #: namespace → ((uid, resourceVersion), the decoded state): an unchanged secret is not decoded again
        self._secrets: dict[str, tuple[object, SecretState]] = {}
        #: the components the last Deployment list had (None: not listed, or not allowed to list)
        self.deployed: frozenset[Component] | None = None

    @classmethod
    def for_settings(cls, connection: KubeConnection, settings: Settings) -> KubeReader:
        """The reader of ``settings``' namespaces (``-n`` repeated, ``--all-namespaces``)."""
        return cls(
            connection,
            settings.namespace,
            timeout=settings.request_timeout,
            more_namespaces=settings.extra_namespaces,
            all_namespaces=settings.all_namespaces,
        )

    @property
    def context(self) -> str:
        return self.connection.context

    async def _json(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one API call and decode its JSON body; raise :class:`ApiError` with a clear message.

        A 401 renews rotating credentials (an exec plugin's token, a token file) and retries once."""
        configuration = self.connection.configuration
        sent = token_of(configuration)
        try:
            return await self._json_once(what, call)
        except ApiError as error:
            if error.status != 401 or not await renew_after_unauthorized(configuration, sent):
                why = renewal_error(configuration) if error.status == 401 else None
                if why is not None:
                    raise ApiError(401, f"{error.message}; {why}") from None
                raise
        return await self._json_once(what, call)

    async def _json_once(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        server = self.connection.server
        try:
            async with asyncio.timeout(self.timeout):
                response = await call()
                status = int(response.status)
                try:
                    body = await read_capped(response, BODY_CAP)
                except BodyTooLarge as exc:
                    response.close()  # the rest of the body is still on the wire
                    raise ApiError(status, f"{what}: the API answered with a {exc}") from None
                finally:
                    response.release()
        except ApiError:
            raise
        except Exception as exc:  # aiohttp, OSError, TLS, timeouts: all mean "not reached"
            reason = describe_exception(exc)
            raise ApiError(0, f"cannot reach the Kubernetes API at {server}: {reason}") from None
        if status == 200:
            try:
                return json.loads(body)
            except ValueError:
                raise ApiError(status, f"{what}: the API answered with something that is not JSON") from None
        message = status_message(status, body)
        del body
        if status == 401:
            raise ApiError(
                401, f"unauthorized (401) at {server}: check the credentials of context '{self.context}'"
            )
        if status == 403:
            raise ApiError(403, f"forbidden (403): {message}")
        raise ApiError(status, f"{what}: {message} ({status})")

    async def check_namespace(self) -> None:
        """Raise :class:`SourceError` when the API is unreachable or the namespace does not exist."""
        try:
            await self._json(
                f"namespace {self.namespace}",
                lambda: self._core.read_namespace_without_preload_content(
                    self.namespace, _request_timeout=self.timeout
                ),
            )
        except ApiError as error:
            if error.status == 404:
                message = f"namespace {self.namespace} not found (context '{self.context}')"
                raise SourceError(message) from None
            if error.status == 403:
                await self._probe_pods()  # RBAC may hide namespaces but allow pods: that is enough
                return
            raise SourceError(error.message) from None

    async def _probe_pods(self) -> None:
        try:
            await self._list_pods("gloo=gloo")
        except ApiError as error:
            raise SourceError(error.message) from None

    async def _list_pods(self, selector: str) -> Any:
        return await self._json(
            f"pods ({selector})",
            lambda: self._core.list_namespaced_pod_without_preload_content(
                self.namespace, label_selector=selector, _request_timeout=self.timeout
            ),
        )

    async def all_pods(self) -> tuple[dict[Component, list[PodInfo]], list[PodInfo]]:
        """(pods of every component, certgen pods) of the watched namespaces; a pod stuck in Pending gets
        its Warning events (``FailedMount``…), read only then."""
        by_component, certgen = kube_objects.split_pods(await self._watched_pods())
        if any(kube_status.stuck(pod) for pods in (*by_component.values(), certgen) for pod in pods):
            events = await self.warning_events()

            def explained(pod: PodInfo) -> PodInfo:
                found = events.get(("Pod", pod.name), ())
                return replace(pod, events=found) if found and kube_status.stuck(pod) else pod

            by_component = {c: [explained(p) for p in pods] for c, pods in by_component.items()}
            certgen = [explained(p) for p in certgen]
        return by_component, certgen

    async def warning_events(self) -> dict[tuple[str, str], tuple[KubeEvent, ...]]:
        """The namespace's Warning events by (kind, name); none when they cannot be read (RBAC)."""
        try:
            obj = await self._json(
                "events",
                lambda: self._core.list_namespaced_event_without_preload_content(
                    self.namespace,
                    field_selector=kube_status.WARNING_EVENTS_SELECTOR,
                    _request_timeout=self.timeout,
                ),
            )
        except ApiError as error:
            if error.status == 0:
                raise
            return {}
        return kube_status.warning_events(obj)

    def secret_namespaces(self, pods: dict[Component, list[PodInfo]] | None) -> tuple[str, ...]:
        """Where ``gloo-mtls-certs`` is read: the release namespace (certgen writes it there), then every
        other watched namespace a component's pod runs in (its sds serves that namespace's copy)."""
        listed = (pod.namespace for component_pods in (pods or {}).values() for pod in component_pods)
        return tuple(dict.fromkeys((self.namespace, *(ns for ns in listed if ns))))

    async def read_secrets(
        self, now: datetime, pods: dict[Component, list[PodInfo]] | None
    ) -> list[tuple[str, SecretState | BaseException]]:
        """(namespace, its secret or the error reading it) for each of :meth:`secret_namespaces`."""
        namespaces = self.secret_namespaces(pods)
        for gone in set(self._secrets) - set(namespaces):
            del self._secrets[gone]
        results = await asyncio.gather(
            *(self.read_secret(now, namespace) for namespace in namespaces), return_exceptions=True
        )
        return list(zip(namespaces, results, strict=True))

    async def read_secret(self, now: datetime, namespace: str | None = None) -> SecretState:
        """``gloo-mtls-certs`` of ``namespace`` (the release namespace by default) without its private
        key; 403 / 404 become a state, not an exception.

        Read by name in each namespace rather than listed across namespaces with a ``metadata.name``
        field selector (which the API supports): ``get`` on one namespace's secrets is the narrowest
        grant, and a 403 in one namespace then hides only that namespace's copy."""
        namespace = namespace or self.namespace
        try:
            obj = await self._json(
                f"secret {SECRET_NAME} in {namespace}",
                lambda: self._core.read_namespaced_secret_without_preload_content(
                    SECRET_NAME, namespace, _request_timeout=self.timeout
                ),
            )
        except ApiError as error:
            if error.status == 403:
                return SecretState(
                    context=self.context,
                    namespace=namespace,
                    read_at=now,
                    forbidden=True,
                    observed=False,
                    error=f"forbidden (403): cannot read secret {SECRET_NAME} in {namespace}; "
                    "grant 'get' on secrets to compare Envoys with the secret",
                )
            if error.status == 404:
                return SecretState(
                    context=self.context,
                    namespace=namespace,
                    read_at=now,
                    missing=True,
                    error=f"secret {SECRET_NAME} not found in {namespace}",
                )
            raise
        if not isinstance(obj, dict):
            return SecretState(self.context, namespace, read_at=now, error="not a Secret", observed=False)
        key_present = kube_objects.drop_private_key(obj)
        meta = obj.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        version = (meta.get("uid"), meta.get("resourceVersion")) if meta.get("resourceVersion") else None
        cached = self._secrets.get(namespace)
        if version is not None and cached is not None and cached[0] == version:
            obj.clear()  # unchanged since the last read: its certificates are not decoded again
            return replace(cached[1], read_at=now)
        state = kube_objects.secret_state(
            obj, context=self.context, namespace=namespace, read_at=now, key_present=key_present
        )
        obj.clear()
        if version is not None:
            self._secrets[namespace] = (version, state)
        else:
            self._secrets.pop(namespace, None)
        return state

    async def read_cronjob(self) -> CronJobState:
        """The certgen CronJob and its Jobs; ``missing`` when cron is off (Helm-hook Jobs still listed)."""
        jobs_obj: Any = None
        jobs_error: str | None = None
        try:
            jobs_obj = await self._json(
                "jobs",
                lambda: self._batch.list_namespaced_job_without_preload_content(
                    self.namespace, _request_timeout=self.timeout
                ),
            )
        except ApiError as error:
            if error.status == 0:
                raise
            jobs_error = error.message
        jobs = kube_objects.certgen_jobs(jobs_obj)
        if any(kube_status.job_without_pod(job) for job in jobs):
            events = await self.warning_events()
            jobs = tuple(
                replace(job, events=events.get(("Job", job.name), ()))
                if kube_status.job_without_pod(job)
                else job
                for job in jobs
            )
        try:
            cron = await self._json(
                f"cronjob {kube_objects.CRONJOB_NAME}",
                lambda: self._batch.read_namespaced_cron_job_without_preload_content(
                    kube_objects.CRONJOB_NAME, self.namespace, _request_timeout=self.timeout
                ),
            )
        except ApiError as error:
            if error.status == 404:
                state = kube_objects.cronjob_state(None, jobs, fallback_args=kube_objects.job_args(jobs_obj))
                return _with_error(state, jobs_error)
            if error.status == 0:
                raise
            name = kube_objects.CRONJOB_NAME
            return CronJobState(name, schedule="", suspended=False, jobs=jobs, error=one_line(error.message))
        return _with_error(kube_objects.cronjob_state(cron, jobs, fallback_args=[]), jobs_error)

    # ------------------------------------------------------------------ for gloomon bundle: raw objects
    # The same calls as a poll (RBAC needs nothing more), answered as the API's JSON for the bundle's YAML.

    async def pods_json(self) -> Any:
        """The component and certgen pods of the watched namespaces, as one list."""
        return await self._watched_pods()

    async def jobs_json(self) -> Any:
        """The namespace's Jobs, as the API's JobList."""
        return await self._json(
            "jobs",
            lambda: self._batch.list_namespaced_job_without_preload_content(
                self.namespace, _request_timeout=self.timeout
            ),
        )

    async def cronjob_json(self) -> Any:
        """certgen's CronJob (read by name), as the API's object."""
        return await self._json(
            f"cronjob {kube_objects.CRONJOB_NAME}",
            lambda: self._batch.read_namespaced_cron_job_without_preload_content(
                kube_objects.CRONJOB_NAME, self.namespace, _request_timeout=self.timeout
            ),
        )

    async def secret_json(
        self, name: str, keep: Callable[[dict[str, Any]], Any], namespace: str | None = None
    ) -> Any:
        """``keep(secret)`` of the secret ``name`` (read by name: ``gloo-mtls-certs`` or the webhook's) in
        ``namespace`` (default: the release namespace): what the caller keeps of it, e.g. its metadata.
        The decoded object is cleared right after, so no value of it outlives the call."""
        namespace = namespace or self.namespace
        obj = await self._json(
            f"secret {name}" + ("" if namespace == self.namespace else f" in {namespace}"),
            lambda: self._core.read_namespaced_secret_without_preload_content(
                name, namespace, _request_timeout=self.timeout
            ),
        )
        if not isinstance(obj, dict):
            raise ApiError(200, f"secret {name}: not a Secret")
        try:
            return keep(obj)
        finally:
            obj.clear()

    async def pod_log(
        self, pod: str, container: str, *, since_seconds: int, cap: int, namespace: str | None = None
    ) -> bytes:
        """One container's log of the last ``since_seconds`` (kubelet timestamps on), its first ``cap``
        bytes at most (``limitBytes``; an API server that ignores it is cut off there); :class:`ApiError`
        when refused or not reached."""
        try:
            async with asyncio.timeout(self.timeout * 4):
                response = await self._core.read_namespaced_pod_log_without_preload_content(
                    pod,
                    namespace or self.namespace,
                    container=container,
                    since_seconds=max(1, since_seconds),
                    timestamps=True,
                    limit_bytes=cap,
                    _request_timeout=self.timeout * 4,
                )
                try:
                    body = await read_at_most(response, cap)
                finally:
                    response.release()
        except ApiError:
            raise
        except Exception as exc:
            status = getattr(exc, "status", None)
            if isinstance(status, int) and status >= 400:
                raw = getattr(exc, "body", None)
                message = status_message(status, raw.encode() if isinstance(raw, str) else raw)
                raise ApiError(status, f"log {pod}/{container}: {message} ({status})") from None
            reason = describe_exception(exc)
            raise ApiError(0, f"log {pod}/{container}: {reason}") from None
        if int(response.status) != 200:
            message = status_message(int(response.status), body)
            raise ApiError(int(response.status), f"log {pod}/{container}: {message} ({response.status})")
        return body


def _with_error(state: CronJobState, error: str | None) -> CronJobState:
    return state if error is None else replace(state, error=one_line(error))
