"""The lab's Kubernetes API façade: HTTPS + bearer token, the endpoints gloomon and ``kubectl get`` use.

Every namespace of the lab's :class:`ClusterStore`: namespaced lists per namespace (empty in a namespace
that does not exist, as the real API answers) and cluster-wide (``kubectl get -A``), gets 404 outside
their namespace. Namespaces, pods (list with labelSelector, get), deployments, secrets (403 when
forbidden), cronjobs/jobs, the pods' events (:mod:`gloomon.lab.api.events`), the validating webhook
configuration, each as a Table when ``kubectl get`` asks (:mod:`gloomon.lab.api.tables`); discovery is
:mod:`gloomon.lab.api.discovery`'s, pod logs and pod port-forward :mod:`gloomon.lab.api.streams`'.
Errors are Kubernetes ``Status`` objects (:mod:`gloomon.lab.api.responses`). A small control API under
``/lab/v1/`` (same token; :mod:`gloomon.lab.api.faults`) lets tests and demos trigger faults in a running
lab. ``requests`` records, in RBAC's terms, every authorized resource request (not the control API), for
the test that checks ``deploy/``'s Role.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from gloomon.lab.api import access, discovery, events, objects, replicasets, services
from gloomon.lab.api.faults import FaultHandler, apply_fault, lab_state, secrets_forbidden, webhooks_forbidden
from gloomon.lab.api.jobs import cronjob_json, job_json
from gloomon.lab.api.requests import RequestLog
from gloomon.lab.api.responses import json_response, not_found, status_response
from gloomon.lab.api.selectors import matches, parse_selector
from gloomon.lab.api.streams import StreamHub
from gloomon.lab.api.tables import table, wants_table
from gloomon.lab.api.tokens import TOKEN_PATH, TokenIssuer
from gloomon.lab.cluster.certs import ServerTls
from gloomon.lab.cluster.store import ClusterStore, NamespaceStore


class ApiServer:
    """aiohttp app + HTTPS site on a free loopback port; survives simulated outages by re-binding."""

    def __init__(
        self,
        cluster: ClusterStore,
        namespace: str,
        token: str,
        tls_dir: Path,
        tls: ServerTls,
        faults: FaultHandler | None = None,
    ) -> None:
        self.cluster = cluster
        #: the release namespace: gloomon's service account lives there, gloo's webhook Service too
        self.namespace = namespace
        self.token = token
        #: short-lived tokens for the exec-plugin kubeconfig (``tokens.py``)
        self.tokens = TokenIssuer()
        self.faults = faults
        #: 403 on secrets in every namespace (a Role without them) …
        self.forbid_secrets = False
        #: … or only in these namespaces (no RoleBinding there; a cluster-wide list is refused too)
        self.forbid_secrets_in: set[str] = set()
        #: 403 on the cluster-scoped webhook configurations (a namespaced Role only)
        self.forbid_webhooks = False
        self.in_outage = False
        self.requests = RequestLog()
        self.port = 0
        self.ca_pem = tls.ca_pem
        tls_dir.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = tls_dir / "apiserver.crt", tls_dir / "apiserver.key"
        cert_path.write_bytes(tls.cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(tls.key_pem)
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ssl.load_cert_chain(cert_path, key_path)
        key_path.unlink()
        self.streams = StreamHub(cluster)
        self.app = web.Application(middlewares=[self._middleware])
        self._routes()
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        self._site: web.TCPSite | None = None
        self._outage_task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self._runner.setup()
        await self._bind(0)

    async def _bind(self, port: int) -> None:
        self._site = web.TCPSite(self._runner, "127.0.0.1", port, ssl_context=self._ssl, reuse_address=True)
        await self._site.start()
        server = self._site._server  # the bound socket tells the port the OS picked
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._outage_task is not None:
            self._outage_task.cancel()
        await self.streams.cut_all()
        await self._runner.cleanup()

    async def outage(self, seconds: float) -> None:
        """The API endpoint goes away for ``seconds``: connection refused, open streams dropped."""
        if self.in_outage:
            return
        self.in_outage = True
        if self._site is not None:
            await self._site.stop()
            self._site = None
        await self.streams.cut_all()
        self._outage_task = asyncio.get_running_loop().create_task(self._end_outage(seconds))

    async def _end_outage(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._rebind()

    async def end_outage(self) -> None:
        """End the outage now (a test that needs it to outlast a slow client ends it when done)."""
        if not self.in_outage:
            return
        if self._outage_task is not None:
            self._outage_task.cancel()
        await self._rebind()

    async def _rebind(self) -> None:
        for _ in range(50):
            try:
                await self._bind(self.port)
                break
            except OSError:
                await asyncio.sleep(0.1)
        self.in_outage = False

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self.in_outage:
            if request.transport is not None:
                request.transport.abort()
            return status_response(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        if request.path == TOKEN_PATH:
            return self._issue_token(request)
        bearer = request.headers.get("Authorization", "")
        if bearer != f"Bearer {self.token}" and not self.tokens.accepts(bearer.removeprefix("Bearer ")):
            return status_response(401, "Unauthorized", "Unauthorized")
        if not request.path.startswith("/lab/"):
            upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
            self.requests.record(request.method, request.path, dict(request.query), upgrade=upgrade)
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return status_response(404, "NotFound", "the server could not find the requested resource")
        except web.HTTPMethodNotAllowed:
            return status_response(
                405,
                "MethodNotAllowed",
                f"the server does not allow this method on the requested resource: {request.method}",
            )

    def _routes(self) -> None:
        ns = "/api/v1/namespaces/{ns}"
        r = self.app.router
        discovery.add_routes(r, lambda: self.port)
        r.add_get("/api/v1/namespaces", self._namespaces)
        r.add_get("/api/v1/namespaces/{name}", self._namespace)
        r.add_get("/api/v1/pods", self._pods)
        r.add_get(f"{ns}/pods", self._pods)
        r.add_get(f"{ns}/pods/{{name}}", self._pod)
        r.add_get(f"{ns}/pods/{{name}}/log", self.streams.pod_log)
        r.add_route("*", f"{ns}/pods/{{name}}/portforward", self.streams.port_forward)
        r.add_get("/api/v1/services", self._services)
        r.add_get(f"{ns}/services", self._services)
        r.add_get(f"{ns}/services/{{name}}", self._service)
        r.add_get("/api/v1/events", self._events)
        r.add_get(f"{ns}/events", self._events)
        r.add_get("/api/v1/secrets", self._secrets)
        r.add_get(f"{ns}/secrets", self._secrets)
        r.add_get(f"{ns}/secrets/{{name}}", self._secret)
        r.add_get("/apis/apps/v1/deployments", self._deployments)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments", self._deployments)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments/{name}", self._deployment)
        r.add_get("/apis/apps/v1/replicasets", self._replicasets)
        r.add_get("/apis/apps/v1/namespaces/{ns}/replicasets", self._replicasets)
        r.add_get("/apis/apps/v1/namespaces/{ns}/replicasets/{name}", self._replicaset)
        r.add_get("/apis/batch/v1/cronjobs", self._cronjobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs", self._cronjobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs/{name}", self._cronjob)
        r.add_get("/apis/batch/v1/jobs", self._jobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/jobs", self._jobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/jobs/{name}", self._job)
        vwc = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
        r.add_get(vwc, self._webhook_configs)
        r.add_get(f"{vwc}/{{name}}", self._webhook_config)
        r.add_post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", self._access_review)
        r.add_post("/lab/v1/faults/{fault}", self._fault)
        r.add_get("/lab/v1/state", self._state)
        r.add_route("*", "/{tail:.*}", self._unknown)

    def _issue_token(self, request: web.Request) -> web.Response:
        """``POST /lab/v1/token`` with the refresh secret: a token valid ``tokens.validity`` seconds."""
        if request.method != "POST" or request.headers.get("Authorization", "") != (
            f"Bearer {self.tokens.refresh_secret}"
        ):
            return status_response(401, "Unauthorized", "Unauthorized")
        token, expires = self.tokens.issue()
        return json_response({"token": token, "expires": expires})

    async def _unknown(self, request: web.Request) -> web.Response:
        return status_response(404, "NotFound", "the server could not find the requested resource")

    @staticmethod
    def _listing(
        request: web.Request, kind: str, api: str, items: list[dict[str, Any]], rv: int
    ) -> web.Response:
        """A ``<kind>List``, or the Table ``kubectl get`` asks for."""
        if wants_table(request.headers.get("Accept", "")):
            return json_response(table(kind, items, rv))
        return json_response(objects.list_of(kind, api, items, rv))

    @staticmethod
    def _one(request: web.Request, kind: str, item: dict[str, Any]) -> web.Response:
        if wants_table(request.headers.get("Accept", "")):
            return json_response(table(kind, [item], item["metadata"]["resourceVersion"]))
        return json_response(item)

    def secrets_forbidden(self, namespace: str | None) -> bool:
        """Whether reading secrets in ``namespace`` (``None``: cluster-wide) is refused, as RBAC would."""
        if self.forbid_secrets:
            return True
        return bool(self.forbid_secrets_in) if namespace is None else namespace in self.forbid_secrets_in

    def _scoped(self, request: web.Request) -> list[NamespaceStore]:
        """The namespaces a list reads: the path's (none if it does not exist: an empty list, as the real
        API answers), or every namespace for a cluster-wide list (``/api/v1/pods``, ``kubectl -A``)."""
        return self.cluster.scoped(request.match_info.get("ns"))

    def _in(self, request: web.Request) -> NamespaceStore | None:
        """The path's namespace, if it exists (a get in a namespace that does not exist is a 404)."""
        return self.cluster.namespaces.get(request.match_info["ns"])

    async def _namespaces(self, request: web.Request) -> web.Response:
        items = [objects.namespace_json(ns) for ns in self.cluster.scoped(None)]
        return self._listing(request, "Namespace", "v1", items, self.cluster.next_rv())

    async def _namespace(self, request: web.Request) -> web.Response:
        found = self.cluster.namespaces.get(request.match_info["name"])
        if found is None:
            return not_found("namespaces", request.match_info["name"])
        return self._one(request, "Namespace", objects.namespace_json(found))

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        selector = parse_selector(request.query.get("labelSelector", ""))
        if selector is None:
            return status_response(400, "BadRequest", "unable to parse requirement: invalid label selector")
        if request.query.get("watch") in ("true", "1"):
            return await self.streams.watch_pods(request, selector)
        field = request.query.get("fieldSelector", "")
        pods = [
            p
            for ns in self._scoped(request)
            for p in ns.pods_of()
            if matches(selector, objects.pod_labels(p))
        ]
        if field.startswith("metadata.name="):
            pods = [p for p in pods if p.name == field.split("=", 1)[1]]
        items = [objects.pod_json(p) for p in pods]
        return self._listing(request, "Pod", "v1", items, self.cluster.next_rv())

    async def _pod(self, request: web.Request) -> web.Response:
        ns = self._in(request)
        pod = ns.pods.get(request.match_info["name"]) if ns is not None else None
        if pod is None:
            return not_found("pods", request.match_info["name"])
        return self._one(request, "Pod", objects.pod_json(pod))

    async def _services(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        items = [
            s
            for ns in self._scoped(request)
            for s in services.services(ns)
            if matches(selector, s["metadata"].get("labels", {}))
        ]
        return self._listing(request, "Service", "v1", items, self.cluster.next_rv())

    async def _service(self, request: web.Request) -> web.Response:
        name, ns = request.match_info["name"], self._in(request)
        found = [s for s in services.services(ns) if s["metadata"]["name"] == name] if ns else []
        if not found:
            return not_found("services", name)
        return self._one(request, "Service", found[0])

    async def _events(self, request: web.Request) -> web.Response:
        selector = request.query.get("fieldSelector", "")
        items = [e for ns in self._scoped(request) for e in events.events(ns, selector)]
        return self._listing(request, "Event", "v1", items, self.cluster.next_rv())

    async def _secrets(self, request: web.Request) -> web.Response:
        if self.secrets_forbidden(request.match_info.get("ns")):
            return secrets_forbidden(self.namespace, request.match_info.get("ns"), "list")
        items = [objects.secret_json(ns, s) for ns in self._scoped(request) for s in ns.secrets()]
        return self._listing(request, "Secret", "v1", items, self.cluster.next_rv())

    async def _secret(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.secrets_forbidden(request.match_info["ns"]):
            return secrets_forbidden(self.namespace, request.match_info["ns"], "get", name)
        ns = self._in(request)
        secret = next((s for s in ns.secrets() if s.name == name), None) if ns else None
        if ns is None or secret is None:
            return not_found("secrets", name)
        return self._one(request, "Secret", objects.secret_json(ns, secret))

    async def _deployments(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        items = [
            objects.deployment_json(ns, d)
            for ns in self._scoped(request)
            for d in ns.deployments.values()
            if matches(selector, d.labels)
        ]
        return self._listing(request, "Deployment", "apps/v1", items, self.cluster.next_rv())

    async def _deployment(self, request: web.Request) -> web.Response:
        ns = self._in(request)
        dep = ns.deployments.get(request.match_info["name"]) if ns is not None else None
        if ns is None or dep is None:
            return not_found("deployments.apps", request.match_info["name"])
        return self._one(request, "Deployment", objects.deployment_json(ns, dep))

    async def _replicasets(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        found = [
            r
            for ns in self._scoped(request)
            for r in replicasets.replicasets(ns)
            if matches(selector, r["metadata"]["labels"])
        ]
        return self._listing(request, "ReplicaSet", "apps/v1", found, self.cluster.next_rv())

    async def _replicaset(self, request: web.Request) -> web.Response:
        name, ns = request.match_info["name"], self._in(request)
        found = [r for r in replicasets.replicasets(ns) if r["metadata"]["name"] == name] if ns else []
        if not found:
            return not_found("replicasets.apps", name)
        return self._one(request, "ReplicaSet", found[0])

    async def _cronjobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        items = [
            cronjob_json(ns, ns.cronjob)
            for ns in self._scoped(request)
            if ns.cronjob is not None and matches(selector, ns.cronjob.labels)
        ]
        return self._listing(request, "CronJob", "batch/v1", items, self.cluster.next_rv())

    async def _cronjob(self, request: web.Request) -> web.Response:
        ns = self._in(request)
        cron = ns.cronjob if ns is not None else None
        if ns is None or cron is None or cron.name != request.match_info["name"]:
            return not_found("cronjobs.batch", request.match_info["name"])
        return self._one(request, "CronJob", cronjob_json(ns, cron))

    async def _jobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        items = [
            job_json(ns, j)
            for ns in self._scoped(request)
            for j in sorted(ns.jobs.values(), key=lambda j: j.created)
            if matches(selector, j.labels)
        ]
        return self._listing(request, "Job", "batch/v1", items, self.cluster.next_rv())

    async def _job(self, request: web.Request) -> web.Response:
        ns = self._in(request)
        job = ns.jobs.get(request.match_info["name"]) if ns is not None else None
        if ns is None or job is None:
            return not_found("jobs.batch", request.match_info["name"])
        return self._one(request, "Job", job_json(ns, job))

    async def _webhook_configs(self, _: web.Request) -> web.Response:
        if self.forbid_webhooks:
            return webhooks_forbidden(self.namespace, "list")
        config = self.cluster.webhook_config
        items = [objects.webhook_configuration_json(config, self.namespace)] if config else []
        kind, api = "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1"
        return json_response(objects.list_of(kind, api, items, self.cluster.next_rv()))

    async def _webhook_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.forbid_webhooks:
            return webhooks_forbidden(self.namespace, "get", name)
        config = self.cluster.webhook_config
        if config is None or config.name != name:
            return not_found("validatingwebhookconfigurations.admissionregistration.k8s.io", name)
        return json_response(objects.webhook_configuration_json(config, self.namespace))

    async def _access_review(self, request: web.Request) -> web.Response:
        """``kubectl auth can-i``: what the token may do, minus what the forbid faults take away."""
        raw = await request.read()
        try:
            body = access.decode_protobuf(raw) if "protobuf" in request.content_type else json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return status_response(400, "BadRequest", "the body must be a SelfSubjectAccessReview")
        review = body if isinstance(body, dict) else {}
        namespace = access.namespace_of(review)
        forbidden = {access.SECRETS} if self.secrets_forbidden(namespace) else set()
        if self.forbid_webhooks:
            forbidden.add(access.WEBHOOKS)
        return json_response(access.review(review, forbidden=forbidden), 201)

    async def _fault(self, request: web.Request) -> web.Response:
        return await apply_fault(request, self.faults)

    async def _state(self, _: web.Request) -> web.Response:
        return lab_state(
            self.cluster,
            self.namespace,
            outage=self.in_outage,
            forbid_secrets=self.forbid_secrets,
            forbid_secrets_in=self.forbid_secrets_in,
            forbid_webhooks=self.forbid_webhooks,
        )
