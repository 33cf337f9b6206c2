"""MonitorSession: the one data path, from the Kubernetes API (or ``--target`` URLs) to FleetSnapshots.

A poll: (1) list each context's component and certgen pods and reconcile forwards and log followers with
them; (2) concurrently, fetch every target's admin endpoints and read the secret, CronJob, Deployments and
the validation webhook (:mod:`gloomon.sources.kube.webhook`);
(3) hand it all to ``domain.fleet.build_snapshot``. When the API cannot be reached the poll still produces
a snapshot: the last known pods and CronJob are kept, the secret and the Envoys behind the API are passed
as not observed (the snapshot keeps what they last showed, the Envoys marked stale), ``snapshot.errors``
says what failed, and the next poll recovers by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gloomon.clock import system_clock
from gloomon.domain import fleet
from gloomon.domain.model import (
    AdminFetch,
    Component,
    CronJobState,
    FleetSnapshot,
    ForwardStatus,
    LogBatch,
    LogEvent,
    PollTimings,
    SecretState,
    TargetRef,
    WebhookState,
)
from gloomon.domain.text import one_line
from gloomon.sources.admin.poller import AdminPoller
from gloomon.sources.clusters import _Cluster, context_state, not_installed, session_cronjob
from gloomon.sources.direct import direct_targets
from gloomon.sources.errors import SourceError, describe_exception
from gloomon.sources.kube.client import ApiError, KubeReader
from gloomon.sources.kube.config import connect
from gloomon.sources.kube.forwards import ForwardSet
from gloomon.sources.kube.webhook import WebhookReader
from gloomon.sources.logs.follow import LogSet

if TYPE_CHECKING:
    from gloomon.domain.health.judge import HealthPolicy
    from gloomon.settings import Settings

#: how long a gone pod's forward (and its local address) waits for the component's next pod, at least
MIN_SPARE_SECONDS = 15.0
#: bound on waiting for the log backlog before the first snapshot (the ``check`` command reads it)
FIRST_POLL_LOG_WAIT = 2.0
#: longest line of ``snapshot.errors`` (a whole API message with the server's address fits)
_ERROR_CHARS = 400


class MonitorSession:
    """Start it, then ``poll_once()`` or iterate ``snapshots()``; ``stop()`` releases every connection."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self._clusters: list[_Cluster] = []
        self._direct: list[TargetRef] = []
        self._admin = AdminPoller(request_timeout=settings.request_timeout, clock=clock)
        self._logs = LogSet(settings.log_buffer, clock=clock, first_since=settings.log_since_seconds)
        self._previous: FleetSnapshot | None = None
        self._refresh = asyncio.Event()
        self._poll_lock = asyncio.Lock()
        self._started = False
        self._stopped = False
        self._polls = 0
        self._closing: set[asyncio.Task[None]] = set()  # retired admin clients being closed

    @property
    def admin_requests_sent(self) -> int:
        """Admin HTTP requests made so far (all targets, retries included): what the benchmark divides."""
        return self._admin.requests_sent

    @property
    def contexts(self) -> tuple[str, ...]:
        return tuple(cluster.connection.context for cluster in self._clusters)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect and discover; raise :class:`SourceError` (one clear line) when the check cannot run."""
        if self._started:
            return
        self._started = True
        if self.settings.direct:
            self._direct = direct_targets(
                self.settings.targets, self.settings.namespace, self._admin.request_urls
            )
            return
        connections = await connect(self.settings)
        spare_seconds = max(MIN_SPARE_SECONDS, 3 * self.settings.interval)
        for connection in connections:
            reader = KubeReader.for_settings(connection, self.settings)
            forwards = ForwardSet(
                reader,
                self.settings.admin_port,
                clock=self.clock,
                request_timeout=self.settings.request_timeout,
                spare_seconds=spare_seconds,
            )
            webhook = WebhookReader(reader, clock=self.clock)
            self._clusters.append(_Cluster(connection, reader, forwards, webhook))
        try:
            await asyncio.gather(*(self._check_namespace(cluster) for cluster in self._clusters))
            await asyncio.gather(*(self._discover(cluster) for cluster in self._clusters))
            failed = [c.start_error or c.error for c in self._clusters if c.start_error or c.error]
            if failed and len(failed) == len(self._clusters):  # nothing can be watched: the check cannot run
                raise SourceError(failed[0] or "")
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Close every websocket, listener, HTTP client and log stream. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._refresh.set()
        await self._logs.close()
        await asyncio.gather(
            *(cluster.forwards.close() for cluster in self._clusters),
            *(cluster.webhook.close() for cluster in self._clusters if cluster.webhook is not None),
            return_exceptions=True,
        )
        await asyncio.gather(*self._closing, return_exceptions=True)
        self._closing.clear()
        await self._admin.aclose()
        await asyncio.gather(*(c.connection.close() for c in self._clusters), return_exceptions=True)

    async def __aenter__(self) -> MonitorSession:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ one poll

    async def _check_namespace(self, cluster: _Cluster) -> bool:
        """Whether the context's API answers and has the namespace; else its ``start_error`` says why
        (this context only: the others are watched meanwhile)."""
        try:
            await cluster.reader.check_namespace()
        except SourceError as error:
            cluster.start_error = cluster.error = str(error)
            cluster.api_down = True
            return False
        cluster.start_error = None
        return True

    async def _discover(self, cluster: _Cluster) -> None:
        """List pods (components and certgen), reconcile forwards and log followers (not once stopped)."""
        if self._stopped:
            return
        if cluster.start_error is not None and (self._polls == 0 or not await self._check_namespace(cluster)):
            return
        cluster.api_down = False
        try:
            pods, certgen = await cluster.reader.all_pods()
        except ApiError as error:
            cluster.error = error.message
            cluster.api_down = True
            return
        if self._stopped:
            return
        cluster.error = None
        cluster.pods = pods
        try:
            await cluster.forwards.reconcile(pods)
        except OSError as exc:  # a listener could not be opened (EMFILE…): the next poll tries again
            cluster.error = f"port-forward: cannot listen on 127.0.0.1: {describe_exception(exc)}"
        cluster.error = cluster.error or cluster.forwards.listen_error
        all_pods = [pod for component_pods in pods.values() for pod in component_pods] + certgen
        cluster.listed = tuple(all_pods)
        self._logs.reconcile(
            cluster.connection.context, cluster.connection.core(), cluster.reader.namespace, all_pods
        )

    async def _read_state(self, cluster: _Cluster) -> None:
        """Secrets (the release namespace's and each other namespace's a proxy runs in), CronJob and
        Deployments. On failure the CronJob and Deployments keep their last known values and a secret
        that could not be read is passed as not observed (the snapshot keeps its last observed content)."""
        now = self.clock()
        context = cluster.connection.context
        if cluster.start_error is not None:  # not watched yet: nothing of it is observed
            cluster.secrets = (SecretState(context, cluster.reader.namespace, read_at=now, observed=False),)
            return
        results = await asyncio.gather(
            cluster.reader.read_secrets(now, cluster.pods),
            cluster.reader.read_cronjob(),
            cluster.reader.component_presence(cluster.pods or {}),
            self._read_webhook(cluster),
            return_exceptions=True,
        )
        secrets, cronjob, presence, webhook = results
        # (namespace, its read): read_secrets returns each namespace's error rather than raising it
        reads = secrets if isinstance(secrets, list) else [(cluster.reader.namespace, secrets)]
        for result in [*(read for _, read in reads), cronjob, presence, webhook]:
            if isinstance(result, ApiError):
                cluster.error = cluster.error or result.message
                cluster.api_down = cluster.api_down or result.status == 0
            elif isinstance(result, Exception):  # a bug or an odd answer: reported, the poll goes on
                cluster.error = cluster.error or f"reading cluster state: {describe_exception(result)}"
            elif isinstance(result, BaseException):
                raise result
        # a read that failed is not observed this poll, which says nothing about the secret's content
        # (the domain carries the last): that namespace's only, the others are read
        cluster.secrets = tuple(
            read if isinstance(read, SecretState) else SecretState(context, ns, read_at=now, observed=False)
            for ns, read in reads
        )
        if isinstance(cronjob, CronJobState):
            cluster.cronjob = replace(cronjob, context=cluster.connection.context)
        if isinstance(webhook, WebhookState):
            cluster.webhook_state = webhook
        if isinstance(presence, tuple) and cluster.pods is not None:
            cluster.missing, cluster.not_installed = presence

    async def _read_webhook(self, cluster: _Cluster) -> WebhookState | None:
        if cluster.webhook is None:
            return None
        return await cluster.webhook.read((cluster.pods or {}).get(Component.GLOO, ()))

    def targets(self) -> list[TargetRef]:
        """Every target of the next poll, with its current forward state."""
        refs = list(self._direct)
        for cluster in self._clusters:
            refs += cluster.forwards.targets()
        return refs

    def readers(self) -> tuple[KubeReader, ...]:
        """Each context's API reader (none with ``--target``): for ``gloomon bundle``'s object reads."""
        return tuple(cluster.reader for cluster in self._clusters)

    def request_url(self, ref: TargetRef) -> str | None:
        """The URL ``ref``'s admin endpoints are requested at (a ``--target``'s ``user:password@``
        included, which ``ref.admin_url`` never shows): for readers beside the poll, e.g. the bundle."""
        if ref.admin_url is None:
            return None
        return self._admin.request_urls.get(ref.admin_url, ref.admin_url)

    async def poll_once(self) -> FleetSnapshot:
        """One full poll → one FleetSnapshot (never raises for unreachable targets or API outages)."""
        if not self._started:
            await self.start()
        async with self._poll_lock:
            return await self._poll()

    async def _poll(self) -> FleetSnapshot:
        if self._stopped:  # a poll after stop() opens nothing again: the last snapshot stands
            return self._previous or self._empty_snapshot()
        started = time.perf_counter()
        if self._polls > 0:
            await asyncio.gather(*(self._discover(cluster) for cluster in self._clusters))
        targets = self.targets()
        fetched, *_ = await asyncio.gather(
            self._admin.fetch_all(targets), *(self._read_state(cluster) for cluster in self._clusters)
        )
        fetches = [self._with_forward_state(fetch) for fetch in fetched or () if not self._gone(fetch.target)]
        if self._polls == 0 and self._clusters:
            await self._logs.wait_settled(FIRST_POLL_LOG_WAIT)
        self._polls += 1
        self._forget_gone(targets)
        per_target = {fetch.target.key: fetch.duration_seconds for fetch in fetches}
        timings = PollTimings(
            cycle_seconds=time.perf_counter() - started,
            slowest_target_seconds=max(per_target.values(), default=0.0),
            per_target=per_target,
        )
        # pure and CPU-bound (a 10,000-CA bundle costs a fraction of a second): off the loop, so the
        # dashboard's keys and frames keep running; its inputs are frozen or built for this call
        snapshot = await asyncio.to_thread(
            fleet.build_snapshot,
            taken_at=self.clock(),
            namespace=self.settings.namespace,
            contexts=self.contexts,
            fetches=fetches,
            secrets=[secret for cluster in self._clusters for secret in cluster.secrets],
            cronjob=session_cronjob(self._clusters),
            cronjobs=[cluster.cronjob for cluster in self._clusters if cluster.cronjob is not None],
            policy=self._policy(),
            previous=self._previous,
            log_events=self._recent_log_events(),
            missing_components=tuple(dict.fromkeys(m for c in self._clusters for m in c.missing)),
            not_installed=not_installed(self._clusters),
            errors=self._errors(),
            timings=timings,
            webhooks=[c.webhook_state for c in self._clusters if c.webhook_state is not None],
            pods=[pod for cluster in self._clusters for pod in cluster.listed],
            context_states=[context_state(cluster) for cluster in self._clusters],
        )
        self._previous = snapshot
        return snapshot

    def _empty_snapshot(self) -> FleetSnapshot:
        return fleet.build_snapshot(
            taken_at=self.clock(),
            namespace=self.settings.namespace,
            contexts=self.contexts,
            fetches=[],
            secrets=[],
            cronjob=None,
            policy=self._policy(),
            errors=("monitoring stopped",),
        )

    def _with_forward_state(self, fetch: AdminFetch) -> AdminFetch:
        """The forward's state after this fetch, and its reason when the fetch failed because of it."""
        ref = fetch.target
        for cluster in self._clusters:
            if cluster.connection.context != ref.context:
                continue
            forward = cluster.forwards.forward_for(ref.pod)
            if forward is None:
                return fetch
            state = forward.state
            error = fetch.error
            if error is not None and state.status != ForwardStatus.UP and state.error:
                error = f"port-forward: {state.error}"
            api_down = error is not None and cluster.api_down
            return replace(fetch, target=replace(ref, forward=state), error=error, api_down=api_down)
        return fetch

    def _gone(self, ref: TargetRef) -> bool:
        """Whether the API said, while the poll was fetching, that the target's pod is gone: then its
        failed fetch is no finding (the pod left; its successor is the component's new row)."""
        return any(
            cluster.connection.context == ref.context and cluster.forwards.is_gone(ref.pod)
            for cluster in self._clusters
        )

    def _forget_gone(self, targets: Sequence[TargetRef]) -> None:
        urls = {ref.admin_url for ref in targets if ref.admin_url}
        stale = self._admin.forget(urls, {ref.key for ref in targets})
        for client in stale:
            task = asyncio.get_running_loop().create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _recent_log_events(self) -> list[LogEvent]:
        """The buffered events the kubelet received in the last ``settings.log_since_seconds``."""
        return self._logs.recent(since=self.clock() - timedelta(seconds=self.settings.log_since_seconds))

    def _errors(self) -> tuple[str, ...]:
        """One clean line per problem: each context's API error, then each distinct log refusal."""
        many = len(self._clusters) > 1
        errors = []
        for cluster in self._clusters:
            if cluster.error:
                prefix = f"{cluster.connection.context}: " if many else ""
                errors.append(prefix + cluster.error)
        for context, line in self._logs.errors():
            errors.append(f"{context}: {line}" if many else line)
        return tuple(dict.fromkeys(one_line(line, _ERROR_CHARS) for line in errors))

    def _policy(self) -> HealthPolicy:
        if self.settings.policy is not None:
            return self.settings.policy
        from gloomon.domain.health.judge import HealthPolicy

        return HealthPolicy()

    # ------------------------------------------------------------------ streams

    async def snapshots(self) -> AsyncIterator[FleetSnapshot]:
        """One snapshot per ``settings.interval`` (measured start to start); ``refresh_now()`` wakes it."""
        loop = asyncio.get_running_loop()
        while not self._stopped:
            started = loop.time()
            self._refresh.clear()
            snapshot = await self.poll_once()
            if self._stopped:
                return
            yield snapshot
            remaining = self.settings.interval - (loop.time() - started)
            if remaining > 0 and not self._refresh.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._refresh.wait()

    def refresh_now(self) -> None:
        """Start the next poll of :meth:`snapshots` now instead of at the end of the interval."""
        self._refresh.set()

    async def log_batches(self) -> AsyncIterator[LogBatch]:
        """What the log ring took in, batch by batch (the first: the backlog so far); each says from
        which line on the ring changed, so a reader mirrors the ring without ordering anything."""
        async for batch in self._logs.buffer.batches(backlog=True):
            yield batch
