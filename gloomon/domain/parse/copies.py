"""How a secret that is a copy of another cluster's (split planes) is made, from its metadata.

Common copiers leave their mark on the copies they write: kubed / config-syncer (the
``kubed.appscode.com/origin`` annotation, ``origin.*`` labels), emberstack reflector
(``reflector.v1.k8s.emberstack.com/reflects``), external-secrets (an ``ExternalSecret`` owner,
``reconcile.external-secrets.io/*``), Argo CD (``argocd.argoproj.io/*``) and anything else that says
``copied-from`` / ``synced-from`` / ``replicated-from`` in an annotation. The answer names the copier
(and the origin when it says one) in a few words; the metadata is remote text, so it is clipped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from gloomon.domain.text import one_line

_GENERIC = ("copied-from", "copied-by", "synced-from", "sync-from", "replicated-from", "mirrored-from")


def copy_mechanism(
    annotations: Mapping[str, object], labels: Mapping[str, object], owner_kinds: Iterable[str] = ()
) -> str | None:
    """E.g. ``"kubed (config-syncer), from east/gloo-system"``; None when nothing says it is a copy."""
    notes = {str(k): one_line(str(v), 80) for k, v in annotations.items()}
    marks = {str(k): one_line(str(v), 80) for k, v in labels.items()}
    kinds = set(owner_kinds)
    kubed = {**notes, **marks}  # kubed sets origin.* as labels, origin (JSON) as an annotation
    if any(k.startswith("kubed.appscode.com/origin") for k in kubed):
        origin = "/".join(
            v
            for v in (
                kubed.get("kubed.appscode.com/origin.cluster"),
                kubed.get("kubed.appscode.com/origin.namespace"),
            )
            if v
        )
        return "kubed (config-syncer)" + (f", from {origin}" if origin else "")
    reflects = notes.get("reflector.v1.k8s.emberstack.com/reflects")
    if reflects:
        return f"reflector, from {reflects}"
    if "ExternalSecret" in kinds or any(k.startswith("reconcile.external-secrets.io/") for k in notes):
        return "external-secrets (an ExternalSecret)"
    for key, value in notes.items():
        if key.rsplit("/", 1)[-1] in _GENERIC:
            return f"{one_line(key, 60)}: {value}" if value else one_line(key, 60)
    if any(k.startswith("argocd.argoproj.io/") for k in (*notes, *marks)):
        return "Argo CD"
    manager = marks.get("app.kubernetes.io/managed-by")
    if manager and manager.lower() != "helm":
        return f"managed by {manager}"
    return None


def sync_rule(annotations: Mapping[str, object]) -> str | None:
    """How copies of a source secret are made, from the source's own annotations: kubed's
    ``kubed.appscode.com/sync`` (a namespace label selector; empty: every namespace), reflector's
    ``reflection-auto-enabled`` / ``reflection-allowed``. None when the source names no copier."""
    notes = {str(k): one_line(str(v), 80) for k, v in annotations.items()}
    if "kubed.appscode.com/sync" in notes:
        rule = notes["kubed.appscode.com/sync"]
        return "kubed (config-syncer), " + (
            f"into namespaces labelled {rule}" if rule else "into every namespace"
        )
    prefix = "reflector.v1.k8s.emberstack.com/"
    if notes.get(prefix + "reflection-auto-enabled", "").lower() == "true":
        return "reflector, auto-enabled on the source"
    if notes.get(prefix + "reflection-allowed", "").lower() == "true":
        return "reflector, allowed on the source"
    return None


def copy_hint(mechanism: str | None, source: str = "the management cluster") -> str:
    """What to do about a copy made by ``mechanism`` that differs from its ``source`` (where it is
    copied from, in words)."""
    if mechanism is None:
        return f"nothing on the copy says how it is made: copy it again from {source}"
    if mechanism.startswith("kubed"):
        return (
            f"it is copied by {mechanism}: check kubed's logs, its sync annotation on the source and the "
            "copy's namespace's labels (kubectl get ns --show-labels)"
        )
    if mechanism.startswith("reflector"):
        return f"it is copied by {mechanism}: check the reflector's logs (reflection-allowed on the source)"
    if mechanism.startswith("external-secrets"):
        return (
            f"it is copied by {mechanism}: check its status and refreshInterval "
            "(kubectl get externalsecret -A) and force a sync (annotate force-sync=$(date +%s))"
        )
    return f"it is copied by {mechanism}: make that copy again"
