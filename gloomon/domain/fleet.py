"""One poll's worth of parsed admin data, secrets and CronJob state joined into a :class:`FleetSnapshot`.

This is the entry point sources call each poll. It is a pure function of its inputs and the previous
snapshot (from which lag, "held since" times and the Envoy version carry over), so the UI and ``check``
get the same answer for the same data.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from gloomon.domain.compare.carry import envoy_start, last_rise, rejected_total, with_bundle_differs_since
from gloomon.domain.compare.planes import judge_planes
from gloomon.domain.compare.rotation import phase_of
from gloomon.domain.compare.sync import (
    bundle_digest,
    bundle_key,
    cert_key,
    compare_with_secret,
    copy_behind_since,
)
from gloomon.domain.health.judge import HealthPolicy, judge, mtls_state
from gloomon.domain.link import (
    ADS,
    SDS,
    StreamCloses,
    sds_down_since,
    stream_closed,
    stream_closes,
    xds_down_since,
    xds_link,
)
from gloomon.domain.model import (
    COMPONENT_ORDER,
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    AdminFetch,
    CertInfo,
    CertsReport,
    Component,
    ContextState,
    CronJobState,
    EnvoyStats,
    FleetSnapshot,
    GlooRelease,
    LogEvent,
    Phase,
    PhaseVerdict,
    Plane,
    PodInfo,
    PollTimings,
    SecretsDump,
    SecretState,
    SecretStatus,
    ServerInfo,
    TargetRef,
    TargetStatus,
    TrustBundle,
    WebhookState,
    copy_source,
    gloo_namespaces,
    secret_of,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.gloo_version import gloo_release
from gloomon.domain.parse.tls_scopes import mtls_errors, user_tls_errors


def build_snapshot(
    *,
    taken_at: datetime,
    namespace: str,
    contexts: Sequence[str],
    fetches: Sequence[AdminFetch],
    secrets: Sequence[SecretState],
    cronjob: CronJobState | None,
    policy: HealthPolicy,
    previous: FleetSnapshot | None = None,
    log_events: Sequence[LogEvent] = (),
    missing_components: Sequence[Component] = (),
    not_installed: Sequence[Component] = (),
    errors: Sequence[str] = (),
    timings: PollTimings = PollTimings(),  # noqa: B008 - frozen, immutable default
    webhooks: Sequence[WebhookState] = (),
    pods: Sequence[PodInfo] = (),
    context_states: Sequence[ContextState] = (),
    cronjobs: Sequence[CronJobState] = (),
) -> FleetSnapshot:
    """The snapshot of this poll: every target's leaf, bundle, phase, sync and lag, and the findings.
    ``pods``: every component and certgen pod listed (their container status is judged); ``cronjobs``:
    each context's certgen CronJob as read (``cronjob``, the one the phases go by, among them)."""
    rotation = cronjob.rotation_duration_seconds if cronjob is not None else None
    slack = policy.grace_for(cronjob)  # the lag grace, derived once: the judge gets this one
    secret_statuses = tuple(_secret_status(state, taken_at, rotation, previous, slack) for state in secrets)
    order = {component: index for index, component in enumerate(COMPONENT_ORDER)}
    installs = gloo_namespaces(fetch.target for fetch in fetches)
    closes = stream_closes(log_events)
    targets = tuple(
        sorted(
            (
                _target_status(
                    fetch, namespace, secret_statuses, taken_at, rotation, previous, slack, closes, installs
                )
                for fetch in fetches
            ),
            key=lambda t: (order[t.ref.component], t.ref.pod, t.ref.context),
        )
    )
    targets = with_bundle_differs_since(targets, taken_at, previous)
    # Every bundle's digest (what the rotation timeline keeps of it) made here, where a poll builds its
    # snapshot off the dashboard's loop: for a bundle of 10,000 CAs it costs ~20 ms, per target.
    for bundle in [s.state.bundle for s in secret_statuses if s.state.bundle] + [t.bundle for t in targets]:
        bundle_digest(bundle)
    states = judge_planes(context_states, targets, previous)
    certgens = _management_cronjobs(cronjobs, cronjob, states)
    mtls = mtls_state(targets, secret_statuses)
    release = _release(fetches, previous)
    findings = judge(
        now=taken_at,
        namespace=namespace,
        targets=targets,
        secrets=secret_statuses,
        cronjob=cronjob,
        policy=policy,
        previous=previous,
        log_events=log_events,
        missing_components=missing_components,
        errors=errors,
        grace=slack,
        mtls=mtls,
        installs=installs,
        release=release,
        webhooks=webhooks,
        pods=pods,
        contexts=contexts,
        context_states=states,
        cronjobs=certgens,
    )
    return FleetSnapshot(
        taken_at=taken_at,
        namespace=namespace,
        contexts=tuple(contexts),
        secrets=secret_statuses,
        cronjob=cronjob,
        cronjobs=certgens,
        targets=targets,
        findings=findings,
        timings=timings,
        missing_components=tuple(dict.fromkeys(c for s in states for c in s.missing))
        if states
        else tuple(missing_components),
        not_installed=tuple(not_installed),
        errors=tuple(errors),
        generation=(previous.generation + 1) if previous is not None else 1,
        mtls=mtls,
        gloo_release=release,
        webhooks=tuple(webhooks),
        context_states=states,
    )


