"""Several contexts: which plane each is, and which gloo each client talks to.

A client (gateway-proxy, extauth, rate-limit, kube-gateway) talks to the gloo of its own context. In a
**data-plane** context (no gloo: split planes) it talks to a gloo of another context: the one its xDS
cluster's endpoint names, when an address or hostname says which, else every gloo of the management
contexts (each is judged).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from gloomon.domain.model import (
    ClustersReport,
    Component,
    ContextState,
    FleetSnapshot,
    Plane,
    TargetStatus,
)
from gloomon.domain.parse.envoy import xds_cluster_names

_LABEL = re.compile(r"[a-z0-9]+")


def judge_planes(
    states: Sequence[ContextState], targets: Sequence[TargetStatus], previous: FleetSnapshot | None
) -> tuple[ContextState, ...]:
    """Each context with its plane: ``management`` where gloo is installed (a Deployment, a pod, a
    target), ``data`` where it is not while another context has it. A context this poll could not tell
    about keeps its last plane."""
    with_gloo = {t.ref.context for t in targets if t.ref.component is Component.GLOO}
    installed = {s.name for s in states if s.gloo_installed or s.name in with_gloo}
    out = []
    data_side = {
        t.ref.component
        for t in targets
        if t.ref.context not in installed and t.ref.component is not Component.GLOO
    }
    for state in states:
        if state.name in installed:
            plane = Plane.MANAGEMENT
        elif state.gloo_installed is None:  # not observed: as last seen (nothing is judged in it anyway)
            plane = previous.plane_of(state.name) if previous is not None else Plane.MANAGEMENT
        elif installed:
            plane = Plane.DATA
        else:
            plane = Plane.MANAGEMENT  # one cluster (or none) with no gloo: gloo is missing, not elsewhere
        missing = state.missing
        if plane is Plane.DATA:  # gloo (and its certgen) run in the management context, not here
            missing = tuple(c for c in missing if c is not Component.GLOO)
        elif state.deployed is not None and data_side:  # split planes: proxies may run only elsewhere
            missing = tuple(c for c in missing if c in state.deployed or c not in data_side)
        out.append(replace(state, plane=plane, missing=missing))
    return tuple(out)


def plane_map(states: Sequence[ContextState]) -> Mapping[str, Plane]:
    return {state.name: state.plane for state in states}


def gloos_for(
    client: TargetStatus,
    gloos: Sequence[TargetStatus],
    planes: Mapping[str, Plane],
    namespace: str,
) -> list[TargetStatus]:
    """The gloo targets ``client`` talks to: its own context's; in a data-plane context, those of other
    contexts its xDS endpoint matches (an address, or a context named in its hostname), else all of
    them."""
    context = client.ref.context
    if planes.get(context, Plane.MANAGEMENT) is not Plane.DATA:
        return [g for g in gloos if g.ref.context == context]
    remote = [g for g in gloos if planes.get(g.ref.context, Plane.MANAGEMENT) is not Plane.DATA]
    remote = [g for g in remote if g.ref.context != context]
    if len({g.ref.context for g in remote}) < 2:
        return remote
    matched = _matched(client, remote, namespace)
    return matched or remote


def gloo_contexts(
    client: TargetStatus,
    gloos: Sequence[TargetStatus],
    planes: Mapping[str, Plane],
    namespace: str,
) -> tuple[str, ...]:
    """The contexts the gloo ``client`` talks to runs in (:func:`gloos_for`): its own; in a data-plane
    context, the matched gloos' contexts, else every management context (none of its gloos observed)."""
    if planes.get(client.ref.context, Plane.MANAGEMENT) is not Plane.DATA:
        return (client.ref.context,)
    found = [g.ref.context for g in gloos_for(client, gloos, planes, namespace)]
    found = found or [c for c, plane in planes.items() if plane is Plane.MANAGEMENT]
    return tuple(dict.fromkeys(found))


def _matched(client: TargetStatus, remote: Sequence[TargetStatus], namespace: str) -> list[TargetStatus]:
    """The gloos whose address the client's xDS hosts name, else those of the one context whose name
    is a label of an xDS host's hostname (``gloo.east.example.com`` → ``east``)."""
    hosts = _xds_hosts(client, namespace)
    if not hosts:
        return []
    addresses = {address.rsplit(":", 1)[0].strip("[]") for address, _ in hosts}
    by_address = [g for g in remote if _host_of(g) in addresses]
    if by_address:
        return by_address
    labels = {label for _, hostname in hosts for label in _LABEL.findall(hostname.lower())}
    named = {g.ref.context for g in remote if _context_labels(g.ref.context) <= labels}
    if len(named) == 1:
        return [g for g in remote if g.ref.context in named]
    return []


def _context_labels(context: str) -> set[str]:
    return set(_LABEL.findall(context.lower())) or {context}


def _xds_hosts(client: TargetStatus, namespace: str) -> list[tuple[str, str]]:
    """(address, hostname) of each host of the client's xDS cluster, from its last ``/clusters``."""
    fetch = client.fetch
    if fetch is None or not isinstance(fetch.clusters, ClustersReport):
        return []
    for name in xds_cluster_names(client.ref.component, client.ref.namespace or namespace):
        cluster = fetch.clusters.get(name)
        if cluster is not None:
            return [(host.address, host.hostname) for host in cluster.hosts]
    return []


def _host_of(target: TargetStatus) -> str | None:
    """The host of the target's admin URL when it is the pod's own address (in-cluster, ``--target``),
    not a local port-forward."""
    url = target.ref.admin_url
    if not url:
        return None
    host = urlsplit(url if "//" in url else f"http://{url}").hostname
    if host is None or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return host
