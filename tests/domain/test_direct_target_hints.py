"""Findings about a ``--target`` URL: it is no pod, so no hint says kubectl; every curl names the URL
as given (its path kept) and the endpoint as gloomon requests it (its query kept)."""

from __future__ import annotations

from dataclasses import replace

from gloomon.domain.model import AdminFetch, Component, ForwardState, ForwardStatus
from tests.domain.certs import make_ca, make_leaf
from tests.domain.fleet_helpers import fetch, snap

URL = "https://envoy.example:8443/admin/gloo-1"


def _direct(result: AdminFetch) -> AdminFetch:
    state = ForwardState(ForwardStatus.DIRECT, local_address="envoy.example:8443")
    target = replace(result.target, context="direct", admin_url=URL, forward=state)
    return replace(result, target=target)


def test_a_garbled_response_hint_curls_the_url_and_query_gloomon_requested() -> None:
    ca = make_ca()
    held = _direct(fetch("gloo-1", make_leaf(ca).info, [ca.info], bad="clusters"))
    (finding,) = [f for f in snap([held]).findings if f.code == "admin-bad-response"]
    assert finding.hint == f"see the raw body: curl -s '{URL}/clusters?format=json'"


def test_a_pods_garbled_response_hint_keeps_the_query_too() -> None:
    ca = make_ca()
    held = fetch("gloo-1", make_leaf(ca).info, [ca.info], bad="clusters")
    (finding,) = [f for f in snap([held]).findings if f.code == "admin-bad-response"]
    assert finding.hint.endswith("curl 'localhost:8001/clusters?format=json'"), finding.hint


def test_no_hint_about_a_target_url_says_kubectl_logs_or_delete_pod() -> None:
    """Every per-target finding with a pod hint: no server certificate, failing TLS and xDS, rejected
    SDS updates, a broken leaf/bundle, a state other than LIVE."""
    ca, stranger = make_ca(), make_ca()
    cases = [
        fetch("gateway-proxy-1", None, [ca.info]),  # sds-not-delivered
        fetch("gateway-proxy-2", make_leaf(ca).info, [stranger.info]),  # leaf-untrusted
        fetch(
            "gateway-proxy-3",
            make_leaf(ca).info,
            [ca.info],
            xds_healthy=False,
            tls_errors=3,
            handshakes=0,
            rejected=2,
            state="DRAINING",
        ),
    ]
    findings = [f for f in snap([_direct(c) for c in cases]).findings if f.pod is not None]
    codes = {f.code for f in findings}
    expected = {"sds-not-delivered", "leaf-untrusted", "xds-connect-failing", "tls-verify-failures"}
    assert expected <= codes, codes
    assert {"sds-update-rejected", "envoy-not-live"} <= codes, codes
    for finding in findings:
        assert "kubectl" not in finding.hint and "delete pod" not in finding.hint, finding
    assert any(URL in f.hint for f in findings if f.code == "sds-not-delivered")


def test_no_fleet_hint_about_target_urls_says_kubectl() -> None:
    """A client that does not trust gloo's issuer, and bundles that differ: the hints name no pod."""
    ours, theirs = make_ca(), make_ca()
    fetches = [
        fetch("gloo-1", make_leaf(theirs).info, [theirs.info]),
        fetch("gateway-proxy-1", make_leaf(ours).info, [ours.info]),
    ]
    findings = snap([_direct(f) for f in fetches]).findings
    codes = {f.code for f in findings}
    assert {"peer-untrusted", "bundle-mismatch"} <= codes, codes
    for finding in findings:
        assert "kubectl" not in finding.hint and "pod <pod>" not in finding.hint, finding


def test_a_pods_hints_still_say_kubectl() -> None:
    ca = make_ca()
    findings = snap([fetch("gateway-proxy-1", None, [ca.info], component=Component.GATEWAY_PROXY)]).findings
    (finding,) = [f for f in findings if f.code == "sds-not-delivered"]
    assert "kubectl -n gloo-system logs gateway-proxy-1 -c sds" in finding.hint
