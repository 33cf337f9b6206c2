"""Metric families from the last snapshot, plus the few counters that must stay monotonic across polls.

Every gauge is built from the current snapshot alone, so its label values come from the pods and
certificates that exist now and a gone pod's series disappear with it (cardinality stays bounded). The
counters (``gloomon_tls_errors_total``, ``gloomon_source_errors_total``) and the poll-duration histogram
accumulate in :class:`FleetMetrics` across polls; a counter of a gone pod is dropped with it. Names and
labels are the README's metrics table: chosen once, kept stable.
"""

from __future__ import annotations

import platform
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)

from gloomon import __version__
from gloomon.domain.model import CertInfo, FleetSnapshot, Phase, TargetStatus
from gloomon.domain.model.webhook import WEBHOOK_SECRET_NAME
from gloomon.domain.parse.cron import next_run
from gloomon.exporter.labels import common_name, error_reason

#: upper bounds of ``gloomon_poll_duration_seconds`` (a poll of 200 Envoys takes about a second)
POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_X509_LABELS = (
    "cluster",
    "serial_number",
    "subject_CN",
    "issuer_CN",
    "secret_namespace",
    "secret_name",
    "secret_key",
)
#: ``proxy``: the proxy's name (``gateway-proxy-id``, e.g. ``public-gw``; empty for gloo and for pods that
#: name none), so one proxy of several is told apart from its component
_TARGET_LABELS = ("cluster", "namespace", "component", "pod", "proxy")
_CERT_LABELS = (*_TARGET_LABELS, "source", "role", "bundle_index", "serial")


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _target_labels(target: TargetStatus) -> list[str]:
    ref = target.ref
    return [ref.context, ref.namespace, ref.component.value, ref.pod, ref.proxy or ""]


@dataclass
class _TlsCounter:
    """Envoy's own counter as last read, and the monotonic total gloomon exports for it."""

    last_raw: int
    total: int


@dataclass
class FleetMetrics:
    """Updated once per snapshot; :meth:`collect` yields the families of the last one."""

    snapshot: FleetSnapshot | None = None
    polls: int = 0
    poll_seconds_sum: float = 0.0
    poll_buckets: list[int] = field(default_factory=lambda: [0] * len(POLL_BUCKETS))
    source_errors: Counter[str] = field(default_factory=Counter)
    tls: dict[str, _TlsCounter] = field(default_factory=dict)

    def update(self, snapshot: FleetSnapshot) -> None:
        """Take one poll's snapshot: histogram, error counters and the per-target TLS totals."""
        self.snapshot = snapshot
        self.polls += 1
        seconds = snapshot.timings.cycle_seconds
        self.poll_seconds_sum += seconds
        for index, bound in enumerate(POLL_BUCKETS):
            if seconds <= bound:
                self.poll_buckets[index] += 1
        for line in snapshot.errors:
            self.source_errors[error_reason(line)] += 1
        for target in snapshot.targets:
            fetch = target.fetch
            if fetch is not None and fetch.error is not None and not fetch.api_down:
                self.source_errors[error_reason(fetch.error)] += 1
        self._count_tls(snapshot.targets)

    def _count_tls(self, targets: Iterable[TargetStatus]) -> None:
        """Envoy's counters restart with the Envoy; the exported total only grows. Unreachable and
        stale targets keep their total (their zero is not a reading); gone pods leave."""
        current = {}
        for target in targets:
            counter = self.tls.get(target.key)
            if target.reachable and target.stale_since is None:
                raw = target.tls_errors
                if counter is None:
                    counter = _TlsCounter(raw, raw)
                else:
                    counter.total += raw - counter.last_raw if raw >= counter.last_raw else raw
                    counter.last_raw = raw
            if counter is not None:
                current[target.key] = counter
        self.tls = current

    def collect(self) -> Iterator[Metric]:
        """The families of the last snapshot (nothing but the build info before the first poll)."""
        yield _build_info()
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield from _x509(snapshot)
        yield from _cert_validity(snapshot)
        yield _rotation_phase(snapshot)
        yield from _targets(snapshot, self.tls)
        yield _findings(snapshot)
        yield from _certgen(snapshot)
        yield from self._monitor(snapshot)

    def _monitor(self, snapshot: FleetSnapshot) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gloomon_source_up",
            "1 when this poll read the source: the cluster's Kubernetes API, its gloo-mtls-certs secret",
            labels=("cluster", "source", "namespace"),
        )
        answered: dict[str, bool] = {}
        for secret in snapshot.secrets:  # one per (context, namespace): each namespace's copy too
            state = secret.state
            # a 403 is an answer; 5xx, timeouts are not
            answered[state.context] = answered.get(state.context, False) or state.observed or state.forbidden
            read = state.observed and state.error is None and state.leaf is not None
            up.add_metric([state.context, "secret", state.namespace], 1.0 if read else 0.0)
        for context, yes in answered.items():
            up.add_metric([context, "kubernetes", ""], 1.0 if yes else 0.0)
        yield up
        errors = CounterMetricFamily(
            "gloomon_source_errors_total",
            "Failed reads since start, one per source per poll (API, secret, logs, Envoy admin)",
            labels=("reason",),
        )
        for reason, count in sorted(self.source_errors.items()):
            errors.add_metric([reason], float(count))
        yield errors
        cumulative = [
            (str(bound), float(count)) for bound, count in zip(POLL_BUCKETS, self.poll_buckets, strict=True)
        ]
        yield HistogramMetricFamily(
            "gloomon_poll_duration_seconds",
            "Wall time of one full poll (discovery, every Envoy, the secret, the judgement)",
            buckets=[*cumulative, ("+Inf", float(self.polls))],
            sum_value=self.poll_seconds_sum,
        )
        last = GaugeMetricFamily(
            "gloomon_last_poll_timestamp_seconds", "When the last poll's snapshot was taken (Unix time)"
        )
        last.add_metric([], _epoch(snapshot.taken_at))
        yield last


