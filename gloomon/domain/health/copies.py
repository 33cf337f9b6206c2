"""Copies of ``gloo-mtls-certs`` against the secret certgen writes (certgen runs only where gloo runs,
and writes only its release namespace's secret).

Two kinds of copies: a **data-plane** context's (split planes), whose source is the management context's
secret; and a **namespace** copy in the same context (a kube-gateway proxy runs in its Gateway's
namespace, a classic proxy may be moved by ``gatewayProxies.<name>.namespace``: each pod's sds serves
the secret of its own namespace), whose source is that context's release-namespace secret.

A copy that is missing, differs (stale: not yet copied since the source's last write) or comes from a
different CA is a finding of its own, with the phase of each, the lag measured from the source's write,
the pods that hold it, and a hint naming how the copy is made (:mod:`gloomon.domain.parse.copies`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gloomon.domain.compare.sync import bundle_key, cert_key, copy_behind_since
from gloomon.domain.health.policy import Context
from gloomon.domain.model import (
    Component,
    Finding,
    Phase,
    Plane,
    SecretStatus,
    Severity,
    Subjects,
    TargetStatus,
    copy_source,
)
from gloomon.domain.parse.copies import GATEWAY_DEPLOYER, copy_hint, is_gateway_deployer
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.x509 import find_signer


def copy_findings(
    secrets: Sequence[SecretStatus],
    planes: Mapping[str, Plane],
    ctx: Context,
    targets: Sequence[TargetStatus],
    installs: frozenset[tuple[str, str]],
) -> list[Finding]:
    """``secret-copy-missing`` / ``secret-copy-stale`` for each copy: each data-plane context's
    release-namespace secret, and each secret of another namespace than the release's. ``installs``:
    the namespaces running a gloo (:func:`gloo_namespaces`), whose secret is no copy."""
    sources = [
        s
        for s in secrets
        if planes.get(s.state.context) is Plane.MANAGEMENT
        and s.state.namespace == ctx.namespace
        and _has_content(s)
    ]
    out: list[Finding] = []
    for copy in secrets:
        source: SecretStatus | None
        if copy.state.namespace != ctx.namespace:
            source = copy_source(secrets, copy, ctx.namespace, installs)
            source = source if source is not None and _has_content(source) else None
        elif planes.get(copy.state.context) is Plane.DATA and sources:
            source = _source_of(copy, sources)
        else:
            source = None
        if source is None:
            continue
        holders = [
            t
            for t in targets
            if t.ref.context == copy.state.context and t.secret_namespace == copy.state.namespace
        ]
        # a kube-gateway's copy where gloo runs: gloo's Gateway deployer renders it (even once deleted)
        rendered = (
            bool(holders)
            and all(t.ref.component is Component.KUBE_GATEWAY for t in holders)
            and planes.get(copy.state.context, Plane.MANAGEMENT) is Plane.MANAGEMENT
        )
        gloo_down = any(
            t.ref.component is Component.GLOO and t.xds is not None and not t.xds.healthy
            for t in targets
            if t.ref.context == copy.state.context
        )
        item = _copy_finding(
            copy, source, ctx, tuple(t.ref.pod for t in holders), rendered=rendered, gloo_down=gloo_down
        )
        if item is not None:
            out.append(item)
    return out


def is_copy(
    secret: SecretStatus,
    planes: Mapping[str, Plane],
    release_namespace: str,
    installs: frozenset[tuple[str, str]] = frozenset(),
) -> bool:
    """A data-plane context's secret, or one in another namespace than the release's that runs no gloo
    of its own (``installs``: :func:`gloo_namespaces`; another installation's secret is its source)."""
    state = secret.state
    if state.namespace != release_namespace:
        return (state.context, state.namespace) not in installs
    return planes.get(state.context) is Plane.DATA


def _has_content(secret: SecretStatus) -> bool:
    return secret.state.leaf is not None and bool(secret.state.bundle)


def _content(secret: SecretStatus) -> tuple[object, ...]:
    state = secret.state
    return (bundle_key(state.bundle) if state.bundle else (), cert_key(state.leaf) if state.leaf else None)


def _source_of(copy: SecretStatus, sources: Sequence[SecretStatus]) -> SecretStatus:
    """The management secret it copies: the one it equals, else one sharing a CA, else the first."""
    same = next((s for s in sources if _content(s) == _content(copy)), None)
    if same is not None:
        return same
    mine = set(bundle_key(copy.state.bundle)) if copy.state.bundle else set()
    return next((s for s in sources if s.state.bundle and mine & set(bundle_key(s.state.bundle))), sources[0])


def _where(secret: SecretStatus, same_context: bool) -> str:
    """``namespace apps`` within one context (the finding's context names it), else ``context/ns``."""
    state = secret.state
    return f"namespace {state.namespace}" if same_context else f"{state.context}/{state.namespace or '?'}"


def _held_by(pods: tuple[str, ...]) -> str:
    if not pods:
        return ""
    names = ", ".join(pods[:3]) + (f" and {len(pods) - 3} more" if len(pods) > 3 else "")
    return f"; held by {names}"


def _copy_finding(
    copy: SecretStatus,
    source: SecretStatus,
    ctx: Context,
    pods: tuple[str, ...],
    *,
    rendered: bool = False,
    gloo_down: bool = False,
) -> Finding | None:
    """``rendered``: the copy is a kube-gateway's where gloo runs (gloo's Gateway deployer makes it);
    ``gloo_down``: gloo's process is down in the copy's context (``gloo-process-down``)."""
    state = copy.state
    src = source.state
    same_context = src.context == state.context
    origin = _where(source, same_context)
    # how it is made: its own marks, else a kube-gateway's is gloo's, else the source's sync rule
    deployer = f"{GATEWAY_DEPLOYER}, for the kube-gateway's Gateway" if rendered and same_context else None
    mechanism = state.copied_by or deployer or (src.syncs_by if same_context else None)
    by_gloo = is_gateway_deployer(mechanism)
    hint = copy_hint(mechanism, origin if same_context else "the management cluster", src.namespace)
    # one cause gloomon sees: gloo's process, which renders the copy, is down
    cause = (
        "; gloo's process is down (gloo-process-down) and it renders this copy"
        if by_gloo and gloo_down
        else ""
    )
    if state.missing:
        who = ", ".join(pods[:3]) + (f" and {len(pods) - 3} more" if len(pods) > 3 else "")
        if same_context:
            what = f"no copy of {state.name} in namespace {state.namespace}"
            why = f"only, and a pod's sds serves its own namespace's secret: {who or 'pods there'}"
            source_flags = target_flags = ""
        else:
            what = (
                f"no copy of {state.name} in data-plane context {state.context} (namespace {state.namespace})"
            )
            why = f"only: {who or 'pods here'}"
            source_flags, target_flags = f" --context {src.context}", f" --context {state.context}"
        return Finding(
            Severity.CRITICAL,
            "secret-copy-missing",
            None,
            None,
            f"{what}; certgen writes it in {origin} {why} cannot get certificates{cause}",
            f"{hint}; gloo renders it again when it starts (kubectl -n {src.namespace} rollout restart "
            "deploy/gloo)"
            if by_gloo
            else f"{hint}; e.g. kubectl{source_flags} -n {src.namespace} get secret {state.name} -o yaml | "
            f"grep -vE '^  (uid|resourceVersion|creationTimestamp|namespace):' | kubectl{target_flags} -n "
            f"{state.namespace} apply -f - (piped: the key is never printed)",
            Subjects(pods=pods),
            context=state.context,
            namespace=state.namespace,
        )
    if state.forbidden or state.error is not None or state.leaf is None or state.bundle is None:
        return None  # secret-forbidden / secret-unreadable speak for it
    if _content(copy) == _content(source):
        return None
    assert src.leaf is not None and src.bundle is not None
    foreign = find_signer(src.leaf, state.bundle) is None and find_signer(state.leaf, src.bundle) is None
    since = copy_behind_since(copy, source)
    lag = max((ctx.now - since).total_seconds(), 0.0) if since is not None else None
    lag_words = f"behind it for {human_duration(lag)}" if lag is not None else "lag unknown"
    phases = f"source {source.verdict.phase}, copy {copy.verdict.phase}"
    # mid-rotation, a copy trailing certgen by more than rotationDuration still lacks the new CA when
    # certgen's next write rotates gloo's leaf: its pods then stop trusting gloo (#8444's race, for copies)
    trailing = (
        lag is not None
        and lag > ctx.rotation_duration
        and source.verdict.phase in (Phase.CA_ADDED, Phase.LEAF_ROTATED)
    )
    if foreign:
        severity = Severity.CRITICAL
        what = "shares no CA with"
    elif lag is not None and lag <= ctx.grace and not trailing:
        severity = Severity.INFO
        what = "has not caught up yet with"
    elif trailing and lag is not None and lag <= ctx.grace:
        severity = Severity.WARNING
        what = f"has not caught up, past rotationDuration ({human_duration(ctx.rotation_duration)}), with"
    else:
        severity = Severity.WARNING
        what = "is stale: it differs from"
    how = f" ({'rendered' if by_gloo else 'copied'} by {mechanism})" if mechanism else ""
    here = "pods there" if same_context else "clients here"
    return Finding(
        severity,
        "secret-copy-stale",
        None,
        None,
        f"copy of {state.name} in {_where(copy, same_context)}{how} {what} the source in {origin}, "
        f"{lag_words} ({phases}){_held_by(pods)}{cause}",
        hint
        + (
            f"; it is a whole rotation behind, or copied from elsewhere: {here} do not trust "
            "gloo's certificate until it is copied again"
            if foreign
            else f"; within {human_duration(ctx.grace)} of a rotation this is expected"
            if severity is Severity.INFO
            else "; certgen's next write rotates gloo's leaf while the copy lacks the new CA: make the "
            "copy follow within rotationDuration"
            if lag is not None and lag <= ctx.grace
            else f"; it is past the {human_duration(ctx.grace)} grace of a rotation"
        ),
        Subjects(pods=pods),
        context=state.context,
        namespace=state.namespace,
    )
