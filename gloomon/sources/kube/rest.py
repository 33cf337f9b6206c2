"""The few Kubernetes GETs gloomon makes, without ``kubernetes.aio``'s generated API classes.

Importing ``CoreV1Api`` (or any generated API module) imports every model class its methods name — a
few hundred pydantic modules, most of a second of ``gloomon check``'s start — and gloomon never uses
them: every read is ``_preload_content=False`` and decoded from JSON by the caller. :class:`RawApi`
offers the same ``*_without_preload_content`` methods (same arguments, same request: path, query
names, ``Accept: application/json``, bearer auth) over the connection's ``ApiClient``, so callers and
credential renewal (which looks at ``.api_client``) see no difference.
"""

from __future__ import annotations

from typing import Any

_ACCEPT = "application/json"
#: the Python keyword arguments callers pass → the API's query parameter names
_QUERY_NAMES = {
    "label_selector": "labelSelector",
    "field_selector": "fieldSelector",
    "since_seconds": "sinceSeconds",
    "limit_bytes": "limitBytes",
    "tail_lines": "tailLines",
    "timestamps": "timestamps",
    "container": "container",
    "follow": "follow",
    "previous": "previous",
    "ports": "ports",
    "limit": "limit",
}


class RawApi:
    """The GET methods of ``CoreV1Api``, ``AppsV1Api``, ``BatchV1Api`` and ``AdmissionregistrationV1Api``
    that gloomon calls, each returning the undecoded response like the generated ones."""

    def __init__(self, api_client: Any) -> None:
        self.api_client = api_client

    async def get(
        self, path: str, path_params: dict[str, str], *, _request_timeout: Any = None, **query: Any
    ) -> Any:
        """GET ``path`` (``{name}`` filled from ``path_params``, quoted by ``param_serialize`` as for the
        generated API) with ``query`` (keyword names as in the generated API)."""
        params = []
        for key, value in query.items():
            if value is None:
                continue
            if key not in _QUERY_NAMES:
                raise TypeError(f"unexpected query parameter {key!r}")
            params.append((_QUERY_NAMES[key], value))
        request = await self.api_client.param_serialize(
            method="GET",
            resource_path=path,
            path_params=path_params,
            query_params=params,
            header_params={"Accept": _ACCEPT},
            body=None,
            post_params=[],
            files={},
            auth_settings=["BearerToken"],
            collection_formats={},
            _host=None,
            _request_auth=None,
        )
        response = await self.api_client.call_api(
            *request, _preload_content=False, _request_timeout=_request_timeout
        )
        return response.response

    # core/v1
    async def read_namespace_without_preload_content(self, name: str, **kw: Any) -> Any:
        return await self.get("/api/v1/namespaces/{name}", {"name": name}, **kw)

    async def list_namespaced_pod_without_preload_content(self, namespace: str, **kw: Any) -> Any:
        return await self.get("/api/v1/namespaces/{namespace}/pods", {"namespace": namespace}, **kw)

    async def list_pod_for_all_namespaces_without_preload_content(self, **kw: Any) -> Any:
        return await self.get("/api/v1/pods", {}, **kw)

    async def list_namespaced_event_without_preload_content(self, namespace: str, **kw: Any) -> Any:
        return await self.get("/api/v1/namespaces/{namespace}/events", {"namespace": namespace}, **kw)

    async def read_namespaced_secret_without_preload_content(
        self, name: str, namespace: str, **kw: Any
    ) -> Any:
        return await self.get(
            "/api/v1/namespaces/{namespace}/secrets/{name}", {"namespace": namespace, "name": name}, **kw
        )

    async def read_namespaced_pod_log_without_preload_content(
        self, name: str, namespace: str, **kw: Any
    ) -> Any:
        return await self.get(
            "/api/v1/namespaces/{namespace}/pods/{name}/log", {"namespace": namespace, "name": name}, **kw
        )

    async def connect_get_namespaced_pod_portforward_without_preload_content(
        self, name: str, namespace: str, **kw: Any
    ) -> Any:
        path = "/api/v1/namespaces/{namespace}/pods/{name}/portforward"
        return await self.get(path, {"name": name, "namespace": namespace}, **kw)

    # apps/v1
    async def list_namespaced_deployment_without_preload_content(self, namespace: str, **kw: Any) -> Any:
        return await self.get(
            "/apis/apps/v1/namespaces/{namespace}/deployments", {"namespace": namespace}, **kw
        )

    async def list_deployment_for_all_namespaces_without_preload_content(self, **kw: Any) -> Any:
        return await self.get("/apis/apps/v1/deployments", {}, **kw)

    # batch/v1
    async def list_namespaced_job_without_preload_content(self, namespace: str, **kw: Any) -> Any:
        return await self.get("/apis/batch/v1/namespaces/{namespace}/jobs", {"namespace": namespace}, **kw)

    async def read_namespaced_cron_job_without_preload_content(
        self, name: str, namespace: str, **kw: Any
    ) -> Any:
        return await self.get(
            "/apis/batch/v1/namespaces/{namespace}/cronjobs/{name}",
            {"namespace": namespace, "name": name},
            **kw,
        )

    # admissionregistration.k8s.io/v1
    async def read_validating_webhook_configuration_without_preload_content(
        self, name: str, **kw: Any
    ) -> Any:
        group = "/apis/admissionregistration.k8s.io/v1"
        return await self.get(group + "/validatingwebhookconfigurations/{name}", {"name": name}, **kw)