def _management_cronjobs(
    cronjobs: Sequence[CronJobState], cronjob: CronJobState | None, states: Sequence[ContextState]
) -> tuple[CronJobState, ...]:
    """The CronJobs of the management contexts (certgen runs only where gloo runs: a data-plane
    context's "no CronJob" is no finding), in the contexts' order; ``cronjob`` alone when none is."""
    planes = {state.name: state.plane for state in states}
    order = {state.name: index for index, state in enumerate(states)}
    kept = [c for c in cronjobs if planes.get(c.context, Plane.MANAGEMENT) is Plane.MANAGEMENT]
    kept.sort(key=lambda c: order.get(c.context, len(order)))
    if kept:
        return tuple(kept)
    return (cronjob,) if cronjob is not None else ()


def _content(bundle: TrustBundle | None, leaf: CertInfo | None) -> tuple[object, ...]:
    return (bundle_key(bundle) if bundle else (), cert_key(leaf) if leaf else None)


def _multi_ca_since(
    bundle: TrustBundle, now: datetime, previous_since: datetime | None, previous_count: int
) -> datetime | None:
    """When the bundle started holding 2+ CAs: carried over, else the newest CA's birth (certgen makes
    the new CA when a rotation starts), never later than now."""
    if len(bundle.cas) < 2:
        return None
    if previous_since is not None and previous_count >= 2:
        return previous_since
    newest = max(ca.not_before for ca in bundle.cas)
    return min(newest, now)


def _secret_status(
    state: SecretState, now: datetime, rotation: float | None, previous: FleetSnapshot | None, slack: float
) -> SecretStatus:
    prev = None
    if previous is not None:
        prev = next(
            (
                s
                for s in previous.secrets
                if (s.state.context, s.state.namespace, s.state.name)
                == (state.context, state.namespace, state.name)
            ),
            None,
        )
    state = _carried(state, prev)
    has_content = state.bundle is not None or state.leaf is not None
    bundle = state.bundle or TrustBundle()
    updated = min(state.updated_at, now) if state.updated_at is not None else None
    content_since: datetime | None = updated
    if prev is not None:
        unreadable = not state.observed or state.error is not None or not has_content
        unchanged = _content(prev.state.bundle, prev.state.leaf) == _content(state.bundle, state.leaf)
        if unreadable or unchanged:
            content_since = prev.content_since or updated
        else:  # changed since it was last read: when the API says so, if that falls after that read
            last_read = (prev.state.read_at or previous.taken_at) if previous is not None else now
            content_since = updated if updated is not None and updated > last_read else now
    multi = _multi_ca_since(
        bundle, now, prev.multi_ca_since if prev else None, prev.verdict.ca_count if prev else 0
    )
    carried = not state.observed and has_content
    if not carried and (state.error is not None or state.forbidden or state.missing or not state.observed):
        reason = (
            "secret forbidden (403)"
            if state.forbidden
            else "secret missing"
            if state.missing
            else state.error or "secret not observed"
        )
        verdict = PhaseVerdict(Phase.UNKNOWN, f"no data: {reason}")
    else:
        verdict = phase_of(
            bundle,
            state.leaf,
            now,
            rotation_duration_seconds=rotation,
            held_since=multi,
            stall_slack_seconds=slack,
        )
    return SecretStatus(
        state=state,
        verdict=verdict,
        content_since=content_since,
        multi_ca_since=multi,
    )


def _carried(state: SecretState, prev: SecretStatus | None) -> SecretState:
    """A secret this poll could not read keeps the content (and read time) last observed, with this
    poll's reason: an unreadable secret is not a new, empty one, so no phase, pickup or lag restarts."""
    if state.missing and state.copied_by is None and prev is not None and prev.state.copied_by:
        return replace(state, copied_by=prev.state.copied_by)  # a removed copy: how it was made
    if state.observed or prev is None or (prev.state.bundle is None and prev.state.leaf is None):
        return state
    return replace(prev.state, observed=False, forbidden=state.forbidden, error=state.error)


