"""Findings about gloo's validation webhook: its certificate, the ``caBundle`` that must verify it, the
failure policy that decides what a broken one costs, and the ``gateway-certgen`` Jobs that make it.

These are the Gloo certificate outages reported most (reference/real-clusters.md §5): an expired webhook
certificate fails every ``kubectl apply`` of Gloo resources; an empty or stale ``caBundle`` after an
upgrade makes the API server say "signed by unknown authority"; a reused certificate names an old
service; ArgoCD re-runs certgen on every sync. A broken webhook is critical under ``failurePolicy: Fail``
(also the API server's default: every apply it matches is rejected) and a warning under ``Ignore`` (the
applies pass unvalidated: validation is silently off). Codes start with ``webhook-`` or ``cabundle-``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gloomon.domain.compare.sync import bundle_key, same_cert
from gloomon.domain.compare.webhook import matches_the_secret, presented, serves_the_secret, verifies
from gloomon.domain.health.policy import Context, expiry_severity
from gloomon.domain.model import (
    WEBHOOK_CERTGEN_JOB,
    WEBHOOK_PORT,
    WEBHOOK_SECRET_NAME,
    CertInfo,
    Component,
    Finding,
    JobState,
    Severity,
    Subjects,
    TrustBundle,
    WebhookEntry,
    WebhookState,
    webhook_config_name,
)
from gloomon.domain.parse.durations import human_duration, human_time_left
from gloomon.domain.text import one_line
from gloomon.domain.words import plural

#: this many gateway-certgen Jobs within :data:`EVERY_SYNC_WINDOW`, each making a new CA, is the ArgoCD case
EVERY_SYNC_JOBS = 3
EVERY_SYNC_WINDOW = timedelta(hours=1)


def webhook_findings(webhooks: Sequence[WebhookState], ctx: Context) -> list[Finding]:
    """Every finding about the validation webhook of each context that runs one."""
    out: list[Finding] = []
    for state in webhooks:
        if state.installed:
            out.extend(_findings(state, ctx))
    return out


def _finding(severity: Severity, code: str, message: str, hint: str, *certs: CertInfo) -> Finding:
    return Finding(severity, code, Component.GLOO, None, message, hint, Subjects(certs=tuple(certs)))


def _fails_closed(state: WebhookState) -> bool:
    """Whether a broken certificate rejects applies: any webhook ``Fail`` (the default when unknown)."""
    entries = state.config.webhooks if state.config is not None else ()
    return not entries or any(entry.fails_closed for entry in entries)


def _cost(fails_closed: bool) -> str:
    if fails_closed:
        return "failurePolicy Fail: every kubectl apply the webhook matches is rejected"
    return "failurePolicy Ignore: applies pass unvalidated, validation is silently off"


def _broken(fails_closed: bool) -> Severity:
    return Severity.CRITICAL if fails_closed else Severity.WARNING


def _findings(state: WebhookState, ctx: Context) -> list[Finding]:
    ns = state.namespace or ctx.namespace
    where = "validation webhook" + (f" ({state.context})" if state.context else "")
    out = _read_findings(state, where, ns)
    closed = _fails_closed(state)
    cert = presented(state)
    restart = f"kubectl -n {ns} rollout restart deploy/gloo"
    renew = (
        f"re-run certgen for the webhook: helm upgrade runs the gateway-certgen hook Job (or "
        f"gateway.certGenJob.cron.enabled=true renews it on a schedule); then {restart}"
    )
    seen: list[CertInfo] = []
    for which, leaf in (("served", state.served), ("secret's", state.secret_leaf)):
        if leaf is None or any(same_cert(leaf, other) for other in seen):
            continue
        seen.append(leaf)
        item = _expiry(leaf, f"{where}: {which} certificate", closed, renew, ctx)
        if item is not None:
            out.append(item)
    if serves_the_secret(state) is False:
        assert state.served is not None and state.secret_leaf is not None
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-served-stale",
                f"{where}: gloo serves certificate serial {state.served.short_serial}, not the one in "
                f"{WEBHOOK_SECRET_NAME} (serial {state.secret_leaf.short_serial}): gloo has not loaded "
                "the renewed secret",
                f"restart gloo so it serves the secret's certificate: {restart}",
                state.served,
                state.secret_leaf,
            )
        )
    if state.config is not None:
        for group in _same_bundle(state.config.webhooks):
            out.extend(_bundle_findings(group, state, cert, where, ns))
    if cert is not None:
        out.extend(_san_findings(state, cert, where, closed, ns))
    out.extend(_job_findings(state, where, ns, ctx))
    return [_about_served_pod(item, state) for item in out]


def _about_served_pod(item: Finding, state: WebhookState) -> Finding:
    """A finding about the certificate gloo serves (or could not serve) names the gloo pod asked, so the
    pod's details list it."""
    served, pod = state.served, state.served_pod
    if pod is None:
        return item
    about = item.code == "webhook-not-served" or (
        served is not None and any(same_cert(served, cert) for cert in item.subjects.certs)
    )
    return replace(item, subjects=replace(item.subjects, pods=(pod,))) if about else item


