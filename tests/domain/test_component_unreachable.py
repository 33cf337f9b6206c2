"""A component none of whose Envoys answers is critical (``component-unreachable``), and a snapshot that
observed nothing at all has status ``error`` (exit 3): a monitoring job never stays green while every
Envoy is down."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon import report
from gloomon.domain.export import status_of
from gloomon.domain.model import Component, ForwardState, ForwardStatus, PodInfo
from tests.domain.certs import NOW, make_ca, make_leaf
from tests.domain.fleet_helpers import NS, codes, fetch, secret, snap

CA = make_ca()
LEAF = make_leaf(CA)
DOWN = "admin endpoint unreachable: connection refused"


def _direct(item):  # type: ignore[no-untyped-def]
    """The fetch as ``--target`` mode makes it: the admin URL polled as given, no pod."""
    return replace(item, target=replace(item.target, forward=ForwardState(ForwardStatus.DIRECT)))


def _pod(item, *, ready: bool = True, started_ago: float = 3600.0, deleting: bool = False):  # type: ignore[no-untyped-def]
    info = PodInfo(
        item.target.pod, NS, item.target.component, "Running", ready, 0,
        started_at=NOW - timedelta(seconds=started_ago), deleting=deleting,
    )  # fmt: skip
    return replace(item, target=replace(item.target, pod_info=info))


def test_every_direct_target_down_is_critical_and_nothing_observed() -> None:
    snapshot = snap(
        [
            _direct(fetch("gloo-1", None, [], error=DOWN)),
            _direct(fetch("gateway-proxy-1", None, [], error=DOWN)),
        ]
    )
    found = codes(snapshot)
    assert found["component-unreachable"] == [("critical", None), ("critical", None)]
    assert sorted(found["admin-unreachable"]) == [("warning", "gateway-proxy-1"), ("warning", "gloo-1")]
    gloo = next(
        f for f in snapshot.findings if f.code == "component-unreachable" and f.component is Component.GLOO
    )
    assert gloo.message == "no gloo Envoy answers (1 target unreachable): its certificates are not observed"
    assert gloo.hint.startswith("curl http://127.0.0.1:1/gloo-1/ready")
    assert status_of(snapshot) == "error"
    for fail_on in ("critical", "warning", "never"):
        assert report.exit_code(snapshot, fail_on) == 3


def test_one_component_down_is_critical_while_the_rest_is_observed() -> None:
    snapshot = snap(
        [
            fetch("gloo-1", LEAF.info, [CA.info]),
            fetch("gateway-proxy-1", None, [], error=DOWN),
            fetch("gateway-proxy-2", None, [], error=DOWN),
        ],
        [secret(LEAF.info, [CA.info])],
    )
    unreachable = [f for f in snapshot.findings if f.code == "component-unreachable"]
    assert [(f.component, f.severity.value) for f in unreachable] == [(Component.GATEWAY_PROXY, "critical")]
    assert "all 2 targets unreachable" in unreachable[0].message
    assert unreachable[0].hint == f"kubectl -n {NS} get pods -l gloo=gateway-proxy"
    assert status_of(snapshot) == "critical"
    assert report.exit_code(snapshot, "critical") == 2


def test_one_answering_envoy_of_a_component_is_enough() -> None:
    snapshot = snap(
        [fetch("gateway-proxy-1", LEAF.info, [CA.info]), fetch("gateway-proxy-2", None, [], error=DOWN)]
    )
    assert "component-unreachable" not in codes(snapshot)


def test_an_unreadable_secret_alone_is_nothing_observed_but_a_missing_secret_is_an_observation() -> None:
    down = [fetch("gloo-1", None, [], error=DOWN)]
    forbidden = snap(down, [secret(None, [], forbidden=True, error="forbidden (403)")])
    missing = snap(down, [secret(None, [], missing=True, error="secret gloo-mtls-certs not found")])
    assert status_of(forbidden) == "error"
    assert status_of(missing) == "critical"


def test_source_errors_are_the_one_finding_for_a_silent_fleet() -> None:
    hidden = replace(fetch("gloo-1", None, [], error=DOWN), api_down=True)  # as the session marks it
    snapshot = snap([hidden], errors=["cannot reach the Kubernetes API"])
    assert "component-unreachable" not in codes(snapshot)
    assert status_of(snapshot) == "error"


@pytest.mark.parametrize(
    ("pod", "excused"),
    [
        ({"ready": False}, True),
        ({"deleting": True}, True),
        ({"started_ago": 5.0}, True),
        ({}, False),
    ],
    ids=["not-ready", "deleting", "just-started", "running-for-an-hour"],
)
def test_a_restarting_pod_is_not_a_component_down(pod: dict[str, object], excused: bool) -> None:
    snapshot = snap([_pod(fetch("extauth-1", None, [], error=DOWN), **pod)], [secret(LEAF.info, [CA.info])])  # type: ignore[arg-type]
    assert ("component-unreachable" in codes(snapshot)) is not excused


@pytest.mark.parametrize(
    ("since", "excused"), [(5.0, True), (600.0, False)], ids=["just-cut", "for-10-minutes"]
)
def test_a_reconnecting_port_forward_is_excused_only_briefly(since: float, excused: bool) -> None:
    item = _pod(fetch("extauth-1", None, [], error="port-forward: connection reset"))
    forward = ForwardState(ForwardStatus.RECONNECTING, since=NOW - timedelta(seconds=since), error="reset")
    item = replace(item, target=replace(item.target, forward=forward))
    snapshot = snap([item], [secret(LEAF.info, [CA.info])])
    assert ("component-unreachable" in codes(snapshot)) is not excused
