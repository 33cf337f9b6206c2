"""Max RSS and wall time of one ``gloomon check`` against hostile admin servers, as JSON.

Run: ``.venv/bin/python bench/check_limits.py [--runs N]``. Targets: RSS ≤ 200 MB and ≤ 10 s each.

- ``endless``: every admin path answers a chunked body that never ends (1 MB chunks as fast as the
  socket takes them). ``check`` must stop at each path's cap and report ``admin-bad-response``.
- ``10000-cas``: a real Envoy 1.40's answers (tests/domain/fixtures, recorded from the lab) whose
  validation context holds a 10,000-CA bundle (RSA 2048 like certgen's, all signed with one key so that
  generating them takes seconds; cached under /tmp), ``/certs`` listing all of them.

Wall time depends on what else runs on the machine (``load_average_1m`` says); ``cpu_s`` (the child's
user + system time) does not. The servers run in this process (one thread); ``check`` runs as
``python -m gloomon check`` in a child whose peak RSS is its own ``VmHWM`` from ``/proc/self/status``,
read at exit. Not ``ru_maxrss``: Linux carries the pre-``exec`` high-water mark of the forked child
(this process, holding the 10,000-CA bodies) into it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "domain" / "fixtures"
CACHE = Path("/tmp/gloomon-bench-10000-cas.json")
CAS = 10_000
CHUNK = b"x" * (1024 * 1024)


def generate_bundle(count: int) -> dict[str, object]:
    """``count`` self-signed CAs sharing one RSA key, and a leaf signed by the first: PEM and /certs rows."""
    if CACHE.exists():
        cached = json.loads(CACHE.read_text())
        if cached.get("count") == count:
            return cached  # type: ignore[no-any-return]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "supergloo-webhook-cert-ca")])
    pems, rows = [], []
    for serial in range(1, count + 1):
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        pems.append(cert.public_bytes(serialization.Encoding.PEM).decode())
        rows.append(_certs_row(cert))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gloo.gloo-system.svc")]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(count + 1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("gloo.gloo-system.svc")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    bundle = {
        "count": count,
        "bundle_pem": "".join(pems),
        "leaf_pem": leaf.public_bytes(serialization.Encoding.PEM).decode(),
        "ca_rows": rows,
        "leaf_row": _certs_row(leaf),
    }
    CACHE.write_text(json.dumps(bundle))
    return bundle


def _certs_row(cert: x509.Certificate) -> dict[str, object]:
    """One certificate as Envoy's ``/certs`` lists it."""
    sans: list[dict[str, str]] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        sans = [{"dns": n} for n in ext.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    return {
        "path": "<inline>",
        "serial_number": f"{cert.serial_number:x}",
        "subject_alt_names": sans,
        "days_until_expiration": str((cert.not_valid_after_utc - dt.datetime.now(dt.UTC)).days),
        "valid_from": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expiration_time": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def big_bundle_bodies(bundle: dict[str, object]) -> dict[str, bytes]:
    """The recorded Envoy 1.40 answers, with the 10,000-CA bundle in config_dump and /certs."""
    secrets = json.loads((FIXTURES / "envoy140_ca_added_secrets_active.json").read_text())
    for config in secrets["configs"]:
        secret = config["secret"]
        if "validation_context" in secret:
            secret["validation_context"]["trusted_ca"] = {"inline_string": bundle["bundle_pem"]}
        if "tls_certificate" in secret:
            secret["tls_certificate"]["certificate_chain"] = {"inline_string": bundle["leaf_pem"]}
    certs = json.loads((FIXTURES / "envoy140_ca_added_certs.json").read_text())
    template = copy.deepcopy(certs["certificates"][0])
    template["ca_cert"], template["cert_chain"] = bundle["ca_rows"], [bundle["leaf_row"]]
    certs["certificates"] = [template, copy.deepcopy(template)]
    return {
        "/config_dump": json.dumps(secrets, indent=1).encode(),
        "/certs": json.dumps(certs, indent=1).encode(),
        "/clusters": (FIXTURES / "envoy140_ca_added_clusters.json").read_bytes(),
        "/stats": (FIXTURES / "envoy140_ca_added_stats.txt").read_bytes(),
        "/server_info": (FIXTURES / "envoy140_ca_added_server_info.json").read_bytes(),
        "/ready": (FIXTURES / "envoy140_ca_added_ready.txt").read_bytes(),
    }


def endless_handler() -> Callable[[web.Request], object]:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            while True:
                await response.write(CHUNK)
        except (ConnectionError, asyncio.CancelledError):
            return response

    return endless


def fixed_handler(bodies: dict[str, bytes]) -> Callable[[web.Request], object]:
    async def fixed(request: web.Request) -> web.Response:
        body = bodies.get(request.path)
        return web.Response(body=body) if body is not None else web.Response(status=404)

    return fixed


class Server:
    """An aiohttp admin server on 127.0.0.1 in a thread of its own."""

    def __init__(self, handler: Callable[[web.Request], object]) -> None:
        self.handler = handler
        self.port = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self.handler)  # type: ignore[arg-type]
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())


