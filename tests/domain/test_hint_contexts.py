"""With several contexts, each kubectl command of a hint names the cluster it must run in: in split planes
an edge client's link finding looks at gloo in the management context and at the client in its own."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from gloomon.domain.health.judge import in_context
from gloomon.domain.model import AdminFetch, Component, ContextState, EnvoyStats, Finding, Severity
from gloomon.domain.parse.envoy import parse_stats
from gloomon.lab.snapshots.certs import STEADY
from gloomon.lab.snapshots.contexts import (
    EDGE,
    MGMT,
    WEST_STEADY,
    context_secret,
    fetches_of,
    several,
    split_planes,
)

FIXTURES = Path(__file__).parent / "fixtures"
#: a gateway-proxy whose ADS stream to gloo is closed (captured from real Envoy, capture_links.py)
DISCONNECTED = parse_stats((FIXTURES / "links_gloo_down_gw_stats.txt").read_bytes())
SPLIT = [ContextState(MGMT, gloo_installed=True), ContextState(EDGE, gloo_installed=False)]


def _disconnected(fetch: AdminFetch) -> AdminFetch:
    assert isinstance(DISCONNECTED, EnvoyStats)
    return replace(fetch, stats=DISCONNECTED)


def _commands(hint: str) -> list[str]:
    """Each kubectl command of a hint, up to the next ``;`` or ``|``."""
    return [m.group(0).strip() for m in re.finditer(r"kubectl [^;|]*", hint)]


def _split_planes(*, mgmt_gloo: bool = True, edge_proxy: AdminFetch | None = None):  # type: ignore[no-untyped-def]
    mgmt = fetches_of(MGMT, STEADY)[:2] if mgmt_gloo else fetches_of(MGMT, STEADY)[1:2]
    edge = fetches_of(EDGE, STEADY, gloo=False, first_index=10)
    proxy = edge[0]
    assert proxy.target.component is Component.GATEWAY_PROXY
    edge = [_disconnected(proxy), *edge[1:]]
    return several(
        [MGMT, EDGE],
        [*mgmt, *edge],
        [context_secret(MGMT, STEADY), context_secret(EDGE, STEADY)],
        SPLIT,
    ), proxy.target.pod


def test_an_edge_proxys_link_hint_looks_at_gloo_in_mgmt_and_at_the_proxy_in_edge() -> None:
    snapshot, pod = _split_planes()
    (finding,) = [f for f in snapshot.findings if f.code == "xds-disconnected"]
    assert finding.context == EDGE and finding.pod == pod
    commands = _commands(finding.hint)
    gloo = [c for c in commands if "gloo=gloo" in c]
    assert gloo == ["kubectl --context mgmt -n gloo-system get pods -l gloo=gloo"]
    own = [c for c in commands if pod in c]
    assert own and all(c.startswith("kubectl --context edge ") for c in own), commands
    assert all(c.count("--context") == 1 for c in commands), commands


def test_without_a_gloo_target_the_management_contexts_are_named() -> None:
    """gloo's pods not polled (not running, admin unreachable): the management context still runs it."""
    snapshot, _ = _split_planes(mgmt_gloo=False)
    (finding,) = [f for f in snapshot.findings if f.code == "xds-disconnected"]
    assert "kubectl --context mgmt -n gloo-system get pods -l gloo=gloo" in finding.hint


def test_a_management_contexts_client_looks_at_its_own_gloo() -> None:
    mgmt = fetches_of(MGMT, STEADY)
    proxy = next(f for f in mgmt if f.target.component is Component.GATEWAY_PROXY)
    fetches = [_disconnected(f) if f is proxy else f for f in mgmt]
    snapshot = several(
        [MGMT, EDGE],
        [*fetches, *fetches_of(EDGE, STEADY, gloo=False, first_index=10)],
        [context_secret(MGMT, STEADY), context_secret(EDGE, STEADY)],
        SPLIT,
    )
    (finding,) = [f for f in snapshot.findings if f.code == "xds-disconnected"]
    commands = _commands(finding.hint)
    assert commands and all(c.startswith("kubectl --context mgmt ") for c in commands), commands


def test_in_context_names_the_context_of_each_command_that_has_none() -> None:
    item = Finding(
        Severity.WARNING,
        "xds-disconnected",
        Component.GATEWAY_PROXY,
        "gw-1",
        "ADS stream to gloo closed",
        "kubectl -n gloo-system logs gw-1; kubectl --context mgmt -n gloo-system get pods -l gloo=gloo; "
        "kubectl get pods | kubectl --context mgmt apply -f -",
    )
    placed = in_context(item, EDGE, True, [MGMT, EDGE])
    assert placed.hint == (
        "kubectl --context edge -n gloo-system logs gw-1; "
        "kubectl --context mgmt -n gloo-system get pods -l gloo=gloo; "
        "kubectl --context edge get pods | kubectl --context mgmt apply -f -"
    )
    assert placed.message == "edge: ADS stream to gloo closed" and placed.context == EDGE
    assert in_context(item, EDGE, False, [EDGE]).hint == item.hint  # one context: no flag at all


def test_an_edge_clients_peer_untrusted_hint_restarts_each_side_in_its_cluster() -> None:
    """The edge's pods hold another CA than mgmt's gloo: either side may hold the old bundle, so the hint
    restarts a client in edge or gloo in mgmt."""
    snapshot = split_planes(edge_pair=WEST_STEADY, copy=STEADY)
    found = [f for f in snapshot.findings if f.code == "peer-untrusted"]
    assert found and all(f.context == EDGE for f in found)
    commands = _commands(found[0].hint)
    assert commands == [
        "kubectl --context edge -n gloo-system delete pod <pod>",
        "kubectl --context mgmt -n gloo-system delete pod <pod>",
    ], found[0].hint
