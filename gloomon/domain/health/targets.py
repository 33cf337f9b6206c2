"""Findings about each target: its certificates, sync with the secret, SDS, TLS, xDS and admin API
(the link to gloo's in :mod:`gloomon.domain.health.links`).

Connection errors in an Envoy's first minute, or in the minute after new certificates arrived, are
expected (Gloo's guide says so): they are ``info`` then, ``warning`` once they persist. Counters that
rose keep their finding for a minute (``RISE_WINDOW_SECONDS``) so findings do not flap poll to poll.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gloomon.domain.compare.sync import bundle_key, same_cert
from gloomon.domain.health.links import link_findings
from gloomon.domain.health.policy import (
    Context,
    cert_expiry_finding,
    coming_or_going,
    envoy_young,
    not_yet_valid_finding,
    rose_recently,
    settling,
)
from gloomon.domain.health.sds import initial_fetch_timeout, sds_stream_down
from gloomon.domain.model import (
    DEFAULT_ADMIN_PORTS,
    SERVER_CERT_SECRET,
    VALIDATION_CONTEXT_SECRET,
    AdminFetch,
    CertsReport,
    EnvoyStats,
    Finding,
    ForwardStatus,
    ParseError,
    Phase,
    SecretsDump,
    SecretStatus,
    ServerInfo,
    Severity,
    TargetStatus,
    secret_of,
)
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.envoy import ADMIN_PATHS
from gloomon.domain.parse.tls_scopes import mtls_scopes
from gloomon.domain.text import one_line
from gloomon.domain.words import counted

__all__ = ["settling", "target_findings"]


@dataclass(frozen=True, slots=True)
class _Hints:
    """The commands a hint gives for one target: kubectl for a pod; for a ``--target`` URL (no pod, no
    kubectl), what can be done from its URL."""

    ns: str
    pod: str
    url: str | None
    #: the container running the target's Envoy (``public-gw``, ``gloo-gateway``, ``envoy-sidecar``…)
    envoy: str

    def logs(self, container: str, then: str) -> str:
        """Read ``container``'s logs (``then``: ``--tail=30`` or ``| grep …``)."""
        if self.url is None:
            return f"kubectl -n {self.ns} logs {self.pod} -c {container} {then}"
        whose = "the SDS server feeding" if container == "sds" else "the Envoy at"
        grep = f" ({then.removeprefix('| ')})" if then.startswith("|") else ""
        return f"read the logs of {whose} {self.url}{grep}"

    def restart(self) -> str:
        if self.url is None:
            return f"kubectl -n {self.ns} delete pod {self.pod}"
        return f"restart the Envoy at {self.url}"

    def curl(self, endpoint: str) -> str:
        """``curl`` the endpoint as gloomon requests it (``/clusters?format=json``…)."""
        path = ADMIN_PATHS.get(endpoint, endpoint)
        if self.url is None:
            forward = f"kubectl -n {self.ns} port-forward pod/{self.pod} <port>"
            return f"{forward} and curl 'localhost:<port>{path}'"
        return f"curl -s '{self.url}{path}'"