#: runs ``gloomon check`` and, at exit, writes its peak RSS (kB) and CPU seconds to $HWM_FILE
_WRAPPER = """
import atexit, os, resource, runpy, sys
def hwm():
    kb = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    open(os.environ["HWM_FILE"], "w").write(f"{kb} {usage.ru_utime + usage.ru_stime}")
atexit.register(hwm)
sys.argv = ["gloomon", *sys.argv[1:]]
runpy.run_module("gloomon", run_name="__main__")
"""


def run_check(url: str, hwm_file: Path) -> dict[str, object]:
    """One ``gloomon check --target gloo=URL -o json``: wall time, peak RSS of that child, its report."""
    hwm_file.unlink(missing_ok=True)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, "check", "--target", f"gloo={url}", "-o", "json"],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", "HWM_FILE": str(hwm_file)},
        timeout=120,
    )
    wall = time.perf_counter() - started
    try:
        report = json.loads(result.stdout)
    except ValueError:
        report = {"error": result.stderr.decode(errors="replace")[-300:]}
    kb, cpu = hwm_file.read_text().split() if hwm_file.exists() else ("nan", "nan")
    return {
        "wall_s": wall,
        "cpu_s": float(cpu),
        "max_rss_mb": float(kb) / 1024,
        "exit": result.returncode,
        "report": report,
    }


def summarise(case: str, runs: list[dict[str, object]]) -> dict[str, object]:
    report = runs[-1]["report"]
    assert isinstance(report, dict)
    findings = [f"{f['code']}: {f['message'][:100]}" for f in report.get("findings", [])]
    targets = report.get("targets") or [{}]
    return {
        "case": case,
        "runs": len(runs),
        "wall_s_median": statistics.median(float(r["wall_s"]) for r in runs),  # type: ignore[arg-type]
        "wall_s_max": max(float(r["wall_s"]) for r in runs),  # type: ignore[arg-type]
        "cpu_s_median": statistics.median(float(r["cpu_s"]) for r in runs),  # type: ignore[arg-type]
        "max_rss_mb": max(float(r["max_rss_mb"]) for r in runs),  # type: ignore[arg-type]
        "load_average_1m": os.getloadavg()[0],
        "exit": runs[-1]["exit"],
        "status": report.get("status"),
        "bundle_cas": len(targets[0].get("bundle") or []),
        "findings": findings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    hwm = Path(f"/tmp/gloomon-bench-hwm-{os.getpid()}")
    with Server(endless_handler()) as server:
        runs = [run_check(f"http://127.0.0.1:{server.port}", hwm) for _ in range(args.runs)]
    results.append(summarise("endless", runs))
    generated = time.perf_counter()
    bodies = big_bundle_bodies(generate_bundle(CAS))
    generated = time.perf_counter() - generated
    with Server(fixed_handler(bodies)) as server:
        runs = [run_check(f"http://127.0.0.1:{server.port}", hwm) for _ in range(args.runs)]
    big = summarise("10000-cas", runs)
    big["config_dump_mb"] = len(bodies["/config_dump"]) / 2**20
    big["certs_mb"] = len(bodies["/certs"]) / 2**20
    big["generate_s"] = generated
    results.append(big)
    print(json.dumps({"targets": {"max_rss_mb": 200, "wall_s": 10}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
