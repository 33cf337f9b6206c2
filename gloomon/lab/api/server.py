"""The lab's Kubernetes API façade: HTTPS + bearer token, the endpoints gloomon and ``kubectl get`` use.

Namespaces, pods (list with labelSelector, get), deployments, the secret (403 when forbidden),
cronjobs/jobs, the pods' events (:mod:`gloomon.lab.api.events`), the validating webhook configuration,
each as a Table when ``kubectl get`` asks (:mod:`gloomon.lab.api.tables`); discovery is
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
from gloomon.lab.cluster.store import ClusterStore


class ApiServer:
    """aiohttp app + HTTPS site on a free loopback port; survives simulated outages by re-binding."""

    def __init__(
        self,
        store: ClusterStore,
        token: str,
        tls_dir: Path,
        tls: ServerTls,
        faults: FaultHandler | None = None,
    ) -> None:
        self.store = store
        self.token = token
        #: short-lived tokens for the exec-plugin kubeconfig (``tokens.py``)
        self.tokens = TokenIssuer()
        self.faults = faults
        self.forbid_secrets = False
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
        self.streams = StreamHub(store)
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
        r.add_get(f"{ns}/services", self._services)
        r.add_get(f"{ns}/services/{{name}}", self._service)
        r.add_get("/api/v1/events", self._events)
        r.add_get(f"{ns}/events", self._events)
        r.add_get(f"{ns}/secrets", self._secrets)
        r.add_get(f"{ns}/secrets/{{name}}", self._secret)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments", self._deployments)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments/{name}", self._deployment)
        r.add_get("/apis/apps/v1/namespaces/{ns}/replicasets", self._replicasets)
        r.add_get("/apis/apps/v1/namespaces/{ns}/replicasets/{name}", self._replicaset)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs", self._cronjobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs/{name}", self._cronjob)
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

    def _ns_ok(self, request: web.Request) -> bool:
        return request.match_info.get("ns", self.store.namespace) == self.store.namespace

    async def _namespaces(self, request: web.Request) -> web.Response:
        items = [objects.namespace_json(self.store)]
        return self._listing(request, "Namespace", "v1", items, self.store.next_rv())

    async def _namespace(self, request: web.Request) -> web.Response:
        if request.match_info["name"] != self.store.namespace:
            return not_found("namespaces", request.match_info["name"])
        return self._one(request, "Namespace", objects.namespace_json(self.store))

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        selector = parse_selector(request.query.get("labelSelector", ""))
        if selector is None:
            return status_response(400, "BadRequest", "unable to parse requirement: invalid label selector")
        if request.query.get("watch") in ("true", "1"):
            return await self.streams.watch_pods(request, selector)
        field = request.query.get("fieldSelector", "")
        pods = [
            p
            for p in self.store.pods_of()
            if self._ns_ok(request) and matches(selector, objects.pod_labels(p))
        ]
        if field.startswith("metadata.name="):
            pods = [p for p in pods if p.name == field.split("=", 1)[1]]
        items = [objects.pod_json(p) for p in pods]
        return self._listing(request, "Pod", "v1", items, self.store.next_rv())

    async def _pod(self, request: web.Request) -> web.Response:
        pod = self.store.pods.get(request.match_info["name"]) if self._ns_ok(request) else None
        if pod is None:
            return not_found("pods", request.match_info["name"])
        return self._one(request, "Pod", objects.pod_json(pod))

    async def _services(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        items = [
            s for s in services.services(self.store) if matches(selector, s["metadata"].get("labels", {}))
        ]
        return self._listing(
            request, "Service", "v1", items if self._ns_ok(request) else [], self.store.next_rv()
        )

    async def _service(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [s for s in services.services(self.store) if s["metadata"]["name"] == name]
        if not found or not self._ns_ok(request):
            return not_found("services", name)
        return self._one(request, "Service", found[0])

    async def _events(self, request: web.Request) -> web.Response:
        items = (
            events.events(self.store, request.query.get("fieldSelector", "")) if self._ns_ok(request) else []
        )
        return self._listing(request, "Event", "v1", items, self.store.next_rv())

    async def _secrets(self, request: web.Request) -> web.Response:
        if self.forbid_secrets:
            return secrets_forbidden(self.store.namespace, "list")
        secrets = self.store.secrets() if self._ns_ok(request) else []
        items = [objects.secret_json(self.store, s) for s in secrets]
        return self._listing(request, "Secret", "v1", items, self.store.next_rv())

    async def _secret(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.forbid_secrets:
            return secrets_forbidden(self.store.namespace, "get", name)
        secret = next((s for s in self.store.secrets() if s.name == name), None)
        if secret is None or not self._ns_ok(request):
            return not_found("secrets", name)
        return self._one(request, "Secret", objects.secret_json(self.store, secret))

    async def _deployments(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        deps = [
            d for d in self.store.deployments.values() if self._ns_ok(request) and matches(selector, d.labels)
        ]
        items = [objects.deployment_json(self.store, d) for d in deps]
        return self._listing(request, "Deployment", "apps/v1", items, self.store.next_rv())

    async def _deployment(self, request: web.Request) -> web.Response:
        dep = self.store.deployments.get(request.match_info["name"]) if self._ns_ok(request) else None
        if dep is None:
            return not_found("deployments.apps", request.match_info["name"])
        return self._one(request, "Deployment", objects.deployment_json(self.store, dep))

    async def _replicasets(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        found = [r for r in replicasets.replicasets(self.store) if matches(selector, r["metadata"]["labels"])]
        return self._listing(
            request, "ReplicaSet", "apps/v1", found if self._ns_ok(request) else [], self.store.next_rv()
        )

    async def _replicaset(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        found = [r for r in replicasets.replicasets(self.store) if r["metadata"]["name"] == name]
        if not found or not self._ns_ok(request):
            return not_found("replicasets.apps", name)
        return self._one(request, "ReplicaSet", found[0])

    async def _cronjobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        cron = self.store.cronjob
        crons = [cron] if cron and self._ns_ok(request) and matches(selector, cron.labels) else []
        items = [cronjob_json(self.store, c) for c in crons]
        return self._listing(request, "CronJob", "batch/v1", items, self.store.next_rv())

    async def _cronjob(self, request: web.Request) -> web.Response:
        cron = self.store.cronjob
        if cron is None or cron.name != request.match_info["name"] or not self._ns_ok(request):
            return not_found("cronjobs.batch", request.match_info["name"])
        return self._one(request, "CronJob", cronjob_json(self.store, cron))

    async def _jobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        jobs = [j for j in self.store.jobs.values() if self._ns_ok(request) and matches(selector, j.labels)]
        items = [job_json(self.store, j) for j in sorted(jobs, key=lambda j: j.created)]
        return self._listing(request, "Job", "batch/v1", items, self.store.next_rv())

    async def _job(self, request: web.Request) -> web.Response:
        job = self.store.jobs.get(request.match_info["name"]) if self._ns_ok(request) else None
        if job is None:
            return not_found("jobs.batch", request.match_info["name"])
        return self._one(request, "Job", job_json(self.store, job))

    async def _webhook_configs(self, _: web.Request) -> web.Response:
        if self.forbid_webhooks:
            return webhooks_forbidden(self.store.namespace, "list")
        config = self.store.webhook_config
        items = [objects.webhook_configuration_json(config, self.store.namespace)] if config else []
        kind, api = "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1"
        return json_response(objects.list_of(kind, api, items, self.store.next_rv()))

    async def _webhook_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.forbid_webhooks:
            return webhooks_forbidden(self.store.namespace, "get", name)
        config = self.store.webhook_config
        if config is None or config.name != name:
            return not_found("validatingwebhookconfigurations.admissionregistration.k8s.io", name)
        return json_response(objects.webhook_configuration_json(config, self.store.namespace))

    async def _access_review(self, request: web.Request) -> web.Response:
        """``kubectl auth can-i``: what the token may do, minus what the forbid faults take away."""
        raw = await request.read()
        try:
            body = access.decode_protobuf(raw) if "protobuf" in request.content_type else json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return status_response(400, "BadRequest", "the body must be a SelfSubjectAccessReview")
        forbidden = {access.SECRETS} if self.forbid_secrets else set()
        if self.forbid_webhooks:
            forbidden.add(access.WEBHOOKS)
        return json_response(access.review(body if isinstance(body, dict) else {}, forbidden=forbidden), 201)

    async def _fault(self, request: web.Request) -> web.Response:
        return await apply_fault(request, self.faults)

    async def _state(self, _: web.Request) -> web.Response:
        return lab_state(
            self.store,
            outage=self.in_outage,
            forbid_secrets=self.forbid_secrets,
            forbid_webhooks=self.forbid_webhooks,
        )
