"""The lab's Kubernetes API façade: HTTPS + bearer token, the endpoints gloomon and ``kubectl get`` use.

Discovery, namespaces, pods (list with labelSelector, get; Table for kubectl), deployments, the secret
(403 when forbidden), cronjobs/jobs, and — in :mod:`gloomon.lab.api.streams` — pod logs and pod
port-forward. Errors are Kubernetes ``Status`` objects. A small control API under ``/lab/v1/`` (same
token) lets tests and demos trigger faults in a running lab. ``requests`` records, in RBAC's terms, every
authorized resource request (not the control API), for the test that checks ``deploy/``'s Role.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from gloomon.lab.api import objects
from gloomon.lab.api.jobs import cronjob_json, job_json
from gloomon.lab.api.requests import RequestLog
from gloomon.lab.api.selectors import matches, parse_selector
from gloomon.lab.api.streams import StreamHub
from gloomon.lab.api.tables import pod_table, wants_table
from gloomon.lab.api.tokens import TOKEN_PATH, TokenIssuer
from gloomon.lab.cluster.certs import ServerTls
from gloomon.lab.cluster.store import ClusterStore

FaultHandler = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]

_RESOURCES_V1 = [
    ("namespaces", "Namespace", False, ["get", "list"]),
    ("pods", "Pod", True, ["get", "list"]),
    ("pods/log", "Pod", True, ["get"]),
    ("pods/portforward", "PodPortForwardOptions", True, ["create", "get"]),
    ("secrets", "Secret", True, ["get", "list"]),
]
_RESOURCES = {
    "apps/v1": [("deployments", "Deployment", True, ["get", "list"])],
    "batch/v1": [("cronjobs", "CronJob", True, ["get", "list"]), ("jobs", "Job", True, ["get", "list"])],
    "admissionregistration.k8s.io/v1": [
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False, ["get", "list"])
    ],
}


_SHORT_NAMES = {"namespaces": ["ns"], "pods": ["po"], "deployments": ["deploy"], "cronjobs": ["cj"]}


def _resource_list(group_version: str, resources: list[tuple[str, str, bool, list[str]]]) -> dict[str, Any]:
    out = []
    for name, kind, namespaced, verbs in resources:
        entry: dict[str, Any] = {
            "name": name,
            "singularName": "" if "/" in name else kind.lower(),
            "namespaced": namespaced,
            "kind": kind,
            "verbs": verbs,
        }
        if name in _SHORT_NAMES:
            entry["shortNames"] = _SHORT_NAMES[name]
        out.append(entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": out}


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _static(body: dict[str, Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(_: web.Request) -> web.Response:
        return _json(body)

    return handler


def status_response(code: int, reason: str, message: str, **details: Any) -> web.Response:
    return _json(objects.status(code, reason, message, details or None), code)


def not_found(kind: str, name: str) -> web.Response:
    return status_response(404, "NotFound", f'{kind} "{name}" not found', name=name, kind=kind)


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
        r.add_get("/version", self._version)
        r.add_get("/api", self._api)
        r.add_get("/apis", self._apis)
        r.add_get("/api/v1", _static(_resource_list("v1", _RESOURCES_V1)))
        for gv, res in _RESOURCES.items():
            r.add_get(f"/apis/{gv}", _static(_resource_list(gv, res)))
        r.add_get("/api/v1/namespaces", self._namespaces)
        r.add_get("/api/v1/namespaces/{name}", self._namespace)
        r.add_get("/api/v1/pods", self._pods)
        r.add_get(f"{ns}/pods", self._pods)
        r.add_get(f"{ns}/pods/{{name}}", self._pod)
        r.add_get(f"{ns}/pods/{{name}}/log", self.streams.pod_log)
        r.add_route("*", f"{ns}/pods/{{name}}/portforward", self.streams.port_forward)
        r.add_get(f"{ns}/secrets", self._secrets)
        r.add_get(f"{ns}/secrets/{{name}}", self._secret)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments", self._deployments)
        r.add_get("/apis/apps/v1/namespaces/{ns}/deployments/{name}", self._deployment)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs", self._cronjobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/cronjobs/{name}", self._cronjob)
        r.add_get("/apis/batch/v1/namespaces/{ns}/jobs", self._jobs)
        r.add_get("/apis/batch/v1/namespaces/{ns}/jobs/{name}", self._job)
        vwc = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
        r.add_get(vwc, self._webhook_configs)
        r.add_get(f"{vwc}/{{name}}", self._webhook_config)
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
        return _json({"token": token, "expires": expires})

    async def _unknown(self, request: web.Request) -> web.Response:
        return status_response(404, "NotFound", "the server could not find the requested resource")

    async def _version(self, _: web.Request) -> web.Response:
        return _json(
            {
                "major": "1",
                "minor": "32",
                "gitVersion": "v1.32.4-gloomon-lab",
                "gitCommit": "0" * 40,
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23.8",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        )

    async def _api(self, request: web.Request) -> web.Response:
        return _json(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                ],
            }
        )

    async def _apis(self, _: web.Request) -> web.Response:
        groups = []
        for gv in _RESOURCES:
            group, version = gv.split("/")
            v = {"groupVersion": gv, "version": version}
            groups.append({"name": group, "versions": [v], "preferredVersion": v})
        return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def _ns_ok(self, request: web.Request) -> bool:
        return request.match_info.get("ns", self.store.namespace) == self.store.namespace

    async def _namespaces(self, _: web.Request) -> web.Response:
        return _json(
            objects.list_of("Namespace", "v1", [objects.namespace_json(self.store)], self.store.next_rv())
        )

    async def _namespace(self, request: web.Request) -> web.Response:
        if request.match_info["name"] != self.store.namespace:
            return not_found("namespaces", request.match_info["name"])
        return _json(objects.namespace_json(self.store))

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        selector = parse_selector(request.query.get("labelSelector", ""))
        if selector is None:
            return status_response(400, "BadRequest", "unable to parse requirement: invalid label selector")
        if request.query.get("watch") in ("true", "1"):
            return await self.streams.watch_pods(request, selector)
        field = request.query.get("fieldSelector", "")
        pods = [p for p in self.store.pods_of() if self._ns_ok(request) and matches(selector, p.labels)]
        if field.startswith("metadata.name="):
            pods = [p for p in pods if p.name == field.split("=", 1)[1]]
        rv = self.store.next_rv()
        if wants_table(request.headers.get("Accept", "")):
            return _json(pod_table(pods, rv))
        return _json(objects.list_of("Pod", "v1", [objects.pod_json(p) for p in pods], rv))

    async def _pod(self, request: web.Request) -> web.Response:
        pod = self.store.pods.get(request.match_info["name"]) if self._ns_ok(request) else None
        if pod is None:
            return not_found("pods", request.match_info["name"])
        if wants_table(request.headers.get("Accept", "")):
            return _json(pod_table([pod], pod.resource_version))
        return _json(objects.pod_json(pod))

    def _forbidden(self, verb: str, name: str | None = None) -> web.Response:
        what = f'secrets "{name}" is forbidden' if name else "secrets is forbidden"
        return status_response(
            403,
            "Forbidden",
            f'{what}: User "system:serviceaccount:{self.store.namespace}:'
            f'gloomon" cannot {verb} resource "secrets" in API group "" in the namespace '
            f'"{self.store.namespace}"',
            name=name or "",
            kind="secrets",
        )

    async def _secrets(self, request: web.Request) -> web.Response:
        if self.forbid_secrets:
            return self._forbidden("list")
        secrets = self.store.secrets() if self._ns_ok(request) else []
        items = [objects.secret_json(self.store, s) for s in secrets]
        return _json(objects.list_of("Secret", "v1", items, self.store.next_rv()))

    async def _secret(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.forbid_secrets:
            return self._forbidden("get", name)
        secret = next((s for s in self.store.secrets() if s.name == name), None)
        if secret is None or not self._ns_ok(request):
            return not_found("secrets", name)
        return _json(objects.secret_json(self.store, secret))

    async def _deployments(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        deps = [
            d for d in self.store.deployments.values() if self._ns_ok(request) and matches(selector, d.labels)
        ]
        items = [objects.deployment_json(self.store, d) for d in deps]
        return _json(objects.list_of("Deployment", "apps/v1", items, self.store.next_rv()))

    async def _deployment(self, request: web.Request) -> web.Response:
        dep = self.store.deployments.get(request.match_info["name"]) if self._ns_ok(request) else None
        if dep is None:
            return not_found("deployments.apps", request.match_info["name"])
        return _json(objects.deployment_json(self.store, dep))

    async def _cronjobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        cron = self.store.cronjob
        crons = [cron] if cron and self._ns_ok(request) and matches(selector, cron.labels) else []
        items = [cronjob_json(self.store, c) for c in crons]
        return _json(objects.list_of("CronJob", "batch/v1", items, self.store.next_rv()))

    async def _cronjob(self, request: web.Request) -> web.Response:
        cron = self.store.cronjob
        if cron is None or cron.name != request.match_info["name"] or not self._ns_ok(request):
            return not_found("cronjobs.batch", request.match_info["name"])
        return _json(cronjob_json(self.store, cron))

    async def _jobs(self, request: web.Request) -> web.Response:
        selector = parse_selector(request.query.get("labelSelector", "")) or []
        jobs = [j for j in self.store.jobs.values() if self._ns_ok(request) and matches(selector, j.labels)]
        items = [job_json(self.store, j) for j in sorted(jobs, key=lambda j: j.created)]
        return _json(objects.list_of("Job", "batch/v1", items, self.store.next_rv()))

    async def _job(self, request: web.Request) -> web.Response:
        job = self.store.jobs.get(request.match_info["name"]) if self._ns_ok(request) else None
        if job is None:
            return not_found("jobs.batch", request.match_info["name"])
        return _json(job_json(self.store, job))

    def _webhooks_forbidden(self, verb: str, name: str = "") -> web.Response:
        resource = "validatingwebhookconfigurations"
        what = f'{resource}.admissionregistration.k8s.io "{name}"' if name else f"{resource}"
        return status_response(
            403,
            "Forbidden",
            f'{what} is forbidden: User "system:serviceaccount:{self.store.namespace}:gloomon" cannot '
            f'{verb} resource "{resource}" in API group "admissionregistration.k8s.io" at the cluster scope',
            name=name,
            group="admissionregistration.k8s.io",
            kind=resource,
        )

    async def _webhook_configs(self, _: web.Request) -> web.Response:
        if self.forbid_webhooks:
            return self._webhooks_forbidden("list")
        config = self.store.webhook_config
        items = [objects.webhook_configuration_json(config, self.store.namespace)] if config else []
        kind, api = "ValidatingWebhookConfiguration", "admissionregistration.k8s.io/v1"
        return _json(objects.list_of(kind, api, items, self.store.next_rv()))

    async def _webhook_config(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.forbid_webhooks:
            return self._webhooks_forbidden("get", name)
        config = self.store.webhook_config
        if config is None or config.name != name:
            return not_found("validatingwebhookconfigurations.admissionregistration.k8s.io", name)
        return _json(objects.webhook_configuration_json(config, self.store.namespace))

    async def _fault(self, request: web.Request) -> web.Response:
        if self.faults is None:
            return status_response(404, "NotFound", "no fault control in this lab")
        fault = request.match_info["fault"]
        body: Any = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            return status_response(
                400, "BadRequest", f'fault {fault}: the body must be a JSON object, e.g. {{"pod": "<name>"}}'
            )
        try:
            result = await self.faults(fault, body)
        except KeyError as exc:
            field = exc.args[0] if exc.args else ""
            if isinstance(field, str) and field.isidentifier() and field not in body:
                # the fault reads a field the body lacks: say which, not a bare "'pod'"
                message = f'fault {fault}: the JSON body needs "{field}", e.g. {{"{field}": "<value>"}}'
            else:
                message = f"fault {fault}: {field}"
            return status_response(400, "BadRequest", message)
        except (TypeError, ValueError) as exc:  # e.g. {"seconds": "soon"}
            return status_response(400, "BadRequest", f"fault {fault}: {exc}")
        return _json({"ok": True, **result})

    async def _state(self, _: web.Request) -> web.Response:
        pods = {
            p.name: {"component": p.component.value if p.component else None, "ports": p.port_map}
            for p in self.store.pods_of()
        }
        return _json(
            {
                "namespace": self.store.namespace,
                "pods": pods,
                "outage": self.in_outage,
                "forbidSecrets": self.forbid_secrets,
                "forbidWebhooks": self.forbid_webhooks,
            }
        )
