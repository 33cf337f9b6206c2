"""Capture real Envoy admin outputs as test fixtures (run by hand: ``python -m tests.domain.capture_envoy``).

Starts the ``envoy`` of the venv with a small Gloo-like bootstrap on free loopback ports: an
``envoy_xds_mtls_listener`` terminating mTLS, and a client cluster ``gloo.gloo-system.svc.cluster.local:9977``
(stat name ``xds_cluster``) health-checking it through mTLS, both fed by file-based SDS secrets
``server_cert`` and ``validation_context``. Certificates are generated for the run; private keys exist only
in the temporary directory and are never written to the fixtures (Envoy prints ``[redacted]`` anyway, and
the capture replaces anything key-like).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from gloomon.domain.parse.envoy import STATS_FILTER
from tests.domain.certs import NOW, make_ca, make_leaf

FIXTURES = Path(__file__).parent / "fixtures"
ENVOY = Path(sys.executable).parent / "envoy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


def _bootstrap(tmp: Path, admin: int, listen: int, upstream: int) -> dict[str, object]:
    xds = "gloo.gloo-system.svc.cluster.local:9977"
    return {
        "node": {"id": "sds_client", "cluster": "sds_client"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
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


def _get(admin: int, path: str) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{admin}{path}", timeout=5) as resp:
        return bytes(resp.read())


def _scrub(body: bytes, keys: list[str]) -> bytes:
    text = body.decode()
    for key in keys:
        for line in key.strip().splitlines()[1:-1]:
            assert line not in text, "key material in an Envoy response"
    return body


def capture(name: str, *, bundle_pems: list[str], leaf_pem: str, key_pem: str, keys: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gloomon-capture-"))
    admin, listen, upstream = _free_port(), _free_port(), _free_port()
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
        (tmp / "bootstrap.json").write_text(json.dumps(_bootstrap(tmp, admin, listen, upstream)))
        base_id = 40000 + os.getpid() % 10000
        proc = subprocess.Popen(
            [
                str(ENVOY),
                "-c",
                str(tmp / "bootstrap.json"),
                "--base-id",
                str(base_id),
                "-l",
                "info",
                "--concurrency",
                "1",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "envoy.log", "wb"),  # noqa: SIM115
        )
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if _get(admin, "/ready").strip() == b"LIVE":
                        stats = _get(admin, "/stats?filter=xds_cluster.ssl.handshake|fail_verify").decode()
                        if any(int(line.rsplit(":", 1)[1]) > 2 for line in stats.splitlines() if line):
                            break
                except OSError:
                    pass
                time.sleep(0.2)
            from urllib.parse import quote

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
                body = _scrub(_get(admin, path), keys)
                if suffix == "server_info.json":
                    doc = json.loads(body)
                    doc["node"]["extensions"] = doc["node"]["extensions"][:3]
                    doc["command_line_options"]["config_path"] = "/tmp/bootstrap.json"
                    body = json.dumps(doc, indent=1).encode() + b"\n"
                (FIXTURES / f"envoy140_{name}_{suffix}").write_bytes(body)
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
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
    capture(
        "ca_added",
        bundle_pems=[ca_old.pem, ca_new.pem],
        leaf_pem=leaf_old.pem,
        key_pem=leaf_old.key_pem(),
        keys=keys,
    )
    capture(
        "untrusted", bundle_pems=[ca_other.pem], leaf_pem=leaf_old.pem, key_pem=leaf_old.key_pem(), keys=keys
    )


if __name__ == "__main__":
    main()