def _build_info() -> Metric:
    info = InfoMetricFamily("gloomon_build", "gloomon's version and the Python it runs on")
    info.add_metric([], {"version": __version__, "python": platform.python_version()})
    return info


def _x509(snapshot: FleetSnapshot) -> Iterator[Metric]:
    """x509-certificate-exporter's three families for each secret's tls.crt and every CA of ca.crt:
    gloo-mtls-certs and the webhook's gateway-validation-certs."""
    not_after = GaugeMetricFamily(
        "x509_cert_not_after", "Certificate's notAfter (Unix time)", labels=_X509_LABELS
    )
    not_before = GaugeMetricFamily(
        "x509_cert_not_before", "Certificate's notBefore (Unix time)", labels=_X509_LABELS
    )
    expired = GaugeMetricFamily(
        "x509_cert_expired", "1 when the certificate has expired", labels=_X509_LABELS
    )
    seen: set[tuple[str, ...]] = set()
    secrets = [
        (s.state.context, s.state.namespace, s.state.name, s.state.leaf, s.state.bundle)
        for s in snapshot.secrets
    ]
    secrets += [
        (w.context, w.namespace, WEBHOOK_SECRET_NAME, w.secret_leaf, w.secret_bundle)
        for w in snapshot.webhooks
    ]
    for context, namespace, name, leaf, bundle in secrets:
        entries: list[tuple[str, CertInfo]] = [("ca.crt", ca) for ca in (bundle.cas if bundle else ())]
        if leaf is not None:
            entries.insert(0, ("tls.crt", leaf))
        for key, cert in entries:
            labels = (
                context,
                _decimal(cert.serial),
                cert.common_name or common_name(cert.subject),
                common_name(cert.issuer),
                namespace,
                name,
                key,
            )
            if labels in seen:  # the same certificate twice in one key: one series
                continue
            seen.add(labels)
            not_after.add_metric(labels, _epoch(cert.not_after))
            not_before.add_metric(labels, _epoch(cert.not_before))
            expired.add_metric(labels, 1.0 if cert.seconds_left(snapshot.taken_at) <= 0 else 0.0)
    yield from (not_after, not_before, expired)


def _decimal(serial: str) -> str:
    """x509-certificate-exporter spells serials in decimal; gloomon keeps Envoy's hex."""
    try:
        return str(int(serial, 16))
    except ValueError:
        return serial


def _cert_validity(snapshot: FleetSnapshot) -> tuple[Metric, Metric]:
    """notAfter and notBefore of each certificate, same labels: the alert rules judge expiry against
    the lifetime (not_after - not_before), as the dashboard does."""
    family = GaugeMetricFamily(
        "gloomon_cert_not_after_timestamp_seconds",
        "notAfter (Unix time) of each certificate an Envoy holds (leaf and trust bundle) and of the secret's",
        labels=_CERT_LABELS,
    )
    before = GaugeMetricFamily(
        "gloomon_cert_not_before_timestamp_seconds",
        "notBefore (Unix time) of each certificate of gloomon_cert_not_after_timestamp_seconds",
        labels=_CERT_LABELS,
    )
    seen: set[tuple[str, ...]] = set()

    def add(labels: list[str], source: str, certs: Iterable[tuple[str, str, CertInfo]]) -> None:
        for role, index, cert in certs:
            key = (*labels, source, role, index, cert.serial)
            if key not in seen:
                seen.add(key)
                family.add_metric(key, _epoch(cert.not_after))
                before.add_metric(key, _epoch(cert.not_before))

    for secret in snapshot.secrets:
        state = secret.state
        add(
            [state.context, state.namespace, "", "", ""],
            "secret",
            _roles(state.leaf, state.bundle.cas if state.bundle else ()),
        )
    for target in snapshot.targets:
        add(_target_labels(target), "envoy", _roles(target.leaf, target.bundle.cas))
    for webhook in snapshot.webhooks:  # what gloo's 8443 served, and what the API server trusts
        pod = webhook.served_pod or ""
        add(
            [webhook.context, webhook.namespace, "gloo" if pod else "", pod, ""],
            "webhook",
            _roles(webhook.served, ()),
        )
        for entry in webhook.config.webhooks if webhook.config else ():
            add(
                [webhook.context, webhook.namespace, "", "", ""], "webhook", _roles(None, entry.ca_bundle.cas)
            )
    return family, before