def target_findings(
    target: TargetStatus, secrets: Sequence[SecretStatus], ctx: Context, gloo_contexts: Sequence[str] = ()
) -> list[Finding]:
    """Its findings; ``gloo_contexts``: where the gloo it talks to runs (its link's hint names them)."""
    ref = target.ref
    component, pod, ns = ref.component, ref.pod, ref.namespace or ctx.namespace
    port = DEFAULT_ADMIN_PORTS[component]
    # --target URLs: no pod to port-forward to; the hint curls the URL the user gave.
    direct = ref.admin_url if ref.forward is not None and ref.forward.status is ForwardStatus.DIRECT else None
    fetch = target.fetch
    if fetch is not None and fetch.api_down and not fetch.reachable:
        return []  # not observed: the API outage is the one finding (snapshot.errors)
    if fetch is None or not fetch.reachable:
        reason = (fetch.error if fetch is not None else None) or (ref.forward.error if ref.forward else None)
        return [
            Finding(
                # a pod starting, not ready or leaving (a rolling restart) may not listen yet: info
                Severity.INFO if coming_or_going(target, ctx) else Severity.WARNING,
                "admin-unreachable",
                component,
                pod,
                f"Envoy admin API unreachable: {one_line(reason or 'not polled', 200)}",
                f"curl {direct}/ready (is the URL right, is Envoy running?)"
                if direct
                else f"kubectl -n {ns} get pod {pod}; kubectl -n {ns} port-forward pod/{pod} {port} and curl "
                f"localhost:{port}/ready",
            )
        ]
    out: list[Finding] = []
    bad = [
        (what, value)
        for what, value in (
            ("/server_info", fetch.server),
            ("/certs", fetch.certs),
            ("/config_dump", fetch.secrets),
            ("/clusters", fetch.clusters),
            ("/stats", fetch.stats),
        )
        if isinstance(value, ParseError)
    ]
    if bad:
        # One finding per pod: a proxy in front of the admin port garbles every endpoint at once.
        first = bad[0][0]
        out.append(
            Finding(
                Severity.WARNING,
                "admin-bad-response",
                component,
                pod,
                one_line("; ".join(f"{what}: {one_line(value.message, 120)}" for what, value in bad), 400),
                f"see the raw body: curl -s '{direct}{ADMIN_PATHS.get(first, first)}'"
                if direct
                else f"see the raw body: kubectl -n {ns} port-forward pod/{pod} {port} "
                f"and curl 'localhost:{port}{ADMIN_PATHS.get(first, first)}'",
            )
        )
    hints = _Hints(ns, pod, direct, ref.envoy_container)
    if (
        target.leaf is None
        and _runs_sds(target)
        and (isinstance(fetch.certs, CertsReport) or isinstance(fetch.secrets, SecretsDump))
    ):
        stats = fetch.stats if isinstance(fetch.stats, EnvoyStats) else None
        out.append(
            initial_fetch_timeout(target, stats, ctx, hints) or _not_delivered(target, fetch, ctx, hints)
        )
    secret = secret_of(secrets, ref.context, ref.namespace, ctx.namespace)
    out.extend(_cert_findings(target, secret, ctx))
    verdict = target.verdict
    if verdict.phase is Phase.BROKEN and target.leaf is not None and target.leaf.seconds_left(ctx.now) >= 0:
        out.append(
            Finding(
                Severity.CRITICAL,
                "leaf-untrusted",
                component,
                pod,
                verdict.reason,
                (
                    f"its bundle does not hold the CA that signed its leaf; compare with the secret "
                    f"(kubectl -n {ns} get secret gloo-mtls-certs -o jsonpath='{{.data.ca\\.crt}}' "
                    f"| base64 -d) and restart the pod if SDS is stuck: {hints.restart()}"
                    if direct is None
                    else f"its bundle does not hold the CA that signed its leaf: {hints.curl('/certs')}; "
                    f"if SDS is stuck, {hints.restart()}"
                ),
            )
        )
    if verdict.phase is Phase.STALLED and secret is None:
        out.append(
            Finding(
                Severity.WARNING,
                "rotation-stalled",
                component,
                pod,
                verdict.reason,
                f"a certgen run died mid-rotation; run it again: {ctx.rerun_hint()}",
            )
        )
    if target.ahead_of_secret:
        out.append(
            Finding(
                Severity.WARNING,
                "target-ahead",
                component,
                pod,
                f"holds newer certificates than the secret: {target.sync_reason or 'secret rolled back?'}",
                f"the secret was rolled back or restored; check it "
                f"(kubectl -n {ns} get secret gloo-mtls-certs -o jsonpath='{{.metadata.managedFields}}') "
                f"and rotate again: {ctx.rerun_hint()}",
            )
        )
    elif target.in_sync_with_secret is False and (target.lag_seconds or 0.0) > ctx.grace:
        out.append(
            Finding(
                Severity.WARNING,
                "target-lagging",
                component,
                pod,
                f"has not picked up the secret for {human_duration(target.lag_seconds or 0.0)} (grace "
                f"{human_duration(ctx.grace)}): {target.sync_reason or 'certificates differ'}",
                f"{hints.logs('sds', '--tail=30')}; if SDS is stuck: {hints.restart()}",
            )
        )
    out.extend(_stats_findings(target, ctx, hints))
    out.extend(link_findings(target, ctx, hints, gloo_contexts))
    return out


def _runs_sds(target: TargetStatus) -> bool:
    """Whether SDS is there to deliver: a pod known to run no ``sds`` container (mTLS not enabled for
    it) has no certificate to wait for; a ``--target`` URL or a pod of unknown containers may."""
    pod = target.ref.pod_info
    return pod is None or not pod.containers or "sds" in pod.containers


def _not_delivered(target: TargetStatus, fetch: AdminFetch, ctx: Context, hints: _Hints) -> Finding:
    """No server certificate held: expected in the Envoy's first minute, unknown age is a warning."""
    ref = target.ref
    young = envoy_young(target, ctx)
    severity = Severity.INFO if young else (Severity.WARNING if young is None else Severity.CRITICAL)
    warming = isinstance(fetch.secrets, SecretsDump) and (
        fetch.secrets.get(SERVER_CERT_SECRET, warming=True) is not None
    )
    state = " (server_cert is still warming)" if warming else ""
    age = " (Envoy start time unknown)" if young is None else ""
    return Finding(
        severity,
        "sds-not-delivered",
        ref.component,
        ref.pod,
        f"Envoy holds no server certificate from SDS yet{state}{age}: mTLS to and from this pod fails "
        f"until it arrives",
        f"{hints.logs('sds', '--tail=30')}; "
        + (
            f"is the secret mounted? kubectl -n {hints.ns} describe pod {ref.pod}"
            if hints.url is None
            else f"what it holds: {hints.curl('/config_dump')}"
        ),
    )


