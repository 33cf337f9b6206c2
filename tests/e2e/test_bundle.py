"""`gloomon bundle` end to end: the real command as a subprocess, against the lab's Kubernetes API and real
Envoys (and, for ``--target``, a leaky admin server on 127.0.0.1). Every file of the archive is scanned for
the lab's private key (PEM, base64, DER) and the secret's data values."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import tarfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import yaml
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gloomon.domain.model import Component
from gloomon.lab import Lab
from gloomon.lab.cluster.util import now_utc
from gloomon.sources.admin.http import BODY_CAPS

pytestmark = pytest.mark.lab

_SLACK = 12 * 1024 * 1024  # socket buffers on both sides of a cut body


async def gloomon_bundle(*args: str, cwd: Path, timeout: float = 180) -> tuple[int, str, str]:
    """Run `python -m gloomon bundle ARGS` without blocking the loop that serves the lab."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gloomon", "bundle", *args,
        cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).parents[2])},
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, stdout.decode(), stderr.decode()


def members(path: Path) -> dict[str, bytes]:
    """Every file of the archive by its name inside the bundle's top folder."""
    with tarfile.open(path, "r:gz") as archive:
        found = {}
        for info in archive.getmembers():
            assert info.isfile(), info.name
            top, _, name = info.name.partition("/")
            assert top == path.name.removesuffix(".tar.gz"), info.name
            extracted = archive.extractfile(info)
            assert extracted is not None
            found[name] = extracted.read()
        return found


def key_forms(pem: bytes) -> list[bytes]:
    """A private key as it could travel: PEM (its body joined and its lines), base64 of the PEM (the
    Secret's data value), DER and base64 of the DER."""
    key = serialization.load_pem_private_key(pem, password=None)
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    body = pem.splitlines()[1:-1]
    return [
        b"".join(body)[:60],
        *body[1:-1],
        base64.b64encode(pem)[:60],
        base64.b64encode(pem)[60:120],
        der[16:64],
        base64.b64encode(der)[20:80],
    ]


def leaks(files: dict[str, bytes], forbidden: list[bytes]) -> list[str]:
    return [
        f"{name}: {piece[:12]!r}…" for name, data in files.items() for piece in forbidden if piece in data
    ]