def _roles(leaf: CertInfo | None, cas: Iterable[CertInfo]) -> Iterator[tuple[str, str, CertInfo]]:
    if leaf is not None:
        yield "leaf", "", leaf
    for index, ca in enumerate(cas):
        yield "ca", str(index), ca


def _rotation_phase(snapshot: FleetSnapshot) -> Metric:
    family = GaugeMetricFamily(
        "gloomon_rotation_phase",
        "Rotation phase of each secret and target: one series per phase, 1 for the current one",
        labels=("cluster", "scope", "pod", "phase", "namespace"),
    )
    rows = [(s.state.context, "secret", "", s.verdict.phase, s.state.namespace) for s in snapshot.secrets]
    rows += [(t.ref.context, "target", t.ref.pod, t.verdict.phase, t.ref.namespace) for t in snapshot.targets]
    for context, scope, pod, current, namespace in rows:
        for phase in Phase:
            family.add_metric([context, scope, pod, phase.value, namespace], 1.0 if phase is current else 0.0)
    return family


def _targets(snapshot: FleetSnapshot, tls: dict[str, _TlsCounter]) -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "gloomon_target_up", "1 when the Envoy's admin answered this poll", labels=_TARGET_LABELS
    )
    in_sync = GaugeMetricFamily(
        "gloomon_target_in_sync",
        "1 when the target holds the secret it should (its context's gloo-mtls-certs), 0 when it lags",
        labels=_TARGET_LABELS,
    )
    lag = GaugeMetricFamily(
        "gloomon_target_lag_seconds",
        "How long the target has differed from its secret (0 when in sync)",
        labels=_TARGET_LABELS,
    )
    xds = GaugeMetricFamily(
        "gloomon_xds_connected",
        "1 when no trouble is seen on the target's xDS link to gloo (connected, or idle), 0 when it is down",
        labels=_TARGET_LABELS,
    )
    tls_total = CounterMetricFamily(
        "gloomon_tls_errors_total",
        "TLS handshake and verify failures on the mTLS link's scopes (monotonic across Envoy restarts)",
        labels=_TARGET_LABELS,
    )
    for target in snapshot.targets:
        labels = _target_labels(target)
        # behind a down API the Envoy was not observed: not up, while the rest shows what it last held
        up.add_metric(labels, 1.0 if target.reachable and target.stale_since is None else 0.0)
        if target.in_sync_with_secret is not None:
            in_sync.add_metric(labels, 1.0 if target.in_sync_with_secret else 0.0)
            lag.add_metric(labels, 0.0 if target.in_sync_with_secret else target.lag_seconds or 0.0)
        if target.xds is not None:
            xds.add_metric(labels, 1.0 if target.xds.healthy else 0.0)
        counter = tls.get(target.key)
        if counter is not None:
            tls_total.add_metric(labels, float(counter.total))
    yield from (up, in_sync, lag, xds, tls_total)


def _findings(snapshot: FleetSnapshot) -> Metric:
    family = GaugeMetricFamily(
        "gloomon_findings",
        "How many findings of each code the last poll made (docs/findings.md)",
        labels=("code", "severity", "component", "cluster", "namespace"),
    )
    counts = Counter(
        (
            item.code,
            item.severity.value,
            item.component.value if item.component else "",
            item.context or "",
            item.namespace or "",  # the copy of the secret it is about (secret-copy-*), else empty
        )
        for item in snapshot.findings
    )
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), float(count))
    return family


def _certgen(snapshot: FleetSnapshot) -> Iterator[Metric]:
    """Each management context's CronJob (two clusters: two certgens), by its ``cluster``."""
    labels = ("namespace", "cronjob", "cluster")
    next_family = GaugeMetricFamily(
        "gloomon_certgen_next_run_timestamp_seconds",
        "When the certgen CronJob runs next (Unix time); absent when suspended or missing",
        labels=labels,
    )
    success = GaugeMetricFamily(
        "gloomon_certgen_last_success_timestamp_seconds",
        "When a certgen Job last succeeded (Unix time)",
        labels=labels,
    )
    for cron in snapshot.cronjobs:
        if cron.missing:
            continue
        values = [snapshot.namespace, cron.name, cron.context]
        upcoming = None if cron.suspended else next_run(cron.schedule, snapshot.taken_at)
        if upcoming is not None:
            next_family.add_metric(values, _epoch(upcoming))
        if cron.last_successful_time is not None:
            success.add_metric(values, _epoch(cron.last_successful_time))
    yield from (next_family, success)
