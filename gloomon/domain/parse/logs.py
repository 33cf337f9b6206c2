"""Log lines of ``envoy-sidecar``, ``sds`` and the certgen job as :class:`LogEvent`s.

Formats: Envoy's default ``[ts][thread][level][logger] [file:line] msg``, the SDS server's and certgen's
zap production JSON, each optionally behind the kubelet's ``timestamps=true`` prefix, which is read here
and only here (``LogEvent.received``: the order across streams; ``ts`` is the line's own time). Known
events get a :class:`LogKind`; anything else is PLAIN. Remote text is data: each line is sanitised once,
here (:func:`gloomon.domain.text.inert`: escape sequences and control/format characters removed, at most
:data:`MAX_LINE` characters), so readers render it as it is; no input makes the parser raise.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from functools import lru_cache

from gloomon.domain.model import Component, LogEvent, LogKind
from gloomon.domain.parse.wire import parse_timestamp
from gloomon.domain.text import inert

#: the longest line kept (characters; the follower cuts the bytes of a longer line at the same number)
MAX_LINE = 16 * 1024

_KUBELET = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) (.*)$", re.S)
_ENVOY = re.compile(
    r"^\[(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\]\[(?P<tid>\d+)\]\[(?P<level>\w+)\]"
    r"\[(?P<logger>[\w.\-]+)\] (?:\[(?P<src>[^\]]+):(?P<line>\d+)\] )?(?P<msg>.*)$",
    re.S,
)

_SDS_UPDATE = re.compile(
    r"Updating SDS config\.\s*(?:sdsClient is (?P<client>.+?)\.\s*)?Snapshot version is (?P<v>\S+)"
)
_CERTGEN_PHASE = {
    "updating to both ca bundles": ("1", "ca-added"),
    "updating to new server cert": ("2", "leaf-rotated"),
    "updating to new ca bundle": ("3", "steady"),
    "secret exists but need to rotate...": ("start", "rotation-start"),
    "no existing valid secret, generating a new one...": ("overwrite", "new-secret"),
}
_REMAINING = re.compile(r"(\d+) seconds remaining")
#: ``StreamAggregatedResources gRPC config stream to <cluster> closed since 31s ago: 14, …``: the "since"
#: is how long the stream has been failing (Envoy logs it at warning once that outlasts its 30 s backoff)
_STREAM = re.compile(
    r"(?P<method>\w+) gRPC config stream (?:to (?P<cluster>\S+) )?closed"
    r"(?: (?:since )?(?P<ago>\d+)(?P<unit>ms|s) ago)?: (?P<status>\d+)"
)
_TLS_FAIL = (
    "CERTIFICATE_VERIFY_FAILED",
    "verify cert failed",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "TLSV1_ALERT_DECRYPT_ERROR",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE",
)
_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
    "err": "error",
    "critical": "critical",
    "fatal": "critical",
    "panic": "critical",
    "dpanic": "critical",
}
_ZAP_CORE = ("level", "ts", "msg")


@lru_cache(maxsize=1024)
def _name(text: str) -> str:
    """A pod or container name made inert; every line of a stream carries the same ones."""
    return inert(text)


def parse_log_line(
    line: bytes | str, *, component: Component | None, pod: str, container: str, context: str | None = None
) -> LogEvent:
    """One log line as a LogEvent of ``context``'s ``pod``; never raises (garbage gives a PLAIN event)."""
    try:
        return _parse(line, component, pod, container, context)
    except Exception:  # untrusted input must never break the log stream
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else str(line)
        clean = inert(text[:MAX_LINE])
        return LogEvent(
            None,
            "info",
            component,
            _name(pod),
            _name(container),
            clean,
            LogKind.PLAIN,
            {},
            clean,
            None,
            context,
        )


def _parse(
    line: bytes | str, component: Component | None, pod: str, container: str, context: str | None
) -> LogEvent:
    pod, container = _name(pod), _name(container)
    text = line.decode("utf-8", "replace") if isinstance(line, bytes | bytearray) else str(line)
    text = text[:MAX_LINE].rstrip("\r\n")
    kube_ts: datetime | None = None
    match = _KUBELET.match(text)
    if match is not None:
        kube_ts = parse_timestamp(match.group(1))
        if kube_ts is not None:
            text = match.group(2)
    raw = inert(text)
    stripped = text.strip()
    if stripped.startswith("{"):
        event = _zap(stripped, kube_ts, component, pod, container, raw, context)
        if event is not None:
            return event
    envoy = _ENVOY.match(text)
    if envoy is not None:
        msg = inert(envoy.group("msg"))
        fields = {"thread": envoy.group("tid"), "logger": envoy.group("logger")}
        if envoy.group("src"):
            fields["source"] = f"{envoy.group('src')}:{envoy.group('line')}"
        kind = _envoy_kind(msg, fields)
        ts = parse_timestamp(envoy.group("ts")) or kube_ts
        level = _LEVELS.get(envoy.group("level").lower(), "info")
        return LogEvent(ts, level, component, pod, container, msg, kind, fields, raw, kube_ts, context)
    level = _guess_level(raw)
    return LogEvent(kube_ts, level, component, pod, container, raw, LogKind.PLAIN, {}, raw, kube_ts, context)


