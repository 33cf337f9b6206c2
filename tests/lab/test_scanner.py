"""User traffic noise (issue 9 §1): the scanner's plaintext, junk and untrusted clients make the user
scopes' ``ssl.*`` failures grow on a real gateway-proxy while ``cluster.xds_cluster.ssl.*`` stays flat,
and ``gloomon check`` finds nothing wrong with the mTLS; a client of the user's own CA gets through the
user mTLS listener and its TLS Upstream."""

from __future__ import annotations

import asyncio
import json
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from gloomon.lab import Lab
from gloomon.lab.pods.user_tls import USER_MTLS_PORT, USER_UPSTREAM_CLUSTER
from gloomon.lab.scanner import Scanner

pytestmark = [pytest.mark.lab, pytest.mark.asyncio(loop_scope="module")]
NS = "gloo-system"
UPSTREAM = USER_UPSTREAM_CLUSTER.format(namespace=NS)
#: the failure counters of a TLS scope
FAILURES = (
    "connection_error",
    "fail_verify_error",
    "fail_verify_no_cert",
    "fail_verify_san",
    "fail_verify_cert_hash",
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("healthy", NS, user_https=True) as running:
        yield running


def user_pod(lab: Lab) -> str:
    return next(p for p in lab.pods() if lab.runtime(p).traits.user_https)


async def ssl_stats(lab: Lab, pod: str) -> dict[str, int]:
    async with aiohttp.ClientSession() as session, session.get(f"{lab.admin_url(pod)}/stats?filter=ssl") as r:
        text = await r.text()
    pairs = (line.split(": ", 1) for line in text.splitlines() if ": " in line)
    return {k: int(v) for k, v in pairs if v.isdigit()}


def failures(stats: dict[str, int], scope: str) -> dict[str, int]:
    return {f: stats.get(f"{scope}.ssl.{f}", 0) for f in FAILURES}


async def test_scanner_noise_grows_user_scopes_only(lab: Lab, eventually: Callable[..., Any]) -> None:
    pod = user_pod(lab)
    before = await ssl_stats(lab, pod)
    scanner = Scanner.for_lab(lab)
    for _ in range(3):
        await scanner.sweep()

    def grown(stats: dict[str, int]) -> bool:
        https, mtls = (
            failures(stats, "listener.[__]_8443"),
            failures(stats, f"listener.[__]_{USER_MTLS_PORT}"),
        )
        old_https, old_mtls = (
            failures(before, "listener.[__]_8443"),
            failures(before, f"listener.[__]_{USER_MTLS_PORT}"),
        )
        return (
            https["connection_error"] >= old_https["connection_error"] + 6
            and mtls["fail_verify_error"] >= old_mtls["fail_verify_error"] + 3
            and mtls["fail_verify_no_cert"] >= old_mtls["fail_verify_no_cert"] + 3
        )

    after = await eventually(lambda: ssl_stats(lab, pod), grown, what="the user scopes' failures")
    assert failures(after, "cluster.xds_cluster") == failures(before, "cluster.xds_cluster")
    assert failures(after, "cluster.rest_xds_cluster") == failures(before, "cluster.rest_xds_cluster")


async def test_gloomon_check_finds_no_mtls_problem_in_the_noise(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    """``gloomon check -o json`` (its own thread and event loop, as the command runs)."""
    from gloomon.cli import main

    assert await lab.scan(2) == 2  # the fault, as POST /lab/v1/faults/scan runs it
    argv = ["check", "--kubeconfig", str(lab.kubeconfig_path), "-n", NS, "-o", "json", "--fail-on", "never"]
    code = await asyncio.wait_for(asyncio.to_thread(main, [*argv, "--since", "1s"]), 120)
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    codes = [f["code"] for f in report["findings"]]
    assert "tls-verify-failures" not in codes, report["findings"]
    assert user_pod(lab) in [t["pod"] for t in report["targets"] if t["reachable"]]
    assert [(t["pod"], t["tls_errors"]) for t in report["targets"] if t["tls_errors"]] == []


async def test_a_client_of_the_users_ca_reaches_the_tls_upstream(lab: Lab) -> None:
    pod = user_pod(lab)
    runtime = lab.runtime(pod)
    tls = runtime.user_tls  # the pod's user TLS material (its client CA issues the client certificate)
    assert tls is not None
    before = await ssl_stats(lab, pod)
    cert, key = tls.client_certificate()
    context = ssl.create_default_context(cadata=tls.cert_pem)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "c.crt").write_text(cert)
        (Path(tmp) / "c.key").write_text(key)
        context.load_cert_chain(Path(tmp) / "c.crt", Path(tmp) / "c.key")
    url = f"https://shop.example.com:{runtime.pod.port_map[USER_MTLS_PORT]}/"
    connector = aiohttp.TCPConnector(ssl=context, resolver=_Loopback())
    async with aiohttp.ClientSession(connector=connector) as session, session.get(url) as response:
        assert (response.status, await response.text()) == (200, "ok")
    after = await ssl_stats(lab, pod)
    assert after[f"cluster.{UPSTREAM}.ssl.handshake"] > before.get(f"cluster.{UPSTREAM}.ssl.handshake", 0)


class _Loopback(aiohttp.abc.AbstractResolver):
    """``shop.example.com`` is the pod's loopback: SNI and verification see the user's host name."""

    async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, Any]]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": 2, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        return None