def _read_findings(state: WebhookState, where: str, ns: str) -> list[Finding]:
    """What could not be read: said once each, and the rest of the webhook is judged from what could."""
    out: list[Finding] = []
    config = webhook_config_name(ns)
    if state.config_forbidden:
        out.append(
            _finding(
                Severity.INFO,
                "webhook-config-forbidden",
                f"{where}: reading ValidatingWebhookConfiguration {config} is forbidden (403): its caBundle "
                "and failurePolicy are not judged",
                "grant get on validatingwebhookconfigurations (cluster-scoped: a ClusterRole and "
                "ClusterRoleBinding); check: kubectl auth can-i get validatingwebhookconfigurations",
            )
        )
    elif state.config_error is not None:
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-config-unreadable",
                f"{where}: {one_line(state.config_error, 200)}",
                f"inspect it: kubectl get validatingwebhookconfiguration {config} -o yaml",
            )
        )
    elif state.config_missing and not state.secret_missing:
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-config-missing",
                f"{where}: {WEBHOOK_SECRET_NAME} exists but ValidatingWebhookConfiguration {config} "
                "does not: the API server does not call gloo's validation",
                f"helm upgrade with gateway.validation.webhook.enabled=true recreates it; check: kubectl get "
                f"validatingwebhookconfiguration {config}",
            )
        )
    if state.secret_missing:
        out.append(
            _finding(
                Severity.CRITICAL,
                "webhook-secret-missing",
                f"{where}: secret {WEBHOOK_SECRET_NAME} not found in namespace {ns}: gloo has no certificate "
                "to serve the webhook with",
                f"certgen creates it: helm upgrade runs the gateway-certgen hook Job; check it: kubectl -n "
                f"{ns} get jobs -l gloo={WEBHOOK_CERTGEN_JOB}",
            )
        )
    elif state.secret_error is not None:
        out.append(
            _finding(
                Severity.INFO if state.secret_forbidden else Severity.WARNING,
                "webhook-secret-unreadable",
                f"{where}: {one_line(state.secret_error, 200)}",
                f"inspect it: kubectl -n {ns} describe secret {WEBHOOK_SECRET_NAME} (ca.crt and tls.crt); "
                f"reading it needs get on secrets/{WEBHOOK_SECRET_NAME}",
            )
        )
    if state.served_error is not None:
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-not-served",
                f"{where}: no certificate from gloo's {WEBHOOK_PORT}"
                + (f" (pod {state.served_pod})" if state.served_pod else "")
                + f": {one_line(state.served_error, 200)}",
                f"try the handshake: kubectl -n {ns} port-forward deploy/gloo {WEBHOOK_PORT} & openssl "
                f"s_client -connect 127.0.0.1:{WEBHOOK_PORT} -servername gloo.{ns}.svc </dev/null",
            )
        )
    return out


def _expiry(cert: CertInfo, what: str, closed: bool, hint: str, ctx: Context) -> Finding | None:
    """``webhook-cert-expiring`` (the mTLS leaf's thresholds) or ``webhook-cert-expired`` (its cost)."""
    severity = expiry_severity(cert, ctx.now, ctx.policy)
    if severity is None:
        return None
    left = cert.seconds_left(ctx.now)
    if left < 0:
        return _finding(
            _broken(closed),
            "webhook-cert-expired",
            f"{what} expired {human_duration(-left)} ago (serial {cert.short_serial}): the API server "
            f"says 'x509: certificate has expired'; {_cost(closed)}",
            hint,
            cert,
        )
    warn, critical = ctx.policy.limits(cert)
    limit = critical if severity is Severity.CRITICAL else warn
    return _finding(
        severity,
        "webhook-cert-expiring",
        f"{what} expires in {human_time_left(left)} (under {human_duration(limit)}; serial "
        f"{cert.short_serial})",
        f"renew it before it expires: {hint}",
        cert,
    )


