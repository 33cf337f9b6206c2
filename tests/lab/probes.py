"""Probes of a running lab for its tests: real Envoy admin calls, real kubernetes clients, the real
kubectl (``run``, ``port_forward``), and the bundle state of what an Envoy holds (read from the PEM, by
signature)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

#: the namespace kubectl is pointed at unless told otherwise (the lab's release namespace)
RELEASE = "gloo-system"


async def admin_get(lab: Any, pod: str, path: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(lab.admin_url(pod) + path) as resp:
        return await resp.text()


async def admin_json(lab: Any, pod: str, path: str) -> Any:
    return json.loads(await admin_get(lab, pod, path))


async def active_secrets(lab: Any, pod: str) -> dict[str, dict[str, Any]]:
    """``/config_dump?resource=dynamic_active_secrets`` as ``{secret name: secret body}``."""
    dump = await admin_json(lab, pod, "/config_dump?resource=dynamic_active_secrets")
    return {c["name"]: c["secret"] for c in dump.get("configs", [])}


async def stats(lab: Any, pod: str, regex: str) -> dict[str, int]:
    text = await admin_get(lab, pod, f"/stats?filter={regex}")
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(": ")
        if value.strip().isdigit():
            out[name] = int(value)
    return out


async def aio_core(lab: Any, *, ws: bool = False) -> Any:
    """A ``kubernetes.aio`` CoreV1Api loaded from the lab's kubeconfig (WsApiClient for port-forward)."""
    from kubernetes.aio import client, config
    from kubernetes.aio.stream import WsApiClient

    cfg = client.Configuration()
    await config.load_kube_config(config_file=str(lab.kubeconfig_path), client_configuration=cfg)
    api_client = WsApiClient(configuration=cfg) if ws else client.ApiClient(configuration=cfg)
    return client.CoreV1Api(api_client=api_client)


def pem_of(source: dict[str, str]) -> bytes:
    """A DataSource's content: ``inline_bytes`` (base64, as gRPC SDS delivers) or ``inline_string``."""
    import base64

    if "inline_bytes" in source:
        return base64.b64decode(source["inline_bytes"])
    return source["inline_string"].encode()


def bundle_state(secrets: dict[str, dict[str, Any]]) -> tuple[tuple[str, ...], str, int | None]:
    """``(CA serials in bundle order, leaf serial, index of the CA that signed the leaf)`` of an Envoy's SDS
    secrets, computed from the PEM Envoy really holds (signature check, not names)."""
    from cryptography import x509

    from gloomon.domain.parse.x509 import envoy_serial

    cas = x509.load_pem_x509_certificates(
        pem_of(secrets["validation_context"]["validation_context"]["trusted_ca"])
    )
    chain = pem_of(secrets["server_cert"]["tls_certificate"]["certificate_chain"])
    leaf = x509.load_pem_x509_certificate(chain)
    signer = None
    for i, ca in enumerate(cas):
        try:
            leaf.verify_directly_issued_by(ca)
        except Exception:
            continue
        signer = i
        break
    # Envoy's spelling (whole bytes: a leading 0 nibble is kept), so serials compare with /certs.
    return tuple(envoy_serial(ca.serial_number) for ca in cas), envoy_serial(leaf.serial_number), signer


def phase_of(state: tuple[tuple[str, ...], str, int | None]) -> str:
    cas, _, signer = state
    if signer is None:
        return "broken"
    if len(cas) == 1:
        return "steady"
    if len(cas) == 2:
        return "ca-added" if signer == 0 else "leaf-rotated"
    return "stalled"


def secret_state(lab: Any) -> tuple[tuple[str, ...], str, int | None]:
    data = lab.store.secret.data
    body = {
        "validation_context": {"validation_context": {"trusted_ca": {"inline_string": data.ca_crt.decode()}}},
        "server_cert": {"tls_certificate": {"certificate_chain": {"inline_string": data.tls_crt.decode()}}},
    }
    return bundle_state(body)


async def run(
    kubectl: Path, lab: Any, *args: str, ok: tuple[int, ...] = (0,), namespace: str | None = RELEASE
) -> str:
    """The real ``kubectl -n namespace args`` against ``lab`` (no ``-n`` when ``namespace`` is None: the
    kubeconfig context's); its stdout, once it exited with one of ``ok``."""
    where = ("-n", namespace) if namespace is not None else ()
    proc = await asyncio.create_subprocess_exec(
        str(kubectl),
        "--kubeconfig",
        str(lab.kubeconfig_path),
        *where,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode in ok, err.decode()
    return out.decode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def port_forward(
    kubectl: Path, lab: Any, target: str, remote: int, *, namespace: str = RELEASE
) -> AsyncIterator[int]:
    """``kubectl -n namespace port-forward target LOCAL:remote`` until kubectl says it is forwarding;
    yields LOCAL."""
    local = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(kubectl),
        "--kubeconfig",
        str(lab.kubeconfig_path),
        "-n",
        namespace,
        "port-forward",
        "--address",
        "127.0.0.1",
        target,
        f"{local}:{remote}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line.startswith(f"Forwarding from 127.0.0.1:{local} -> {remote}".encode()):
            proc.kill()
            err = await proc.stderr.read()
            raise AssertionError(f"kubectl port-forward said {line!r}; stderr: {err.decode()}")
        yield local
    finally:
        if proc.returncode is None:
            proc.terminate()
        await proc.wait()


def serials(certs: dict[str, Any]) -> set[str]:
    return {c["serial_number"] for entry in certs["certificates"] for c in entry["cert_chain"]}


async def get_certs(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        return json.loads(await response.text())