def _held(
    fetch: AdminFetch, namespace: str
) -> tuple[CertInfo | None, TrustBundle, datetime | None, str | None]:
    """(leaf, bundle, when they arrived, SDS version): config_dump secrets first, ``/certs`` as fallback."""
    leaf: CertInfo | None = None
    bundle: TrustBundle | None = None
    arrived: list[datetime] = []
    version: str | None = None
    if isinstance(fetch.secrets, SecretsDump):
        server = fetch.secrets.get(SERVER_CERT_SECRET)
        if server is not None and server.certs:
            leaf = server.certs[0]
            version = server.version_info
            if server.last_updated:
                arrived.append(server.last_updated)
        validation = fetch.secrets.get(VALIDATION_CONTEXT_SECRET)
        if validation is not None and validation.certs:
            bundle = TrustBundle(validation.certs, complete=True)
            if validation.last_updated:
                arrived.append(validation.last_updated)
    if (leaf is None or bundle is None) and isinstance(fetch.certs, CertsReport):
        contexts = [c for c in fetch.certs.contexts if c.cert_chain] or list(fetch.certs.contexts)
        ours = f"DNS:gloo.{namespace}.svc"
        chosen = next((c for c in contexts if c.cert_chain and ours in c.cert_chain[0].sans), None)
        chosen = chosen or (contexts[0] if contexts else None)
        if chosen is not None:
            if leaf is None and chosen.cert_chain:
                leaf = chosen.cert_chain[0]
            if bundle is None and chosen.ca_certs:
                bundle = TrustBundle(chosen.ca_certs, complete=False)
    return leaf, bundle or TrustBundle(), max(arrived) if arrived else None, version


def _target_status(
    fetch: AdminFetch,
    namespace: str,
    secrets: Sequence[SecretStatus],
    now: datetime,
    rotation: float | None,
    previous: FleetSnapshot | None,
    slack: float,
    closes: StreamCloses | None = None,
    installs: Collection[tuple[str, str]] = (),
) -> TargetStatus:
    """``installs``: the namespaces running a gloo (:func:`gloo_namespaces`), whose secret is no copy."""
    ref = fetch.target
    prev = next((t for t in previous.targets if t.key == ref.key), None) if previous is not None else None
    envoy_version = prev.envoy_version if prev else None
    started = prev.envoy_started_at if prev else None
    if isinstance(fetch.server, ServerInfo):
        envoy_version = fetch.server.version or envoy_version
        read_at = fetch.server.read_at or fetch.fetched_at  # the uptime is as of this read
        started = envoy_start(read_at, fetch.server.uptime_seconds) or started
    if not fetch.reachable and fetch.api_down and prev is not None and prev.reachable:
        return _stale(prev, ref, now)
    if not fetch.reachable:
        return TargetStatus(
            ref=ref,
            fetch=fetch,
            verdict=PhaseVerdict(Phase.UNKNOWN, f"admin unreachable: {fetch.error}"),
            envoy_version=envoy_version,
            envoy_started_at=started,
            tls_errors=prev.tls_errors if prev else 0,
            user_tls_errors=prev.user_tls_errors if prev else 0,
            bundle_differs_since=prev.bundle_differs_since if prev else None,
            tls_errors_last_rise=prev.tls_errors_last_rise if prev else None,
            xds_connect_fail_last_rise=prev.xds_connect_fail_last_rise if prev else None,
            xds_down_since=prev.xds_down_since if prev else None,
            sds_rejected_last_rise=prev.sds_rejected_last_rise if prev else None,
            sds_down_since=prev.sds_down_since if prev else None,
        )
    leaf, bundle, arrived, sds_version = _held(fetch, ref.namespace or namespace)
    certs_since = arrived or (prev.certs_since if prev and prev.leaf is not None else (now if leaf else None))
    multi = _multi_ca_since(
        bundle, now, prev.multi_ca_since if prev else None, prev.verdict.ca_count if prev else 0
    )
    verdict = phase_of(
        bundle, leaf, now, rotation_duration_seconds=rotation, held_since=multi, stall_slack_seconds=slack
    )
    secret = secret_of(secrets, ref.context, ref.namespace, namespace)
    sync = compare_with_secret(leaf, bundle, secret.state if secret else None)
    copy_behind = _copy_behind(secret, secrets, namespace, now, installs) if sync.in_sync else None
    lag_since: datetime | None = None
    lag_seconds: float | None = None
    if sync.in_sync is False:
        if prev is not None and prev.in_sync_with_secret is False and prev.lag_since is not None:
            lag_since = prev.lag_since
        else:
            lag_since = (secret.content_since if secret else None) or now
        if secret is not None and secret.content_since is not None and secret.content_since > lag_since:
            lag_since = secret.content_since
        lag_since = min(lag_since, now)
        lag_seconds = (now - lag_since).total_seconds()
    pickup = prev.last_pickup_seconds if prev is not None else None
    if sync.in_sync is True and prev is not None and prev.in_sync_with_secret is False and prev.lag_since:
        caught = arrived if arrived is not None and prev.lag_since < arrived <= now else now
        pickup = (caught - prev.lag_since).total_seconds()
    stats = fetch.stats if isinstance(fetch.stats, EnvoyStats) else None
    if stats is not None:
        sds = stats.sds_for(SERVER_CERT_SECRET)
        if sds is not None and sds.version:
            sds_version = sds.version
    tls_errors, user_tls = (prev.tls_errors, prev.user_tls_errors) if prev else (0, 0)
    if stats is not None:
        tls_errors, user_tls = mtls_errors(stats, ref.component), user_tls_errors(stats, ref.component)
    old = prev if prev is not None and prev.reachable else None
    tls_rise = last_rise(
        now,
        tls_errors if stats is not None else None,
        old.tls_errors if old is not None else None,
        prev.tls_errors_last_rise if prev else None,
    )
    rejected_rise = last_rise(
        now,
        rejected_total(stats),
        rejected_total(old.fetch.stats if old is not None and old.fetch is not None else None),
        prev.sds_rejected_last_rise if prev else None,
    )
    closed = stream_closed(closes, ref, ADS)
    xds, xds_rise = xds_link(fetch, ref.component, ref.namespace or namespace, stats, prev, now, closed)
    xds_down = xds_down_since(xds, prev, now, closed)
    sds_down = sds_down_since(stats, prev, now, stream_closed(closes, ref, SDS))
    return TargetStatus(
        ref=ref,
        fetch=fetch,
        leaf=leaf,
        bundle=bundle,
        verdict=verdict,
        in_sync_with_secret=sync.in_sync,
        lag_since=lag_since,
        lag_seconds=lag_seconds,
        last_pickup_seconds=pickup,
        sds_version=sds_version,
        xds=xds,
        tls_errors=tls_errors,
        user_tls_errors=user_tls,
        envoy_version=envoy_version,
        ahead_of_secret=sync.ahead,
        multi_ca_since=multi,
        envoy_started_at=started,
        certs_since=certs_since,
        sync_reason=_sync_reason(sync.reason, secret, copy_behind) if sync.in_sync is not None else None,
        tls_errors_last_rise=tls_rise,
        xds_connect_fail_last_rise=xds_rise,
        xds_down_since=xds_down,
        sds_rejected_last_rise=rejected_rise,
        sds_down_since=sds_down,
        secret_namespace=secret.state.namespace if secret is not None else None,
        copy_behind_seconds=copy_behind,
    )


