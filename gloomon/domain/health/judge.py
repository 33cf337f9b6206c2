"""All judgement: the findings (severity, stable code, pod, message, hint) of a snapshot.

Codes are stable kebab-case strings the report, the JSON schema and tests rely on. Hints are concrete:
a kubectl command or the Helm value to change. The policy and what every check shares live in
:mod:`gloomon.domain.health.policy` (re-exported here); per-target findings in
:mod:`gloomon.domain.health.targets`, fleet-wide and log findings in :mod:`gloomon.domain.health.fleet`,
CronJob findings in :mod:`gloomon.domain.health.cron`, certgen Jobs' in
:mod:`gloomon.domain.health.certgen`, container status in :mod:`gloomon.domain.health.pods`, the
validation webhook's in
:mod:`gloomon.domain.health.webhook`; this module judges the secret and joins them all
in :func:`judge`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from gloomon.domain.compare.planes import gloo_contexts
from gloomon.domain.health import certgen as health_certgen
from gloomon.domain.health import copies as health_copies
from gloomon.domain.health import cron as health_cron
from gloomon.domain.health import fleet as health_fleet
from gloomon.domain.health import pods as health_pods
from gloomon.domain.health import release as health_release
from gloomon.domain.health import targets as health_targets
from gloomon.domain.health import webhook as health_webhook
from gloomon.domain.health.policy import (
    CRONJOB,
    RENEW_WINDOW_SECONDS,
    Context,
    HealthPolicy,
    Threshold,
    cert_expiry_finding,
    expiry_severity,
    not_yet_valid_finding,
    pod_selector,
    sort_findings,
)
from gloomon.domain.model import (
    MTLS_HINT,
    MTLS_WORDS,
    Component,
    ContextState,
    CronJobState,
    Finding,
    FleetSnapshot,
    GlooRelease,
    LogEvent,
    MtlsState,
    Phase,
    Plane,
    PodInfo,
    SecretState,
    SecretStatus,
    Severity,
    TargetStatus,
    WebhookState,
)
from gloomon.domain.text import one_line

__all__ = [
    "CRONJOB",
    "RENEW_WINDOW_SECONDS",
    "Context",
    "HealthPolicy",
    "Threshold",
    "cert_expiry_finding",
    "expiry_severity",
    "judge",
    "mtls_state",
    "sort_findings",
]


def judge(
    *,
    now: datetime,
    namespace: str,
    targets: Sequence[TargetStatus],
    secrets: Sequence[SecretStatus],
    cronjob: CronJobState | None,
    policy: HealthPolicy,
    previous: FleetSnapshot | None = None,
    log_events: Sequence[LogEvent] = (),
    missing_components: Sequence[Component] = (),
    errors: Sequence[str] = (),
    grace: float,
    mtls: MtlsState,
    installs: frozenset[tuple[str, str]],
    release: GlooRelease | None = None,
    webhooks: Sequence[WebhookState] = (),
    pods: Sequence[PodInfo] = (),
    contexts: Sequence[str] = (),
    context_states: Sequence[ContextState] = (),
    cronjobs: Sequence[CronJobState] = (),
) -> tuple[Finding, ...]:
    """Every finding of one snapshot, in their final order: most severe first, then by component and
    pod. ``grace`` (:meth:`HealthPolicy.grace_for`), ``mtls`` (:func:`mtls_state`) and ``installs``
    (:func:`gloo_namespaces`: another installation's secret is no copy) are derived once per snapshot
    by ``build_snapshot``; ``cronjobs``: every management context's CronJob (else ``cronjob`` alone),
    each judged in its context."""
    ctx = Context(now, namespace, policy, cronjob, previous, grace)
    planes: Mapping[str, Plane] = {state.name: state.plane for state in context_states}
    many = len(contexts) > 1
    found: list[Finding] = []

    def add(items: Iterable[Finding], context: str | None) -> None:
        found.extend(in_context(item, context, many, contexts) for item in items)

    certgens = {cron.context: cron for cron in cronjobs}
    for secret in secrets:
        copy = health_copies.is_copy(secret, planes, namespace, installs)
        about = secret.state.namespace if copy else None
        own = certgens.get(secret.state.context)  # its hints rerun its own context's certgen
        items = _secret_findings(secret, replace(ctx, cronjob=own) if own else ctx, mtls, copy, many)
        add((replace(item, namespace=about) for item in items), secret.state.context)
    add(health_copies.copy_findings(secrets, planes, ctx, targets, installs), None)
    management = next((c for c in contexts if planes.get(c, Plane.MANAGEMENT) is Plane.MANAGEMENT), None)
    for cron in cronjobs or ([cronjob] if cronjob is not None else []):
        context = cron.context if cron.context in contexts else management
        judged = replace(ctx, cronjob=cron)
        mine = [s for s in secrets if s.state.context == context] or list(secrets)
        clients = [t for t in targets if t.ref.context == context] or list(targets)
        add(health_cron.cronjob_findings(mine, clients, judged), context)
        add(health_certgen.certgen_findings(_pods_of(context, pods, context_states), judged), context)
    for context in dict.fromkeys(t.ref.context for t in targets):  # each against its own certgen's pace
        own = certgens.get(context)
        in_it = [t for t in targets if t.ref.context == context]
        add(health_certgen.pickup_findings(in_it, replace(ctx, cronjob=own) if own else ctx), context)
    where = _pod_contexts(targets, context_states)
    for item in health_pods.pod_findings(pods, ctx):
        add([item], where.get(item.pod or ""))
    gloos = [t for t in targets if t.ref.component is Component.GLOO]
    for target in targets:
        talks_to = (
            gloo_contexts(target, gloos, planes, namespace)
            if target.ref.component is not Component.GLOO
            else ()
        )
        add(health_targets.target_findings(target, secrets, ctx, talks_to), target.ref.context)
    add(health_fleet.fleet_findings(targets, ctx, planes), None)
    add(health_fleet.unreachable_components(targets, ctx), None)
    homes: dict[tuple[str | None, str], str] = {(t.ref.context, t.ref.pod): t.ref.namespace for t in targets}
    for item in health_fleet.log_findings(log_events, ctx, homes):
        add([item], where.get(item.pod or ""))
    add(health_release.release_findings(release, ctx), None)
    add(health_webhook.webhook_findings(webhooks, ctx), None)
    states = list(context_states) or [ContextState(contexts[0] if contexts else "", missing=())]
    if not context_states:  # the caller gave the missing components without their contexts
        states = [replace(states[0], missing=tuple(missing_components))]
    for state in states:
        context = state.name if context_states else (contexts[0] if len(contexts) == 1 else None)
        theirs = _pods_of(state.name, pods, context_states)
        for component in state.missing:
            add(
                [
                    Finding(
                        Severity.WARNING,
                        "component-missing",
                        component,
                        None,
                        f"{component}: deployment has no ready pod"
                        + (health_pods.no_ready_pod_words(component, theirs) if pods else ""),
                        f"kubectl{_context_flag(context, many)} get deploy -A -l gloo={component}; "
                        f"kubectl{_context_flag(context, many)} get pods -A -l {pod_selector(component)}"
                        if component is Component.KUBE_GATEWAY
                        else f"kubectl{_context_flag(context, many)} -n {namespace} get deploy,pods "
                        f"-l gloo={component}",
                    )
                ],
                context,
            )
    for error in errors:
        context = _error_context(error, contexts) if many else None
        item = Finding(
            Severity.WARNING,
            "source-error",
            None,
            None,
            one_line(error, 300),
            "check the kubeconfig/context and that the API server is reachable: "
            f"kubectl{_context_flag(context, many)} get ns",
        )
        add([item], context if many else (contexts[0] if contexts else None))  # its line names it
    return sort_findings(_dedupe(found))


#: a kubectl command of a hint that does not name its context yet (hints put ``--context`` first)
_NO_CONTEXT = re.compile(r"\bkubectl (?!--context )")


def in_context(item: Finding, context: str | None, many: bool, watched: Sequence[str]) -> Finding:
    """``item`` with its context (the one the check set, else ``context``; only a watched one:
    ``--target`` findings have none); with several contexts watched its message starts with it and each
    of its kubectl commands names the cluster it runs in: the one the check named (another cluster's
    gloo, the source of a copy), else this one."""
    context = item.context or context
    if context not in watched:
        context = None
    message, hint = item.message, item.hint
    if many and context is not None and not message.startswith(f"{context}: "):
        message = f"{context}: {message}"
    if many and context is not None:
        hint = _NO_CONTEXT.sub(f"kubectl --context {context} ", hint)
    if context == item.context and message == item.message and hint == item.hint:
        return item
    return replace(item, context=context, message=message, hint=hint)


def _pods_of(context: str | None, pods: Sequence[PodInfo], states: Sequence[ContextState]) -> list[PodInfo]:
    """The pods listed in ``context`` (certgen Jobs of two clusters' CronJobs share their names); all of
    them when the contexts' pod lists are not known."""
    state = next((s for s in states if s.name == context), None)
    return [p for p in pods if p.name in state.pods] if state is not None else list(pods)


def _pod_contexts(targets: Sequence[TargetStatus], states: Sequence[ContextState]) -> dict[str, str]:
    """pod → context, for pods whose name is in one context only (log events and pod states carry no
    context)."""
    seen: dict[str, set[str]] = {}
    for target in targets:
        seen.setdefault(target.ref.pod, set()).add(target.ref.context)
    for state in states:
        for pod in state.pods:
            seen.setdefault(pod, set()).add(state.name)
    return {pod: next(iter(ctxs)) for pod, ctxs in seen.items() if len(ctxs) == 1}


def _error_context(error: str, contexts: Sequence[str]) -> str | None:
    """The context a source error line names first (``east: cannot reach …``)."""
    return next((c for c in contexts if error.startswith(f"{c}: ")), None)


def _context_flag(context: str | None, many: bool) -> str:
    return f" --context {context}" if many and context else ""


def _dedupe(found: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, str | None, str, str | None]] = set()
    out: list[Finding] = []
    for item in found:
        key = (item.code, item.component, item.pod, item.message, item.context)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def mtls_state(targets: Sequence[TargetStatus], secrets: Sequence[SecretStatus]) -> MtlsState:
    """Not enabled when the API says the secret is missing and no pod runs an sds sidecar; not observed
    when no secret was read at all (``--target``); else enabled."""
    if any(t.ref.pod_info is not None and "sds" in t.ref.pod_info.containers for t in targets):
        return MtlsState.ENABLED
    if not secrets:
        return MtlsState.NOT_OBSERVED
    if all(secret.state.missing for secret in secrets):
        return MtlsState.NOT_ENABLED
    return MtlsState.ENABLED


def _secret_findings(
    secret: SecretStatus, ctx: Context, mtls: MtlsState, copy: bool, many: bool
) -> list[Finding]:
    state = secret.state
    ns = state.namespace or ctx.namespace
    # with several contexts the message starts with the context (in_context): not named twice
    name = state.name if state.namespace == ctx.namespace else f"{state.namespace}/{state.name}"
    where = f"secret {name}" + (f" ({state.context})" if state.context and not many else "")
    if state.missing and copy:
        return []  # a copy (data-plane context, other namespace): secret-copy-missing speaks for it
    if state.forbidden:
        return [
            Finding(
                Severity.WARNING,
                "secret-forbidden",
                None,
                None,
                f"{where}: reading it is forbidden (403); "
                + (
                    "phases and lag compare with its content as last read"
                    if state.bundle is not None or state.leaf is not None
                    else "phases and lag cannot be compared with it"
                ),
                f"kubectl auth can-i get secrets -n {ns}; "
                f"grant get on secrets/{state.name} with a Role and RoleBinding",
            )
        ]
    if state.missing and mtls is MtlsState.NOT_ENABLED:
        return [
            Finding(
                Severity.CRITICAL,
                "secret-missing",
                None,
                None,
                f"{MTLS_WORDS[MtlsState.NOT_ENABLED]} (namespace {ns}"
                + (f", context {state.context})" if state.context else ")"),
                MTLS_HINT,
            )
        ]
    if state.missing:
        return [
            Finding(
                Severity.CRITICAL,
                "secret-missing",
                None,
                None,
                f"{where} not found in namespace {ns}: pods with mTLS cannot get certificates",
                f"create it by running certgen "
                f"(global.glooMtls.enabled=true runs the gloo-mtls-certgen Job): "
                f"{ctx.rerun_hint()}",
            )
        ]
    if state.error is not None:
        return [
            Finding(
                Severity.WARNING,
                "secret-unreadable",
                None,
                None,
                f"{where}: {one_line(state.error, 200)}",
                f"inspect it: kubectl -n {ns} describe secret {state.name} "
                f"(its keys and sizes: it needs ca.crt, tls.crt and tls.key)" + _no_ca_hint(state),
            )
        ]
    out: list[Finding] = []
    if state.leaf is not None:
        item = cert_expiry_finding(state.leaf, f"{where}: leaf", "leaf", None, None, ctx)
        if item is not None:
            out.append(item)
    for index, ca in enumerate(state.bundle.cas if state.bundle else ()):
        item = cert_expiry_finding(ca, f"{where}: CA #{index + 1}", "ca", None, None, ctx)
        if item is not None:
            out.append(item)
    if state.leaf is not None:
        early = not_yet_valid_finding(state.leaf, f"{where}: leaf", None, None, ctx)
        if early is not None:
            out.append(early)
    verdict = secret.verdict
    if verdict.phase is Phase.BROKEN and state.leaf is not None and state.leaf.seconds_left(ctx.now) >= 0:
        out.append(
            Finding(
                Severity.CRITICAL,
                "leaf-untrusted",
                None,
                None,
                f"{where}: {verdict.reason}",
                f"tls.crt is not signed by any CA in ca.crt; {ctx.rerun_hint()}",
            )
        )
    if verdict.phase is Phase.STALLED and not copy:  # a copy's stall: its source's, or its own lag
        out.append(
            Finding(
                Severity.WARNING,
                "rotation-stalled",
                None,
                None,
                f"{where}: {verdict.reason}",
                f"a certgen run died mid-rotation; run it again to finish: {ctx.rerun_hint()}; keep "
                f"activeDeadlineSeconds ≥ 2×rotationDuration",
            )
        )
    return out


def _no_ca_hint(state: SecretState) -> str:
    """What makes a secret without ``ca.crt``: ``kubectl create secret tls`` writes only the pair.
    Only for a secret this poll read: an unobserved one's error is why it could not be read, and its
    keys are those of the content last read."""
    if not state.observed or "ca.crt" not in state.absent_keys:
        return ""
    return (
        "; a secret made with kubectl create secret tls has no ca.crt: add the CA that signed tls.crt "
        "as ca.crt, or let certgen rewrite the whole secret"
    )