async def test_a_bundle_holds_every_source_and_no_key_or_secret_value(make_lab, tmp_path: Path) -> None:
    async with make_lab("healthy") as lab:
        assert lab.store.secret is not None
        data = lab.store.secret.data
        proxy = lab.pods(Component.GATEWAY_PROXY)[0]
        sds = lab.store.pods[proxy].container("sds")
        assert sds is not None and sds.log is not None
        # what a careless sidecar could log: the key itself, as PEM and as one base64 run
        sds.log.append("bundle-marker-old", ts=now_utc() - timedelta(minutes=20))
        sds.log.append("dumping key:\n" + data.tls_key.decode())
        sds.log.append("key=" + base64.b64encode(data.tls_key).decode())
        sds.log.append("bundle-marker-new")
        code, out, err = await gloomon_bundle(
            "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "-n", lab.namespace,
            "--output", "b.tar.gz", cwd=tmp_path,
        )  # fmt: skip
        assert (code, err) == (0, ""), err
        assert out.startswith("gloomon: wrote b.tar.gz (") and out.count("\n") == 1, out
        files = members(tmp_path / "b.tar.gz")

        context = lab.context
        expected = {"README.txt", "check.json"} | {
            f"kubernetes/{context}/{name}.yaml"
            for name in (
                "pods",
                "jobs",
                "cronjob",
                "secret-gloo-mtls-certs",
                "secret-gateway-validation-certs",
            )
        }
        for pod in lab.pods():
            expected |= {f"targets/{context}/{pod}/{name}" for name in (
                "certs.json", "config_dump.json", "clusters.json", "stats.txt", "server_info.json"
            )}  # fmt: skip
            expected.add(f"logs/{context}/{pod}/sds.log")
        assert expected <= set(files), sorted(expected - set(files))
        gloo = lab.pods(Component.GLOO)[0]
        assert {f"logs/{context}/{gloo}/gloo.log", f"logs/{context}/{gloo}/envoy-sidecar.log"} <= set(files)

        assert lab.store.webhook_secret is not None
        webhook = lab.store.webhook_secret.data
        forbidden = [b"PRIVATE KEY", *key_forms(data.tls_key), *key_forms(webhook.tls_key)]
        api_values = []  # the secrets' data values as the API sends them
        for secret_data in (data, webhook):
            api_values += [base64.b64encode(value)[:60] for value in secret_data.as_dict().values()]
        assert leaks(files, [*forbidden, base64.b64encode(data.tls_key)[:60]]) == []
        # Envoy's own documents hold the public certificates as gRPC SDS delivers them (inline_bytes: the
        # same base64 as the API's ca.crt / tls.crt); the API's copy of the secret is metadata only.
        kube = {name: body for name, body in files.items() if not name.startswith("targets/")}
        assert leaks(kube, api_values) == []

        assert json.loads(files["check.json"])["status"] == "ok"
        secret = yaml.safe_load(files[f"kubernetes/{context}/secret-gloo-mtls-certs.yaml"])
        assert [k["key"] for k in secret["keys"]] == ["ca.crt", "tls.crt", "tls.key"]
        assert secret["metadata"]["resourceVersion"] == str(lab.store.secret.resource_version)
        assert secret["certificates"]["tls.crt"][0]["subject"]
        webhook_meta = yaml.safe_load(files[f"kubernetes/{context}/secret-gateway-validation-certs.yaml"])
        assert "tls.key" in [k["key"] for k in webhook_meta["keys"]] and webhook_meta["certificates"]
        dump = json.loads(files[f"targets/{context}/{proxy}/config_dump.json"])
        # the public certificates stay, as SDS delivered them (inline_bytes: base64 of the PEM)
        pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----").decode()
        assert pem in json.dumps(dump) and "server_cert" in json.dumps(dump)
        log = files[f"logs/{context}/{proxy}/sds.log"].decode()
        assert "bundle-marker-new" in log and "[redacted]" in log
        assert "bundle-marker-old" not in log, "--since 10m (the default) is the API's sinceSeconds"
        readme = files["README.txt"].decode()
        assert f"Kubernetes context(s) {context}; namespace {lab.namespace}" in readme
        assert "gloomon 0.1.0" in readme and "Failures: none" in readme, readme

        code, _, err = await gloomon_bundle(
            "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "-n", lab.namespace,
            "--since", "30m", "--output", "older.tar.gz", cwd=tmp_path,
        )  # fmt: skip
        assert code == 0, err
        older = members(tmp_path / "older.tar.gz")
        assert "bundle-marker-old" in older[f"logs/{context}/{proxy}/sds.log"].decode()
        assert "the last 1800 s" in older["README.txt"].decode()
        assert leaks(older, forbidden) == []


