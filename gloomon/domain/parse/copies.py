"""How a secret that is a copy (of another cluster's, split planes; or of the release namespace's, in a
proxy's namespace) is made, from its metadata.

gloo itself renders a Kubernetes Gateway API proxy's copy: its Gateway deployer server-side applies the
gateway2 chart's ``gloo-mtls-certs`` into the Gateway's namespace (field manager ``solo.io/gloo-gateway``,
a controller ownerReference to the Gateway; solo-io/gloo ``projects/gateway2/deployer/deployer.go``) and
re-renders it on every write of the source (``controller.go``). Common copiers leave their mark on the
copies they write: kubed / config-syncer (the
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
#: gloo's Gateway deployer: its words, and its field manager (``wellknown.GatewayControllerName``)
GATEWAY_DEPLOYER = "gloo's Gateway deployer"
GATEWAY_DEPLOYER_MANAGER = "solo.io/gloo-gateway"


def copy_mechanism(
    annotations: Mapping[str, object],
    labels: Mapping[str, object],
    owners: Iterable[tuple[str, str]] = (),
    managers: Iterable[str] = (),
    namespace: str | None = None,
) -> str | None:
    """E.g. ``"kubed (config-syncer), from east/gloo-system"``, ``"gloo's Gateway deployer, for Gateway
    apps/http"`` (its owner); None when nothing says it is a copy. ``owners``: the (kind, name) of each
    ownerReference; ``managers``: each managedFields entry's manager; ``namespace``: the copy's."""
    notes = {str(k): one_line(str(v), 80) for k, v in annotations.items()}
    marks = {str(k): one_line(str(v), 80) for k, v in labels.items()}
    named = [(one_line(str(kind), 40), one_line(str(name), 60)) for kind, name in owners]
    kinds = {kind for kind, _ in named}
    gateways = [name for kind, name in named if kind == "Gateway"]
    if GATEWAY_DEPLOYER_MANAGER in {str(m) for m in managers} or gateways:
        where = f"{one_line(namespace, 60)}/" if namespace else ""
        return GATEWAY_DEPLOYER + (
            f", for Gateway {where}{gateways[0]}" if gateways else f", manager {GATEWAY_DEPLOYER_MANAGER}"
        )
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


def is_gateway_deployer(mechanism: str | None) -> bool:
    """Whether ``mechanism`` (:func:`copy_mechanism`'s words) is gloo's own Gateway deployer."""
    return mechanism is not None and mechanism.startswith(GATEWAY_DEPLOYER)


def copy_hint(
    mechanism: str | None, source: str = "the management cluster", gloo_namespace: str = "gloo-system"
) -> str:
    """What to do about a copy made by ``mechanism`` that differs from its ``source`` (where it is
    copied from, in words); ``gloo_namespace``: where gloo runs (its deployer renders such copies)."""
    if mechanism is None:
        return f"nothing on the copy says how it is made: copy it again from {source}"
    if is_gateway_deployer(mechanism):
        return (
            f"it is rendered by {mechanism}, in gloo's own process: gloo applies it again right after "
            f"every write of the secret in {source} (and when it is deleted), so check gloo's process "
            f"and logs (kubectl -n {gloo_namespace} logs deploy/gloo -c gloo); a copy that stays behind "
            "or missing means gloo is not reconciling that Gateway (gloo down, or the Gateway's "
            "GatewayClass is not gloo's)"
        )
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
