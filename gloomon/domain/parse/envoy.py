"""Envoy admin responses (``/certs``, ``/config_dump`` secrets, ``/server_info``, ``/ready``) as models.

Tolerant of Envoy versions (reference/envoy-admin.md): ``days_until_expiration`` as string or number,
duplicated ``/certs`` contexts, secrets as ``inline_string`` or base64 ``inline_bytes``. Only public
certificates are read from secrets: a ``tls_certificate``'s ``private_key`` is never looked at.
``/clusters`` and ``/stats`` live in :mod:`gloomon.domain.parse.metrics` and are re-exported here.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote

from gloomon.domain.model import (
    CertInfo,
    CertsContext,
    CertsReport,
    Component,
    ParseError,
    SdsSecret,
    SecretsDump,
    ServerInfo,
)
from gloomon.domain.parse.durations import parse_duration
from gloomon.domain.parse.metrics import STATS_FILTER, parse_clusters, parse_stats
from gloomon.domain.parse.wire import as_int, as_str, decode_text, load_json, parse_timestamp
from gloomon.domain.parse.x509 import parse_pem_bundle
from gloomon.domain.text import inert

__all__ = [
    "ADMIN_PATHS",
    "STATS_FILTER",
    "parse_certs",
    "parse_clusters",
    "parse_ready",
    "parse_secrets_dump",
    "parse_server_info",
    "parse_stats",
    "xds_cluster_names",
]

#: The admin request made for each endpoint (its ParseError source → path and query): what the poller
#: asks and what a hint tells the user to ``curl``.
ADMIN_PATHS = {
    "/config_dump": "/config_dump?resource=dynamic_active_secrets",
    "/clusters": "/clusters?format=json",
    "/stats": "/stats?filter=" + quote(STATS_FILTER, safe=""),
    "/certs": "/certs",
    "/server_info": "/server_info",
}

_SAN_PREFIX = {"dns": "DNS", "uri": "URI", "ip_address": "IP"}
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][\w.\-]+)?$")
_STATES = ("LIVE", "DRAINING", "PRE_INITIALIZING", "INITIALIZING")
#: Longer uptimes are not real (and overflow date arithmetic): ``/server_info`` then has no uptime.
MAX_UPTIME_SECONDS = 100 * 366 * 86400.0


def xds_cluster_names(
    component: Component, namespace: str, cluster_domain: str = "cluster.local"
) -> tuple[str, ...]:
    """Names (cluster name, then stat name) of the cluster that carries this component's link to gloo.

    For gloo itself, whose ``envoy-sidecar`` is the xDS server, it is the plaintext hop to the gloo
    process behind the mTLS listener (reference/gloo-mtls.md §2.5).
    """
    if component is Component.GLOO:
        return ("gloo_xds_cluster",)
    if component is Component.KUBE_GATEWAY:  # the gateway2 chart names the cluster itself xds_cluster
        return ("xds_cluster",)
    return (f"gloo.{namespace}.svc.{cluster_domain}:9977", "xds_cluster")


# ---------------------------------------------------------------------------------------------- /certs


def parse_certs(body: bytes) -> CertsReport | ParseError:
    """``/certs``: TLS contexts with their CA and chain certificates, de-duplicated by (path, serial).

    ``{"certificates": []}`` gives a report with no contexts: no secret delivered yet. Contexts with
    both lists empty (a TLS context without certificates) are dropped for the same reason.
    """
    doc = load_json(body, "/certs")
    if isinstance(doc, ParseError):
        return doc
    if not isinstance(doc, dict) or not isinstance(doc.get("certificates", []), list):
        return ParseError("/certs", "expected an object with a 'certificates' list")
    contexts: list[CertsContext] = []
    seen: set[tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]] = set()
    read: list[tuple[object, list[tuple[tuple[str, str], CertInfo]]]] = []
    for item in doc.get("certificates", []):
        if not isinstance(item, dict):
            continue
        cas = _cert_details_once(item.get("ca_cert"), read)
        chain = _cert_details_once(item.get("cert_chain"), read)
        if not cas and not chain:
            continue
        key = (tuple(k for k, _ in cas), tuple(k for k, _ in chain))
        if key in seen:
            continue
        seen.add(key)
        contexts.append(CertsContext(tuple(c for _, c in cas), tuple(c for _, c in chain)))
    return CertsReport(tuple(contexts))


def _cert_details_once(
    items: object, read: list[tuple[object, list[tuple[tuple[str, str], CertInfo]]]]
) -> list[tuple[tuple[str, str], CertInfo]]:
    """:func:`_cert_details`, reusing ``read``'s rows for a list equal to one read before: every TLS context
    that trusts the same bundle lists all its CAs again (10,000 rows each in a rotation that never ended),
    and comparing the lists costs a fraction of reading them."""
    for raw, rows in read:
        if raw == items:
            return rows
    rows = _cert_details(items)
    read.append((items, rows))
    return rows


def _cert_details(items: object) -> list[tuple[tuple[str, str], CertInfo]]:
    if not isinstance(items, list):
        return []
    out: list[tuple[tuple[str, str], CertInfo]] = []
    keys: set[tuple[str, str]] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        serial = as_str(item.get("serial_number"))
        not_before = parse_timestamp(item.get("valid_from"))
        not_after = parse_timestamp(item.get("expiration_time"))
        if serial is None or not_before is None or not_after is None:
            continue
        key = (as_str(item.get("path")) or "", serial.lower())
        if key in keys:
            continue
        keys.add(key)
        out.append(
            (
                key,
                CertInfo(
                    serial=inert(serial.lower(), 256),
                    not_before=not_before,
                    not_after=not_after,
                    sans=_sans(item.get("subject_alt_names")),
                ),
            )
        )
    return out


def _sans(items: object) -> tuple[str, ...]:
    if not isinstance(items, list):
        return ()
    sans: list[str] = []
    for item in items:
        if isinstance(item, dict):
            for key, prefix in _SAN_PREFIX.items():
                value = item.get(key)
                if isinstance(value, str):
                    sans.append(inert(f"{prefix}:{value}", 1024))
    return tuple(sans)


# ------------------------------------------------------------------------------------------- secrets


def parse_secrets_dump(body: bytes, *, warming: bool = False) -> SecretsDump | ParseError:
    """Secrets of a ``/config_dump`` (``resource=dynamic_active_secrets``/``dynamic_warming_secrets``,
    or a full dump): name, kind, ``version_info``, ``last_updated`` and the public certificates.

    ``warming`` marks the secrets of a ``resource=dynamic_warming_secrets`` body, which does not say so
    itself; in a full dump the section tells.
    """
    doc = load_json(body, "/config_dump")
    if isinstance(doc, ParseError):
        return doc
    if not isinstance(doc, dict):
        return ParseError("/config_dump", "expected a JSON object")
    secrets: list[SdsSecret] = []
    configs = doc.get("configs")
    if configs is None:
        configs = [doc]
    if not isinstance(configs, list):
        return ParseError("/config_dump", "'configs' is not a list")
    for config in configs:
        if not isinstance(config, dict):
            continue
        type_url = as_str(config.get("@type")) or ""
        if type_url.endswith("SecretsConfigDump") or any(
            key in config for key in ("dynamic_active_secrets", "dynamic_warming_secrets", "static_secrets")
        ):
            for section, is_warming in (
                ("static_secrets", False),
                ("dynamic_active_secrets", False),
                ("dynamic_warming_secrets", True),
            ):
                entries = config.get(section)
                if isinstance(entries, list):
                    secrets.extend(_secret(e, is_warming) for e in entries if isinstance(e, dict))
        elif "secret" in config or type_url.endswith("DynamicSecret") or type_url.endswith("StaticSecret"):
            secrets.append(_secret(config, warming))
    return SecretsDump(tuple(secrets))


def _secret(entry: dict[str, Any], warming: bool) -> SdsSecret:
    body = entry.get("secret")
    body = body if isinstance(body, dict) else {}
    name = as_str(entry.get("name")) or as_str(body.get("name")) or ""
    version = as_str(entry.get("version_info"))
    updated = parse_timestamp(entry.get("last_updated"))
    kind = "unknown"
    certs: tuple[CertInfo, ...] = ()
    error: str | None = None
    if isinstance(body.get("tls_certificate"), dict):
        kind = "tls_certificate"
        certs, error = _certs_from_source(body["tls_certificate"].get("certificate_chain"), name)
    elif isinstance(body.get("validation_context"), dict):
        kind = "validation_context"
        certs, error = _certs_from_source(body["validation_context"].get("trusted_ca"), name)
    return SdsSecret(
        name=name,
        kind=kind,
        version_info=version,
        last_updated=updated,
        certs=certs,
        warming=warming or version == "uninitialized",
        error=error,
    )


def _certs_from_source(source: object, name: str) -> tuple[tuple[CertInfo, ...], str | None]:
    """Certificates of a DataSource (``inline_string`` / ``inline_bytes``); ``filename`` is not read."""
    if not isinstance(source, dict):
        return (), None
    data: bytes | str | None = None
    if isinstance(source.get("inline_string"), str):
        data = source["inline_string"]
    elif isinstance(source.get("inline_bytes"), str):
        try:
            data = base64.b64decode(source["inline_bytes"], validate=False)
        except (binascii.Error, ValueError):
            return (), f"secret {name!r}: inline_bytes is not base64"
    if data is None:
        return (), None
    parsed = parse_pem_bundle(data, source=f"secret {name!r}")
    if isinstance(parsed, ParseError):
        return (), str(parsed)
    return parsed, None


# ------------------------------------------------------------------------------------ server_info, ready


def parse_server_info(body: bytes) -> ServerInfo | ParseError:
    """``/server_info``: semver from ``version`` (or ``node.user_agent_build_version``), state, uptime
    (dropped when absurd: over 100 years)."""
    doc = load_json(body, "/server_info")
    if isinstance(doc, ParseError):
        return doc
    if not isinstance(doc, dict):
        return ParseError("/server_info", "expected a JSON object")
    full = as_str(doc.get("version"))
    version = None
    if full:
        for part in full.split("/"):
            if _SEMVER.match(part):
                version = part
                break
    if version is None:
        version = _build_version(doc.get("node"))
    state = as_str(doc.get("state"))
    if full is None and state is None:
        return ParseError("/server_info", "neither 'version' nor 'state' present")
    uptime = None
    uptime_text = as_str(doc.get("uptime_current_epoch"))
    if uptime_text:
        parsed = parse_duration(uptime_text)
        uptime = None if isinstance(parsed, ParseError) or parsed > MAX_UPTIME_SECONDS else parsed
    return ServerInfo(version=version, full_version=full, state=state or "unknown", uptime_seconds=uptime)


def _build_version(node: object) -> str | None:
    if not isinstance(node, dict):
        return None
    build = node.get("user_agent_build_version")
    version = build.get("version") if isinstance(build, dict) else None
    if not isinstance(version, dict):
        return None
    parts = [as_int(version.get(key, 0)) for key in ("major_number", "minor_number", "patch")]
    if any(p is None for p in parts):
        return None
    return ".".join(str(p) for p in parts)


def parse_ready(status: int, body: bytes) -> ServerInfo:
    """``/ready``: 200 ``LIVE`` or 503 with the state name. Never fails; unknown bodies give "unknown"."""
    text = decode_text(body).strip().upper() if isinstance(body, bytes | str) else ""
    state = text if text in _STATES else ("LIVE" if status == 200 else "unknown")
    return ServerInfo(version=None, full_version=None, state=state)