def _same_bundle(entries: Sequence[WebhookEntry]) -> list[list[tuple[int, WebhookEntry]]]:
    """The webhooks (with their index) grouped by identical caBundle: Gloo's two webhooks share one, so
    one finding names both."""
    groups: dict[tuple[object, ...], list[tuple[int, WebhookEntry]]] = {}
    for index, entry in enumerate(entries):
        groups.setdefault((bundle_key(entry.ca_bundle), entry.ca_bundle_error), []).append((index, entry))
    return list(groups.values())


def _patch_hint(indices: Sequence[int], ns: str) -> str:
    config = webhook_config_name(ns)
    ca = f"$(kubectl -n {ns} get secret {WEBHOOK_SECRET_NAME} -o jsonpath='{{.data.ca\\.crt}}')"
    ops = ",".join(
        f'{{"op":"replace","path":"/webhooks/{index}/clientConfig/caBundle","value":"\'{ca}\'"}}'
        for index in indices
    )
    return (
        "certgen patches it when it runs (helm upgrade runs the gateway-certgen hook Job); or copy the "
        f"secret's CA in by hand: kubectl patch validatingwebhookconfiguration {config} --type=json -p "
        f"'[{ops}]'"
    )


def _bundle_findings(
    group: list[tuple[int, WebhookEntry]], state: WebhookState, cert: CertInfo | None, where: str, ns: str
) -> list[Finding]:
    """``cabundle-empty``, ``cabundle-untrusted`` (does not verify the served cert), ``cabundle-stale``,
    once for the webhooks of ``group`` (one caBundle): at the cost of the strictest failure policy."""
    entry = group[0][1]
    names = ", ".join(item.name for _, item in group)
    what = f"{where}: {plural(len(group), 'webhook')} {names}"
    closed = any(item.fails_closed for _, item in group)
    cost = _cost(closed)
    hint = _patch_hint([index for index, _ in group], ns)
    if entry.ca_bundle_error is not None:
        return [
            _finding(
                _broken(closed),
                "cabundle-unreadable",
                f"{what}: caBundle {one_line(entry.ca_bundle_error, 120)}; {cost}",
                hint,
            )
        ]
    if not entry.ca_bundle.cas:
        return [
            _finding(
                _broken(closed),
                "cabundle-empty",
                f"{what}: caBundle is empty: the API server cannot verify gloo's certificate "
                f"('x509: certificate signed by unknown authority'); {cost}",
                hint,
            )
        ]
    out: list[Finding] = []
    if cert is not None and verifies(entry.ca_bundle, cert) is False:
        out.append(
            _finding(
                _broken(closed),
                "cabundle-untrusted",
                f"{what}: caBundle ({_cas(entry.ca_bundle)}) does not verify the certificate gloo serves "
                f"(serial {cert.short_serial}, issuer {one_line(cert.issuer or '?', 80)}): the API server "
                f"says 'x509: certificate signed by unknown authority'; {cost}",
                hint,
                cert,
            )
        )
    secret = state.secret_bundle
    if secret is not None and matches_the_secret(entry.ca_bundle, state) is False:
        out.append(
            _finding(
                Severity.WARNING,
                "cabundle-stale",
                f"{what}: caBundle ({_cas(entry.ca_bundle)}) differs from ca.crt of {WEBHOOK_SECRET_NAME} "
                f"({_cas(secret)}): certgen did not patch it after the secret changed",
                hint,
            )
        )
    return out


def _cas(bundle: TrustBundle) -> str:
    serials = ", ".join(ca.short_serial for ca in bundle.cas[:3])
    more = f" and {len(bundle.cas) - 3} more" if len(bundle.cas) > 3 else ""
    return f"CA serial {serials}{more}"