def _guess_level(text: str) -> str:
    head = text[:80].lower()
    for word, level in (("error", "error"), ("fatal", "critical"), ("warn", "warning")):
        if word in head:
            return level
    return "info"


def _zap(
    text: str,
    kube_ts: datetime | None,
    component: Component | None,
    pod: str,
    container: str,
    raw: str,
    context: str | None,
) -> LogEvent | None:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not any(key in doc for key in ("msg", "message")):
        return None
    msg_value = doc.get("msg", doc.get("message"))
    msg = inert(msg_value if isinstance(msg_value, str) else json.dumps(msg_value))
    fields = {
        inert(str(key)): inert(value if isinstance(value, str) else json.dumps(value))
        for key, value in doc.items()
        if key not in _ZAP_CORE and key != "message"
    }
    level_value = doc.get("level")
    level = _LEVELS.get(level_value.lower(), "info") if isinstance(level_value, str) else "info"
    ts = _zap_ts(doc.get("ts")) or kube_ts
    kind = _zap_kind(msg, fields)
    return LogEvent(ts, level, component, pod, container, msg, kind, fields, raw, kube_ts, context)


def _zap_ts(value: object) -> datetime | None:
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (ValueError, OverflowError, OSError):
            return None
    return None


def _zap_kind(msg: str, fields: dict[str, str]) -> LogKind:
    update = _SDS_UPDATE.search(msg)
    if update is not None:
        if update.group("client"):
            fields["sds_client"] = update.group("client")
        fields["snapshot_version"] = update.group("v")
        return LogKind.SDS_UPDATE
    lowered = msg.strip().lower()
    if lowered in _CERTGEN_PHASE:
        fields["phase"], fields["phase_name"] = _CERTGEN_PHASE[lowered]
        return LogKind.CERTGEN_PHASE
    remaining = _REMAINING.search(msg)
    if remaining is not None:
        fields["seconds_remaining"] = remaining.group(1)
        return LogKind.CERTGEN_WAIT
    if "finished successfully" in lowered:
        return LogKind.CERTGEN_DONE
    if lowered.startswith("context cancelled"):
        return LogKind.CERTGEN_CANCELLED
    if "failed to update sds config" in lowered or lowered.startswith("could not find file"):
        return LogKind.SDS_UPDATE_FAILED
    if lowered.startswith("sds server listening on"):
        return LogKind.SDS_START
    return LogKind.PLAIN


def _envoy_kind(msg: str, fields: dict[str, str]) -> LogKind:
    stream = _STREAM.search(msg)
    if stream is not None:
        fields["method"] = stream.group("method")
        if stream.group("cluster"):
            fields["cluster"] = stream.group("cluster")
        fields["grpc_status"] = stream.group("status")
        if stream.group("ago"):
            ago = int(stream.group("ago"))
            fields["failing_seconds"] = str(ago / 1000 if stream.group("unit") == "ms" else ago)
        if any(marker in msg for marker in _TLS_FAIL):
            fields["tls_error"] = "true"
        return LogKind.XDS_STREAM_CLOSED
    if any(marker in msg for marker in _TLS_FAIL):
        return LogKind.TLS_VERIFY_FAILED
    if "secret is not supplied by sds" in msg.replace("_", " ").lower() or (
        "initial fetch timed out" in msg and "tls.v3.Secret" in msg
    ):
        return LogKind.SECRET_NOT_SUPPLIED
    if "upstream connect error or disconnect/reset before headers" in msg:
        return LogKind.UPSTREAM_CONNECT_ERROR
    if re.search(r"gRPC config for \S+ rejected", msg):
        return LogKind.CONFIG_REJECTED
    if msg.startswith("initializing epoch"):
        return LogKind.ENVOY_START
    return LogKind.PLAIN