def _cert_findings(target: TargetStatus, secret: SecretStatus | None, ctx: Context) -> list[Finding]:
    """Expiry and not-yet-valid of what the target holds, except what the secret's findings already say."""
    component, pod = target.ref.component, target.ref.pod
    out: list[Finding] = []
    secret_leaf = secret.state.leaf if secret is not None else None
    if target.leaf is not None and not (secret_leaf is not None and same_cert(target.leaf, secret_leaf)):
        for item in (
            cert_expiry_finding(target.leaf, "leaf", "leaf", component, pod, ctx),
            not_yet_valid_finding(target.leaf, "leaf", component, pod, ctx),
        ):
            if item is not None:
                out.append(item)
    secret_bundle = secret.state.bundle if secret is not None else None
    secret_cas = set(bundle_key(secret_bundle)) if secret_bundle is not None else set()
    for index, (ca, key) in enumerate(zip(target.bundle.cas, bundle_key(target.bundle), strict=True)):
        if key not in secret_cas:
            item = cert_expiry_finding(ca, f"CA #{index + 1}", "ca", component, pod, ctx)
            if item is not None:
                out.append(item)
    return out


def _stats_findings(target: TargetStatus, ctx: Context, hints: _Hints) -> list[Finding]:
    ref = target.ref
    component, pod = ref.component, ref.pod
    fetch = target.fetch
    out: list[Finding] = []
    soft = Severity.INFO if settling(target, ctx) else Severity.WARNING
    stats = fetch.stats if fetch is not None else None
    if isinstance(stats, EnvoyStats):
        out.extend(_rejected_findings(target, stats, ctx, hints))
        down = sds_stream_down(target, stats, ctx, hints)
        if down is not None:
            out.append(down)
    out.extend(_tls_findings(target, stats if isinstance(stats, EnvoyStats) else None, ctx, hints, soft))
    server = fetch.server if fetch is not None else None
    if isinstance(server, ServerInfo) and server.state not in ("LIVE", "unknown"):
        out.append(
            Finding(
                soft,
                "envoy-not-live",
                component,
                pod,
                f"Envoy state is {server.state}",
                hints.logs(hints.envoy, "--tail=50"),
            )
        )
    return out


def _rejected_findings(target: TargetStatus, stats: EnvoyStats, ctx: Context, hints: _Hints) -> list[Finding]:
    """``sds-update-rejected`` by state, not by poll-to-poll delta: rising (within the last minute) and
    out of sync is critical, rising is a warning, a past rejection is info while the target is in sync."""
    component, pod = target.ref.component, target.ref.pod
    rising = rose_recently(target.sds_rejected_last_rise, ctx.now)
    lagging = target.in_sync_with_secret is False
    if rising:
        severity = Severity.CRITICAL if lagging else Severity.WARNING
    else:
        severity = Severity.WARNING if lagging else Severity.INFO
    out: list[Finding] = []
    for name in (SERVER_CERT_SECRET, VALIDATION_CONTEXT_SECRET):
        sds = stats.sds_for(name)
        if sds is None or sds.update_rejected == 0:
            continue
        when = " (rising in the last minute)" if rising else ""
        sync = "; it does not hold the secret's certificates" if lagging else ""
        out.append(
            Finding(
                severity,
                "sds-update-rejected",
                component,
                pod,
                f"Envoy rejected {counted(sds.update_rejected, 'SDS update')} of {name}{when}{sync}",
                f"{hints.logs(hints.envoy, '| grep -i rejected')}; "
                f"bad PEM or a key/cert mismatch in gloo-mtls-certs",
            )
        )
    return out


#: what Envoy logs when a TLS handshake with a peer fails
_TLS_ERRORS = "CERTIFICATE_VERIFY_FAILED|UNKNOWN_CA|TLS_error"


def _tls_findings(
    target: TargetStatus, stats: EnvoyStats | None, ctx: Context, hints: _Hints, soft: Severity
) -> list[Finding]:
    """``tls-verify-failures`` while the mTLS link's failure counters rose in the last minute, or, from a
    single poll, when one of its scopes has verify failures and not one successful handshake. The user's
    TLS listeners and upstreams never count (``parse/tls_scopes.py``)."""
    component, pod = target.ref.component, target.ref.pod
    rising = rose_recently(target.tls_errors_last_rise, ctx.now)
    failing = [
        scope
        for scope in (mtls_scopes(stats, component) if stats is not None else ())
        if scope.handshake == 0 and scope.fail_verify_error + scope.fail_verify_no_cert > 0
    ]
    if not rising and not failing:
        return []
    if rising:
        what = f"TLS handshake/verify failures rose in the last minute ({target.tls_errors} in total)"
    else:
        scope = failing[0]
        count = scope.fail_verify_error + scope.fail_verify_no_cert
        failures = counted(count, "TLS verify failure")
        what = f"{failures} and no successful handshake on {one_line(scope.scope, 80)}"
    settle = " while certificates settle" if soft is Severity.INFO else ""
    return [
        Finding(
            soft,
            "tls-verify-failures",
            component,
            pod,
            what + settle,
            hints.logs(hints.envoy, f"| grep -E '{_TLS_ERRORS}'")
            + "; compare this pod's bundle with its peers",
        )
    ]