def _san_findings(state: WebhookState, cert: CertInfo, where: str, closed: bool, ns: str) -> list[Finding]:
    """``webhook-sans-missing``: the certificate lacks the service name the API server dials."""
    entries = state.config.webhooks if state.config is not None else ()
    hosts = list(dict.fromkeys(host for entry in entries if (host := entry.service_host) is not None))
    hosts = hosts or [f"gloo.{ns}.svc"]
    names = [san.removeprefix("DNS:") for san in cert.sans]
    missing = [host for host in hosts if not any(_names_host(name, host) for name in names)]
    if not missing:
        return []
    sans = ", ".join(cert.sans[:4]) or "none"
    return [
        _finding(
            _broken(closed),
            "webhook-sans-missing",
            f"{where}: certificate serial {cert.short_serial} is valid for {one_line(sans, 160)}, not "
            f"{', '.join(missing)}, the name the API server dials: 'x509: certificate is valid for …, "
            f"not {missing[0]}'; {_cost(closed)}",
            f"a certificate reused from an older install: delete it and let certgen make one for the "
            f"service: kubectl -n {ns} delete secret {WEBHOOK_SECRET_NAME}, then helm upgrade (the "
            f"gateway-certgen hook Job), then kubectl -n {ns} rollout restart deploy/gloo",
            cert,
        )
    ]


def _names_host(name: str, host: str) -> bool:
    """Whether DNS SAN ``name`` is valid for ``host`` as the API server's TLS client (Go's crypto/x509)
    matches: case-insensitively, a leading ``*`` label standing for exactly one label."""
    pattern, wanted = name.lower().rstrip(".").split("."), host.lower().rstrip(".").split(".")
    if len(pattern) != len(wanted):
        return False
    return all(p == w or (i == 0 and p == "*") for i, (p, w) in enumerate(zip(pattern, wanted, strict=True)))


def _job_findings(state: WebhookState, where: str, ns: str, ctx: Context) -> list[Finding]:
    """``webhook-certgen-failed`` (the newest Job failed) and ``webhook-certgen-every-sync``."""
    out: list[Finding] = []
    jobs = sorted(state.jobs, key=lambda job: (job.started_at or datetime.min.replace(tzinfo=UTC), job.name))
    if jobs and jobs[-1].failed:
        name = jobs[-1].name
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-certgen-failed",
                f"{where}: certgen Job {name} failed: {WEBHOOK_SECRET_NAME} and the caBundle were not "
                "renewed",
                f"see why: kubectl -n {ns} logs job/{name}; kubectl -n {ns} describe job {name}",
            )
        )
    recent = [
        job for job in jobs if job.started_at is not None and ctx.now - job.started_at <= EVERY_SYNC_WINDOW
    ]
    if len(recent) >= EVERY_SYNC_JOBS and _ca_changing(state, recent, ctx):
        out.append(
            _finding(
                Severity.WARNING,
                "webhook-certgen-every-sync",
                f"{where}: {len(recent)} {WEBHOOK_CERTGEN_JOB} Jobs in the last hour, each making a new CA: "
                "something re-runs certgen on every sync (ArgoCD runs Helm hooks on every sync); each run "
                "replaces the webhook's CA while the caBundle and gloo catch up",
                "set gateway.certGenJob.forceRotation=false so a re-run keeps the still-valid certificate "
                "(certgen is then a no-op until it nears expiry); ArgoCD runs the pre-install/pre-upgrade "
                "hook Job gateway-certgen on every sync, whatever gateway.certGenJob.runOnUpdate says",
            )
        )
    return out


def _ca_changing(state: WebhookState, recent: Sequence[JobState], ctx: Context) -> bool:
    """The CA was renewed by these runs: the secret's newest CA is younger than the first of them, or it
    differs from the one the previous poll read."""
    cas = state.secret_bundle.cas if state.secret_bundle is not None else ()
    first = min(job.started_at for job in recent if job.started_at is not None)
    if cas and max(ca.not_before for ca in cas) >= first - timedelta(minutes=1):
        return True
    previous = ctx.previous.webhooks if ctx.previous is not None else ()
    before = next((w for w in previous if w.context == state.context), None)
    if before is None or before.secret_bundle is None or state.secret_bundle is None:
        return False
    return bundle_key(before.secret_bundle) != bundle_key(state.secret_bundle)
