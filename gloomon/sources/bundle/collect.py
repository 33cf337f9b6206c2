"""Collect a support bundle through the session's own sources: one poll, then what a ticket needs.

The same :class:`~gloomon.sources.session.MonitorSession` as ``check`` polls once (its document is
``check.json``); then, through the same port-forwards or ``--target`` URLs and under the same body caps
(:mod:`gloomon.sources.admin.http`), each target's ``/certs``, ``/config_dump``, ``/clusters``,
``/stats`` and ``/server_info``; through each context's API reader, the pods, Jobs and CronJob, the
two secrets (``gloo-mtls-certs``, the webhook's ``gateway-validation-certs``) as metadata, and the last
``--since`` of the mTLS containers' logs. Every body passes through
:mod:`gloomon.domain.redact` before it is written. API calls are the poll's own (list pods, list jobs,
get the CronJob and the two secrets by name, get ``pods/log``): no permission beyond ``check``'s.

A context or target that fails is recorded (README.txt says what and why) and the others go on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from gloomon.clock import system_clock
from gloomon.domain import redact
from gloomon.domain.export import snapshot_json
from gloomon.domain.model import SECRET_NAME, WEBHOOK_SECRET_NAME, PodInfo, TargetRef
from gloomon.domain.text import one_line
from gloomon.settings import Settings
from gloomon.sources.admin.http import AdminConnection, AdminHttpError, http_error
from gloomon.sources.bundle.archive import BundleArchive
from gloomon.sources.bundle.readme import LOG_CAP, readme_text
from gloomon.sources.errors import SourceError, describe_exception
from gloomon.sources.kube import objects as kube_objects
from gloomon.sources.kube.client import ApiError, KubeReader
from gloomon.sources.session import MonitorSession

#: each target's admin documents: (path requested, member name, JSON or text)
ADMIN_DOCUMENTS = (
    ("/certs", "certs.json", True),
    ("/config_dump", "config_dump.json", True),
    ("/clusters?format=json", "clusters.json", True),
    ("/stats", "stats.txt", False),
    ("/server_info", "server_info.json", True),
)
#: containers whose logs carry mTLS news in every component pod, besides the main (first) container
_LOG_CONTAINERS = frozenset({"sds", "envoy-sidecar"})
#: an admin request may take longer than a poll's: the full /stats and /config_dump are large
_MIN_ADMIN_TIMEOUT = 10.0
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class NothingCollected(Exception):
    """No context answered and no target either: there is nothing to put in a bundle."""


@dataclass(frozen=True, slots=True)
class BundleOptions:
    output: Path
    since_seconds: int
    max_size: int
    version: str


@dataclass(frozen=True, slots=True)
class BundleResult:
    path: Path
    size: int
    members: int


@dataclass
class Collection:
    """What one run gathered besides the members: where from, what failed, what was redacted."""

    started: datetime
    settings: Settings
    options: BundleOptions
    contexts: tuple[str, ...] = ()
    failures: list[str] = field(default_factory=list)
    #: per kind of document: how many values redaction replaced
    redacted: dict[str, int] = field(default_factory=dict)
    observed: bool = False

    def count(self, kind: str, replaced: int) -> None:
        self.redacted[kind] = self.redacted.get(kind, 0) + replaced


def safe_name(text: str) -> str:
    """``text`` as one path component inside the archive: no separators, no dot-names, at most 80."""
    name = _UNSAFE_NAME.sub("_", text)[:80].strip(".")
    return name or "_"


async def write_bundle(
    settings: Settings, options: BundleOptions, clock: Callable[[], datetime] = system_clock
) -> BundleResult:
    """Collect and write the archive at ``options.output``; :class:`NothingCollected` when nothing
    could be (the partial file is removed then)."""
    run = Collection(started=clock(), settings=settings, options=options)
    session = await _start(replace(settings, log_since_seconds=float(options.since_seconds)), run, clock)
    archive = BundleArchive(options.output, options.max_size, mtime=run.started.timestamp())
    try:
        try:
            await _collect(session, archive, run, clock)
        finally:
            await session.stop()
        if not run.observed:
            reasons = "; ".join(run.failures[:3]) or "no target answered"
            raise NothingCollected(f"nothing could be collected: {reasons}")
        size = archive.finish(readme_text(run, archive))
    except BaseException:
        archive.discard()
        raise
    return BundleResult(options.output, size, len(archive.members) + 1)


async def _start(settings: Settings, run: Collection, clock: Callable[[], datetime]) -> MonitorSession:
    """A started session; with several contexts, the ones that fail are recorded and left out."""
    try:
        session = MonitorSession(settings, clock=clock)
        await session.start()
        return session
    except SourceError as exc:
        if len(settings.contexts) < 2:
            raise NothingCollected(f"nothing could be collected: {exc}") from None
    working = []
    for context in settings.contexts:
        probe = MonitorSession(replace(settings, contexts=(context,)), clock=clock)
        try:
            await probe.start()
            working.append(context)
        except SourceError as exc:
            run.failures.append(f"context {context}: {exc}")
        finally:
            await probe.stop()
    if not working:
        raise NothingCollected("nothing could be collected: " + "; ".join(run.failures))
    session = MonitorSession(replace(settings, contexts=tuple(working)), clock=clock)
    try:
        await session.start()
    except SourceError as exc:
        raise NothingCollected(f"nothing could be collected: {exc}") from None
    return session


async def _collect(
    session: MonitorSession, archive: BundleArchive, run: Collection, clock: Callable[[], datetime]
) -> None:
    snapshot = await session.poll_once()
    run.contexts = session.contexts
    run.failures.extend(f"poll: {error}" for error in snapshot.errors)
    archive.add("check.json", snapshot_json(snapshot).encode())
    pods: dict[str, list[PodInfo]] = {}
    for reader in session.readers():
        pods[reader.context] = await _objects(reader, archive, run, clock())
    for ref in session.targets():
        await _admin(session, ref, archive, run)
    for reader in session.readers():
        for pod in pods.get(reader.context, ()):
            await _logs(reader, pod, archive, run)


def _json(document: Any) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode()


def _yaml(document: Any) -> bytes:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=False, width=120).encode()


async def _objects(
    reader: KubeReader, archive: BundleArchive, run: Collection, now: datetime
) -> list[PodInfo]:
    """The context's pods, Jobs, CronJob and secrets (metadata) as YAML, with the copy of
    ``gloo-mtls-certs`` in each other namespace a proxy runs in; its pods, for their logs."""
    folder = f"kubernetes/{safe_name(reader.context)}"
    found: list[PodInfo] = []
    reads: list[tuple[str, Any]] = [
        ("pods.yaml", reader.pods_json),
        ("jobs.yaml", reader.jobs_json),
        ("cronjob.yaml", reader.cronjob_json),
        *(
            (f"secret-{name}.yaml", _secret_read(reader, name, now))
            for name in (SECRET_NAME, WEBHOOK_SECRET_NAME)
        ),
    ]
    while reads:
        name, read = reads.pop(0)
        if archive.full:
            archive.skip(f"{folder}/{name}")
            continue
        try:
            obj = await read()
        except ApiError as error:
            words = error.message
            if error.status == 404:
                words = "not found" + (" (certgen's CronJob is off)" if name == "cronjob.yaml" else "")
            run.failures.append(f"{reader.context}: {name.removesuffix('.yaml')}: {one_line(words)}")
            continue
        if name == "pods.yaml":
            by_component, certgen = kube_objects.split_pods(obj)
            found = [pod for component_pods in by_component.values() for pod in component_pods] + certgen
            reads += [  # each other namespace's copy, where the pods listed run
                (f"secret-{SECRET_NAME}-{safe_name(ns)}.yaml", _secret_read(reader, SECRET_NAME, now, ns))
                for ns in reader.secret_namespaces(by_component)
                if ns != reader.namespace
            ]
        result = redact.redact_object(obj, now)
        run.count("Kubernetes objects", result.count)
        run.observed = True
        archive.add(f"{folder}/{name}", _yaml(result.value))
    return found


def _secret_read(
    reader: KubeReader, name: str, now: datetime, namespace: str | None = None
) -> Callable[[], Any]:
    """A read of the secret ``name`` (in ``namespace``, default the release namespace's) that keeps its
    metadata only (:func:`redact.secret_metadata`)."""
    return lambda: reader.secret_json(name, lambda obj: redact.secret_metadata(obj, now), namespace)


async def _admin(session: MonitorSession, ref: TargetRef, archive: BundleArchive, run: Collection) -> None:
    """One target's admin documents, redacted; a target that cannot be reached is recorded once."""
    folder = f"targets/{safe_name(ref.context)}/{safe_name(ref.pod)}"
    url = session.request_url(ref)
    if url is None:
        why = ref.forward.error if ref.forward is not None and ref.forward.error else "no admin address"
        run.failures.append(f"{ref.key}: {one_line(why)}")
        return
    timeout = max(session.settings.request_timeout, _MIN_ADMIN_TIMEOUT)
    connection = AdminConnection(url, timeout=timeout)
    try:
        for path, name, is_json in ADMIN_DOCUMENTS:
            if archive.full:
                archive.skip(f"{folder}/{name}")
                continue
            try:
                status, body = await connection.get(path)
            except AdminHttpError as exc:
                run.failures.append(f"{ref.key} {path}: {exc}")
                if exc.kind in ("connect", "timeout", "closed"):
                    return
                continue
            if status != 200:
                run.failures.append(f"{ref.key} {path}: {http_error(status, body)}")
                continue
            member, data = _redacted_admin(name, body, is_json, run)
            del body
            run.observed = True
            archive.add(f"{folder}/{member}", data)
    finally:
        await connection.aclose()


def _redacted_admin(name: str, body: bytes, is_json: bool, run: Collection) -> tuple[str, bytes]:
    """(member name, redacted content): JSON re-written after redaction; what is not JSON as text."""
    if is_json:
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if document is not None:
            result = redact.redact_envoy(document)
            run.count("Envoy admin documents", result.count)
            return name, _json(result.value)
        name = name.removesuffix(".json") + ".txt"  # not JSON: kept as text, redacted as text
    text = redact.redact_text(body.decode("utf-8", "replace"))
    run.count("Envoy admin documents", text.count)
    return name, text.value.encode()


def log_containers(pod: PodInfo) -> tuple[str, ...]:
    """The containers whose logs go into the bundle: a component's own process (the container named
    after it), its Envoy's (``PodInfo.envoy_container``: a classic proxy's is named after the proxy, user
    ``extraContainers`` may come first), an ``extauth`` sidecar, ``sds`` and ``envoy-sidecar``; every
    container of a certgen Job's pod."""
    if pod.component is None:
        return pod.containers
    own = {pod.component.value, pod.envoy_container, "extauth" if pod.extauth_sidecar else None}
    named = [c for c in pod.containers if c in own]
    main = named or (pod.envoy_container or pod.component.value,)
    return tuple(dict.fromkeys([*main, *(c for c in pod.containers if c in _LOG_CONTAINERS)]))


async def _logs(reader: KubeReader, pod: PodInfo, archive: BundleArchive, run: Collection) -> None:
    folder = f"logs/{safe_name(reader.context)}/{safe_name(pod.name)}"
    for container in log_containers(pod):
        name = f"{folder}/{safe_name(container)}.log"
        if archive.full:
            archive.skip(name)
            continue
        try:
            body = await reader.pod_log(
                pod.name,
                container,
                since_seconds=run.options.since_seconds,
                cap=LOG_CAP,
                namespace=pod.namespace or None,
            )
        except ApiError as error:
            run.failures.append(f"{reader.context}/{pod.name}/{container} logs: {one_line(error.message)}")
            continue
        except Exception as exc:  # an odd answer: recorded, the other logs still come
            run.failures.append(f"{reader.context}/{pod.name}/{container} logs: {describe_exception(exc)}")
            continue
        text = redact.redact_text(body.decode("utf-8", "replace"))
        run.count("logs", text.count)
        run.observed = True
        archive.add(name, text.value.encode())
