"""Split planes: the data-plane contexts' copies of ``gloo-mtls-certs`` against the management
context's secret, which certgen writes (certgen runs only where gloo runs).

A copy that is missing, differs (stale: not yet copied since certgen's last write) or comes from a
different CA is a finding of its own, with the phase of each, the lag measured from the source's write,
and a hint naming how the copy is made (:mod:`gloomon.domain.parse.copies`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gloomon.domain.compare.sync import bundle_key, cert_key
from gloomon.domain.health.policy import Context
from gloomon.domain.model import Finding, Plane, SecretStatus, Severity
from gloomon.domain.parse.copies import copy_hint
from gloomon.domain.parse.durations import human_duration
from gloomon.domain.parse.x509 import find_signer


def copy_findings(
    secrets: Sequence[SecretStatus], planes: Mapping[str, Plane], ctx: Context
) -> list[Finding]:
    """``secret-copy-missing`` / ``secret-copy-stale`` for each data-plane context's secret."""
    sources = [
        s
        for s in secrets
        if planes.get(s.state.context) is Plane.MANAGEMENT and s.state.leaf is not None and s.state.bundle
    ]
    if not sources:
        return []
    out: list[Finding] = []
    for copy in secrets:
        if planes.get(copy.state.context) is not Plane.DATA:
            continue
        source = _source_of(copy, sources)
        item = _copy_finding(copy, source, ctx)
        if item is not None:
            out.append(item)
    return out


def is_copy(secret: SecretStatus, planes: Mapping[str, Plane]) -> bool:
    return planes.get(secret.state.context) is Plane.DATA


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


def _where(secret: SecretStatus) -> str:
    state = secret.state
    return f"{state.context}/{state.namespace or '?'}"


def _copy_finding(copy: SecretStatus, source: SecretStatus, ctx: Context) -> Finding | None:
    state = copy.state
    origin = _where(source)
    if state.missing:
        return Finding(
            Severity.CRITICAL,
            "secret-copy-missing",
            None,
            None,
            f"no copy of {state.name} in data-plane context {state.context} (namespace "
            f"{state.namespace}); certgen writes it in {origin} only: pods here cannot get certificates",
            f"{copy_hint(state.copied_by)}; e.g. kubectl --context {source.state.context} -n "
            f"{source.state.namespace} get secret {state.name} -o yaml | grep -vE '^  (uid|resourceVersion|"
            f"creationTimestamp):' | kubectl --context {state.context} -n {state.namespace} apply -f - "
            f"(piped: the key is never printed)",
            context=state.context,
        )
    if state.forbidden or state.error is not None or state.leaf is None or state.bundle is None:
        return None  # secret-forbidden / secret-unreadable speak for it
    if _content(copy) == _content(source):
        return None
    src = source.state
    assert src.leaf is not None and src.bundle is not None
    foreign = find_signer(src.leaf, state.bundle) is None and find_signer(state.leaf, src.bundle) is None
    since = source.content_since or src.updated_at
    lag = max((ctx.now - since).total_seconds(), 0.0) if since is not None else None
    lag_words = f"{human_duration(lag)} after the source's last write" if lag is not None else "lag unknown"
    phases = f"source {source.verdict.phase}, copy {copy.verdict.phase}"
    if foreign:
        severity = Severity.CRITICAL
        what = "shares no CA with"
    elif lag is not None and lag <= ctx.grace:
        severity = Severity.INFO
        what = "has not caught up yet with"
    else:
        severity = Severity.WARNING
        what = "is stale: it differs from"
    how = f" (copied by {state.copied_by})" if state.copied_by else ""
    return Finding(
        severity,
        "secret-copy-stale",
        None,
        None,
        f"copy of {state.name} in {_where(copy)}{how} {what} the source in {origin}, {lag_words} ({phases})",
        copy_hint(state.copied_by)
        + (
            "; it is a whole rotation behind, or copied from another cluster: clients here do not trust "
            "gloo's certificate until it is copied again"
            if foreign
            else f"; within {human_duration(ctx.grace)} of a rotation this is expected"
        ),
        context=state.context,
    )
