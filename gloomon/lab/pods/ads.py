"""gloo's own xDS server (the ``gloo`` container): ADS over gRPC, plaintext on 127.0.0.1:9999.

Under glooMtls Gloo's Settings bind the xDS server to ``127.0.0.1:9999`` and the ``envoy-sidecar``
terminates the mTLS link on 9977 in front of it. Each gateway-proxy holds one
``StreamAggregatedResources`` stream and gets a small but real config: CDS one cluster (an upstream,
``default-petstore-8080_<ns>``, served by a tiny HTTP stand-in) and LDS one listener on the proxy's 8080
(``listener-::-8080``) whose HTTP connection manager routes to it. Answers follow
:mod:`gloomon.lab.pods.xds`; ACKs and NACKs are tracked per node (``engine.nodes``).

A pod's 8080 is its own in a cluster; on loopback it is a port the lab picked, which another process may
take before Envoy binds it. Envoy then NACKs the LDS version (``cannot bind …: Address already in use``);
gloo asks the pod for a fresh port (its port map follows) and answers with a new version, so the proxy
ends up serving its listener as a real one would. extauth's and
rate-limit's own processes (:mod:`gloomon.lab.pods.clients`) ask for their config types and get empty
answers (the lab configures no auth or rate limits).

The REST xDS server (9998) only accepts and holds connections: nothing in the lab dials it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import grpc
from envoy.config.cluster.v3 import cluster_pb2
from envoy.config.listener.v3 import listener_pb2
from envoy.extensions.filters.http.router.v3 import router_pb2  # noqa: F401 - registers the Any type
from envoy.extensions.filters.network.http_connection_manager.v3 import (  # noqa: F401 - as above
    http_connection_manager_pb2,
)
from envoy.service.discovery.v3 import ads_pb2_grpc
from envoy.service.discovery.v3.discovery_pb2 import DiscoveryRequest, DiscoveryResponse
from google.protobuf import json_format
from google.protobuf.message import Message

from gloomon.lab.cluster.util import fnv64
from gloomon.lab.pods.process import ADDRESS_IN_USE
from gloomon.lab.pods.xds import Resources, SotwEngine, serve_grpc

CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
#: the gateway-proxy's HTTP port (Gloo's default ``gatewayProxies.*.podTemplate.httpPort``)
HTTP_PORT = 8080
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\r\nok\n"


def _version(messages: list[Message]) -> str:
    return str(fnv64(*(m.SerializeToString(deterministic=True) for m in messages)))


class _Service(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    def __init__(self, engine: SotwEngine) -> None:
        self.engine = engine

    async def StreamAggregatedResources(
        self, request_iterator: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        async for response in self.engine.stream(request_iterator, context):
            yield response

    async def DeltaAggregatedResources(
        self, request_iterator: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "delta xDS is not served")
        yield DiscoveryResponse()  # pragma: no cover - abort raises


class GlooXds:
    """gloo's xDS servers: ADS (gRPC) on the pod's 9999, REST xDS holding connections on 9998."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.engine = SotwEngine(self._provide, on_nack=self._on_nack)
        #: gateway-proxy node id (``<pod>.<ns>``) → the loopback port of its 8080
        self.gateways: dict[str, int] = {}
        #: gateway-proxy node id → how its pod picks a fresh loopback port for its 8080 (see module doc)
        self._movers: dict[str, Callable[[], int]] = {}
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.rest_port = 0
        self._rest: asyncio.Server | None = None
        self._upstream: asyncio.Server | None = None
        self.upstream_port = 0

    @property
    def serving(self) -> bool:
        return self.server is not None

    def add_gateway(self, node_id: str, http_port: int, move: Callable[[], int]) -> None:
        """A gateway-proxy pod exists: its config (a listener on its 8080) is in the next answers.

        ``move()`` gives a fresh loopback port for its 8080 when Envoy could not bind this one."""
        self.gateways[node_id] = http_port
        self._movers[node_id] = move
        self.engine.changed()

    def remove_gateway(self, node_id: str) -> None:
        self.gateways.pop(node_id, None)
        self._movers.pop(node_id, None)

    def _on_nack(self, node_id: str, type_url: str, error: str) -> None:
        """A gateway-proxy NACKed its listener because its port was taken: move it (the answer follows)."""
        port = self.gateways.get(node_id)
        if port is None or type_url != LISTENER_TYPE:
            return
        if ADDRESS_IN_USE in error and f":{port}'" in error:
            self.gateways[node_id] = self._movers[node_id]()

    def _provide(self, node_id: str, type_url: str) -> Resources | None:
        if type_url == CLUSTER_TYPE:
            cluster = self._cluster()
            return Resources(_version([cluster]), {cluster.name: cluster})
        if type_url == LISTENER_TYPE:
            port = self.gateways.get(node_id)
            if port is None:
                return Resources("0", {})
            listener = self._listener(port)
            return Resources(_version([listener]), {listener.name: listener})
        return Resources("0", {})  # extauth's / rate-limit's config types: nothing configured

    def _cluster(self) -> cluster_pb2.Cluster:
        name = f"default-petstore-8080_{self.namespace}"
        address = {"socket_address": {"address": "127.0.0.1", "port_value": self.upstream_port}}
        body = {
            "name": name,
            "type": "STATIC",
            "connect_timeout": "5s",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}],
            },
        }
        return json_format.ParseDict(body, cluster_pb2.Cluster())

    def _listener(self, port: int) -> listener_pb2.Listener:
        route = {"match": {"prefix": "/"}, "route": {"cluster": f"default-petstore-8080_{self.namespace}"}}
        manager = {
            "@type": _HCM,
            "stat_prefix": "http",
            "route_config": {
                "name": f"listener-::-{HTTP_PORT}-routes",
                "virtual_hosts": [{"name": "default", "domains": ["*"], "routes": [route]}],
            },
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}}],
        }
        body = {
            "name": f"listener-::-{HTTP_PORT}",
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "stat_prefix": f"[__]_{HTTP_PORT}",
            "filter_chains": [
                {
                    "filters": [
                        {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
                    ]
                }
            ],
        }
        return json_format.ParseDict(body, listener_pb2.Listener())

    async def start(self, *, port: int = 0, rest_port: int = 0) -> None:
        """Listen (ports 0: the OS picks; ``port``/``rest_port`` give the bound ones). OSError if taken."""
        if self._upstream is None:
            self._upstream = await asyncio.start_server(self._http, "127.0.0.1", 0)
            self.upstream_port = int(self._upstream.sockets[0].getsockname()[1])
        if self._rest is None:
            self._rest = await asyncio.start_server(self._hold, "127.0.0.1", rest_port or self.rest_port)
            self.rest_port = int(self._rest.sockets[0].getsockname()[1])
        service = _Service(self.engine)

        def add(server: grpc.aio.Server) -> None:
            ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(service, server)

        self.server, self.port = await serve_grpc(add, port or self.port)

    async def stop_ads(self) -> None:
        """The gloo process is gone: its ADS streams reset, its port refuses connections."""
        server, self.server = self.server, None
        if server is not None:
            await server.stop(None)

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while await reader.read(65536):
                pass
        writer.close()

    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """The petstore upstream: answers each request ``200 ok`` (keep-alive)."""
        with contextlib.suppress(Exception):
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(_RESPONSE)
                await writer.drain()
        writer.close()

    async def stop(self) -> None:
        await self.stop_ads()
        for server in (self._rest, self._upstream):
            if server is not None:
                server.close()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        await server.wait_closed()
        self._rest = self._upstream = None


__all__ = ["CLUSTER_TYPE", "HTTP_PORT", "LISTENER_TYPE", "DiscoveryRequest", "GlooXds"]