def _copy_behind(
    secret: SecretStatus | None,
    secrets: Sequence[SecretStatus],
    namespace: str,
    now: datetime,
    installs: Collection[tuple[str, str]],
) -> float | None:
    """How long it has been behind (:func:`copy_behind_since`), when ``secret`` is a namespace copy
    whose content differs from its source (the release namespace's secret): a target holding it is
    behind because of the copy."""
    if secret is None:
        return None
    source = copy_source(secrets, secret, namespace, installs)
    if source is None or (source.state.bundle is None and source.state.leaf is None):
        return None
    if _content(source.state.bundle, source.state.leaf) == _content(secret.state.bundle, secret.state.leaf):
        return None
    since = copy_behind_since(secret, source)
    return max((now - since).total_seconds(), 0.0) if since is not None else 0.0


def _sync_reason(reason: str, secret: SecretStatus | None, copy_behind: float | None) -> str:
    """The sync's reason; for a target holding a namespace copy that is behind its source, that too."""
    if secret is None or copy_behind is None:
        return reason
    where = f"{secret.state.namespace}/{secret.state.name}"
    return (
        f"{reason} ({where}, its namespace's copy), but that copy is behind the release namespace's "
        f"secret by {human_duration(copy_behind)}: the copy lags, not this pod"
    )


def _release(fetches: Sequence[AdminFetch], previous: FleetSnapshot | None) -> GlooRelease | None:
    """The Gloo release the listed pods' images say; while none is listed, the last one known."""
    images = (image for f in fetches if f.target.pod_info is not None for image in f.target.pod_info.images)
    return gloo_release(images) or (previous.gloo_release if previous is not None else None)


def _stale(prev: TargetStatus, ref: TargetRef, now: datetime) -> TargetStatus:
    """A target not reached because the Kubernetes API is down keeps what it was last observed holding,
    marked stale: an API outage says nothing about the Envoys behind it. Its lag clock keeps running."""
    assert prev.fetch is not None
    lag = (now - prev.lag_since).total_seconds() if prev.lag_since is not None else None
    return replace(
        prev,
        ref=ref,
        fetch=replace(prev.fetch, target=ref),
        lag_seconds=lag,
        stale_since=prev.stale_since or now,
    )