async def test_max_size_stops_adding_and_readme_says_what_was_left_out(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    lab = healthy_lab
    code, out, err = await gloomon_bundle(
        "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "--max-size", "256KB",
        "--output", "small.tar.gz", cwd=tmp_path,
    )  # fmt: skip
    assert code == 0, err
    path = tmp_path / "small.tar.gz"
    assert path.stat().st_size <= 256 * 1024
    files = members(path)
    uncompressed = sum(len(data) for data in files.values())
    readme = files["README.txt"].decode()
    assert "Left out (--max-size 256.0 KB reached; nothing added after):" in readme, readme
    left_out = readme.split("Left out", 1)[1]
    assert "targets/" in left_out and "logs/" in left_out, left_out
    assert not [name for name in files if name.startswith("logs/")], "nothing added after the first miss"
    assert "check.json" in files and uncompressed < 256 * 1024
    assert out.startswith("gloomon: wrote small.tar.gz ("), out


class LeakyAdmin:
    """An admin server whose /config_dump holds a private key unredacted, in PEM and base64, and whose
    /stats never ends; /certs answers, the rest is 404."""

    def __init__(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        #: bytes sent by each /stats request (the poll's filtered one, then the bundle's)
        self.sent: list[int] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.path == "/config_dump":
            secret = {
                "name": "server_cert",
                "tls_certificate": {
                    "certificate_chain": {
                        "inline_string": "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
                    },
                    "private_key": {"inline_string": self.key_pem.decode()},
                },
                "extra": {"inline_bytes": base64.b64encode(self.key_pem).decode()},
            }
            return web.json_response({"configs": [{"dynamic_active_secrets": [{"secret": secret}]}]})
        if request.path == "/certs":
            return web.json_response({"certificates": []})
        if request.path != "/stats":
            return web.Response(status=404, text="invalid path")
        response = web.StreamResponse()
        await response.prepare(request)
        self.sent.append(0)
        while self.sent[-1] < 200 * 1024 * 1024:
            await response.write(b"x" * 1024 * 1024)
            self.sent[-1] += 1024 * 1024
        return response


@pytest_asyncio.fixture
async def leaky() -> AsyncIterator[tuple[LeakyAdmin, str]]:
    server = LeakyAdmin()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield server, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_target_mode_bundles_admin_documents_only_redacted_and_capped(
    healthy_lab: Lab, leaky: tuple[LeakyAdmin, str], tmp_path: Path
) -> None:
    server, url = leaky
    lab = healthy_lab
    pods = lab.pods(Component.GATEWAY_PROXY)
    targets = [
        arg for i, pod in enumerate(pods) for arg in ("--target", f"gateway-proxy.{i}={lab.admin_url(pod)}")
    ]
    code, _, err = await gloomon_bundle(
        *targets, "--target", f"gloo={url}", "--output", "t.tar.gz", cwd=tmp_path
    )
    assert code == 0, err
    files = members(tmp_path / "t.tar.gz")
    assert not [name for name in files if name.startswith(("kubernetes/", "logs/"))]
    for i in range(len(pods)):
        assert {f"targets/direct/gateway-proxy.{i}/{n}" for n in ("config_dump.json", "stats.txt")} <= set(
            files
        )
    dump = files["targets/direct/gloo/config_dump.json"].decode()
    assert "[redacted]" in dump and "BEGIN CERTIFICATE" in dump
    assert leaks(files, [b"PRIVATE KEY", *key_forms(server.key_pem)]) == []
    readme = files["README.txt"].decode()
    assert "--target admin URLs (no Kubernetes" in readme
    assert "/stats: body larger than 16 MB" in readme, readme
    assert "/clusters?format=json: HTTP 404" in readme, readme
    assert len(server.sent) == 2 and max(server.sent) <= BODY_CAPS["/stats"] + _SLACK, server.sent


async def test_nothing_to_collect_exits_3_with_one_line_and_no_file(tmp_path: Path) -> None:
    code, out, err = await gloomon_bundle(
        "--target", "gloo=http://127.0.0.1:9", "--output", "n.tar.gz", cwd=tmp_path
    )
    assert (code, out) == (3, "")
    assert err.startswith("gloomon: nothing could be collected: ") and err.count("\n") == 1, err
    assert list(tmp_path.iterdir()) == []


async def test_a_context_that_fails_is_recorded_and_the_others_are_bundled(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    lab = healthy_lab
    code, _, err = await gloomon_bundle(
        "--kubeconfig", str(lab.kubeconfig_path), "--context", lab.context, "--context", "no-such-context",
        "--output", "two.tar.gz", cwd=tmp_path,
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    files = members(tmp_path / "two.tar.gz")
    readme = files["README.txt"].decode()
    assert "- context no-such-context: " in readme, readme
    assert f"Kubernetes context(s) {lab.context};" in readme
    assert f"kubernetes/{lab.context}/pods.yaml" in files
    assert not [name for name in files if "no-such-context" in name]
