"""Capture real Envoy outputs of Gloo's xDS link and gRPC SDS as fixtures (run by hand:
``python -m tests.domain.capture_links``; about 80 s, the scenarios run side by side).

Each scenario runs two Envoys, started as the lab starts its own
(:class:`gloomon.lab.pods.process.EnvoyProcess`), with Gloo's bootstraps cut down to the link
(reference/gloo-mtls.md §2):

- "gloo": gloo's ``envoy-sidecar``: ``envoy_xds_mtls_listener`` terminating mTLS and forwarding to
  ``gloo_xds_cluster`` (gloo's own xDS server, here a small gRPC ADS server in this process that answers
  every request with an empty response), certificates from SDS cluster ``gloo_sds``;
- "gw": a gateway-proxy: ADS (``dynamic_resources.ads_config``) over cluster
  ``gloo.gloo-system.svc.cluster.local:9977`` (``alt_stat_name: xds_cluster``, no health checks, as in
  production) to that listener, certificates from SDS cluster ``gateway_proxy_sds``.

Both SDS servers are gRPC ``SecretDiscoveryService`` servers in this process delivering ``server_cert`` and
``validation_context``. Scenarios: ``connected`` (all up), ``gloo_down`` (no ADS server behind the
sidecar), ``untrusted`` (the gateway-proxy's bundle lacks gloo's CA), ``sds_died`` (the gateway-proxy's
SDS server stops after delivering), ``sds_never`` (it never starts). Saved per scenario and Envoy:
``links_<scenario>_<gw|gloo>_stats.txt`` (``/stats`` with gloomon's filter), ``…_warming.json``
(``dynamic_warming_secrets``) and ``…_log.txt`` (its ``gRPC config`` / ``initial fetch`` lines). Private
keys exist only in memory and Envoy's admin API prints none; the capture checks the fixtures anyway.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import grpc
from envoy.extensions.transport_sockets.tls.v3 import secret_pb2
from envoy.service.discovery.v3 import ads_pb2_grpc, discovery_pb2
from envoy.service.secret.v3 import sds_pb2_grpc

from gloomon.domain.parse.envoy import STATS_FILTER
from gloomon.lab.cluster.util import free_port
from gloomon.lab.pods.process import EnvoyProcess
from tests.domain.certs import make_ca, make_leaf

FIXTURES = Path(__file__).parent / "fixtures"
SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
XDS = "gloo.gloo-system.svc.cluster.local:9977"
RUN_SECONDS = 70.0  # past Envoy's 30 s backoff cap, so stream closes are logged at warning


class _Ads(ads_pb2_grpc.AggregatedDiscoveryServiceServicer):
    """Answers each first request of a type with an empty response (no clusters, no listeners)."""

    def StreamAggregatedResources(
        self, request_iterator: Iterator[discovery_pb2.DiscoveryRequest], context: grpc.ServicerContext
    ) -> Iterator[discovery_pb2.DiscoveryResponse]:
        for number, request in enumerate(request_iterator):
            if not request.response_nonce:
                yield discovery_pb2.DiscoveryResponse(
                    version_info="1", type_url=request.type_url, nonce=str(number)
                )


class _Sds(sds_pb2_grpc.SecretDiscoveryServiceServicer):
    def __init__(self, secrets: dict[str, secret_pb2.Secret]) -> None:
        self.secrets = secrets

    def StreamSecrets(
        self, request_iterator: Iterator[discovery_pb2.DiscoveryRequest], context: grpc.ServicerContext
    ) -> Iterator[discovery_pb2.DiscoveryResponse]:
        for number, request in enumerate(request_iterator):
            if request.response_nonce:
                continue
            response = discovery_pb2.DiscoveryResponse(
                version_info="6157", type_url=SECRET_TYPE, nonce=str(number)
            )
            for name in request.resource_names:
                if name in self.secrets:
                    response.resources.add().Pack(self.secrets[name])
            yield response


def _serve(servicer: Any, port: int) -> grpc.Server:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    if isinstance(servicer, _Ads):
        ads_pb2_grpc.add_AggregatedDiscoveryServiceServicer_to_server(servicer, server)
    else:
        sds_pb2_grpc.add_SecretDiscoveryServiceServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


def _secrets(leaf_pem: str, key_pem: str, bundle_pem: str) -> dict[str, secret_pb2.Secret]:
    cert = secret_pb2.Secret(name="server_cert")
    cert.tls_certificate.certificate_chain.inline_string = leaf_pem
    cert.tls_certificate.private_key.inline_string = key_pem
    validation = secret_pb2.Secret(name="validation_context")
    validation.validation_context.trusted_ca.inline_string = bundle_pem
    return {"server_cert": cert, "validation_context": validation}


def _address(port: int) -> dict[str, Any]:
    return {"socket_address": {"address": "127.0.0.1", "port_value": port}}


def _cluster(name: str, port: int, *, http2: bool, **extra: Any) -> dict[str, Any]:
    endpoint = {"endpoint": {"address": _address(port)}}
    cluster: dict[str, Any] = {
        "name": name,
        "connect_timeout": "0.25s",
        "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [endpoint]}]},
        **extra,
    }
    if http2:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return cluster


def _tls_context(sds_cluster: str) -> dict[str, Any]:
    def sds(name: str) -> dict[str, Any]:
        source = {
            "api_config_source": {
                "api_type": "GRPC",
                "transport_api_version": "V3",
                "grpc_services": [{"envoy_grpc": {"cluster_name": sds_cluster}}],
            },
            "resource_api_version": "V3",
        }
        return {"name": name, "sds_config": source}

    return {
        "tls_certificate_sds_secret_configs": [sds("server_cert")],
        "validation_context_sds_secret_config": sds("validation_context"),
    }


def _tls(kind: str, sds_cluster: str) -> dict[str, Any]:
    return {
        "name": "envoy.transport_sockets.tls",
        "typed_config": {
            "@type": f"type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.{kind}TlsContext",
            "common_tls_context": _tls_context(sds_cluster),
        },
    }


def _gloo_bootstrap(listen: int, ads: int, sds: int) -> dict[str, Any]:
    tcp_proxy = {
        "name": "envoy.filters.network.tcp_proxy",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
            "stat_prefix": "ingress_tcp",
            "cluster": "gloo_xds_cluster",
        },
    }
    listener = {
        "name": "envoy_xds_mtls_listener",
        "address": _address(listen),
        "filter_chains": [{"filters": [tcp_proxy], "transport_socket": _tls("Downstream", "gloo_sds")}],
    }
    return {
        "node": {"id": "sds_client", "cluster": "sds_client"},
        "admin": {"address": _address(0)},
        "static_resources": {
            "listeners": [listener],
            "clusters": [
                _cluster("gloo_xds_cluster", ads, http2=False),
                _cluster("gloo_sds", sds, http2=True),
            ],
        },
    }


def _gw_bootstrap(gloo_listen: int, sds: int) -> dict[str, Any]:
    ads = {
        "api_type": "GRPC",
        "transport_api_version": "V3",
        "grpc_services": [{"envoy_grpc": {"cluster_name": XDS}}],
    }
    return {
        "node": {"id": "gateway-proxy-7d4b9c-x2x8z.gloo-system", "cluster": "gateway"},
        "admin": {"address": _address(0)},
        "dynamic_resources": {
            "ads_config": ads,
            "cds_config": {"ads": {}, "resource_api_version": "V3"},
            "lds_config": {"ads": {}, "resource_api_version": "V3"},
        },
        "static_resources": {
            "clusters": [
                _cluster(
                    XDS,
                    gloo_listen,
                    http2=True,
                    alt_stat_name="xds_cluster",
                    transport_socket=_tls("Upstream", "gateway_proxy_sds"),
                ),
                _cluster("gateway_proxy_sds", sds, http2=True),
            ]
        },
    }


async def _get(session: aiohttp.ClientSession, admin: int | None, path: str) -> bytes:
    async with session.get(f"http://127.0.0.1:{admin}{path}", timeout=aiohttp.ClientTimeout(total=5)) as resp:
        return await resp.read()


async def scenario(name: str, keys: list[str], pems: dict[str, str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"gloomon-links-{name}-"))
    ports = {k: free_port() for k in ("listen", "ads", "gloo_sds", "gw_sds")}
    servers: list[grpc.Server] = []
    good = _secrets(pems["leaf"], pems["key"], pems["ca"])
    gw_secrets = _secrets(pems["leaf"], pems["key"], pems["other"]) if name == "untrusted" else good
    servers.append(_serve(_Sds(good), ports["gloo_sds"]))
    gw_sds = _serve(_Sds(gw_secrets), ports["gw_sds"]) if name != "sds_never" else None
    if name != "gloo_down":
        servers.append(_serve(_Ads(), ports["ads"]))
    logs: dict[str, list[str]] = {"gloo": [], "gw": []}
    bootstraps = {
        "gloo": _gloo_bootstrap(ports["listen"], ports["ads"], ports["gloo_sds"]),
        "gw": _gw_bootstrap(ports["listen"], ports["gw_sds"]),
    }
    envoys = {
        who: EnvoyProcess(f"links-{name}-{who}", bootstrap, tmp / who, logs[who].append)
        for who, bootstrap in bootstraps.items()
    }
    try:
        await asyncio.gather(*(envoy.start() for envoy in envoys.values()))
        await asyncio.sleep(5.0)
        if gw_sds is not None and name == "sds_died":
            gw_sds.stop(grace=0)
            gw_sds = None
        await asyncio.sleep(RUN_SECONDS)
        async with aiohttp.ClientSession() as session:
            for who, envoy in envoys.items():
                prefix = FIXTURES / f"links_{name}_{who}"
                stats = await _get(session, envoy.admin_port, "/stats?filter=" + quote(STATS_FILTER, safe=""))
                warming = await _get(
                    session, envoy.admin_port, "/config_dump?resource=dynamic_warming_secrets"
                )
                for body in (stats, warming):
                    for key in keys:
                        for line in key.strip().splitlines()[1:-1]:
                            assert line.encode() not in body, "key material in an Envoy response"
                Path(f"{prefix}_stats.txt").write_bytes(stats)
                Path(f"{prefix}_warming.json").write_bytes(warming)
    finally:
        await asyncio.gather(*(envoy.stop() for envoy in envoys.values()))
        for server in servers + ([gw_sds] if gw_sds is not None else []):
            server.stop(grace=0)
        shutil.rmtree(tmp, ignore_errors=True)
    for who, lines in logs.items():
        kept = [line for line in lines if "gRPC config" in line or "initial fetch" in line]
        (FIXTURES / f"links_{name}_{who}_log.txt").write_text("".join(line + "\n" for line in kept))


async def _main() -> None:
    ca, other = make_ca(), make_ca()
    leaf = make_leaf(ca)
    keys = [leaf.key_pem(), ca.key_pem(), other.key_pem()]
    pems = {"leaf": leaf.pem, "key": leaf.key_pem(), "ca": ca.pem, "other": other.pem}
    names = ("connected", "gloo_down", "untrusted", "sds_died", "sds_never")
    await asyncio.gather(*(scenario(name, keys, pems) for name in names))


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
