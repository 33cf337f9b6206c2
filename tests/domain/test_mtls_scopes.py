"""Only the mTLS link's ``ssl.*`` scopes count as its TLS failures; the user's HTTPS listeners and TLS
upstreams (scanners, HTTP sent to HTTPS) are information, never a ``tls-verify-failures`` finding."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gloomon.domain.model import Component, EnvoyStats, TlsStats
from gloomon.domain.parse.envoy import parse_stats
from gloomon.domain.parse.tls_scopes import is_mtls_scope, mtls_errors, user_tls_errors
from tests.domain.certs import NOW, rotation
from tests.domain.fleet_helpers import codes, fetch, secret, snap

FIXTURES = Path(__file__).parent / "fixtures"
GW, GLOO, EXTAUTH, RL = Component.GATEWAY_PROXY, Component.GLOO, Component.EXTAUTH, Component.RATE_LIMIT


@pytest.mark.parametrize(
    ("scope", "component", "mtls"),
    [
        ("cluster.xds_cluster", GW, True),
        ("cluster.rest_xds_cluster", GW, True),
        ("cluster.xds_cluster", RL, True),
        ("cluster.xds_cluster", EXTAUTH, True),
        ("listener.0.0.0.0_8083", EXTAUTH, True),  # envoy_extauth_mtls_listener
        ("listener.[__]_8083", EXTAUTH, True),
        ("listener.0.0.0.0_9977", GLOO, True),
        ("listener.0.0.0.0_9976", GLOO, True),
        ("listener.[__]_9977", GLOO, True),  # bound to [::]:9977
        ("listener.[::]_9977", GLOO, True),
        ("listener.10.4.2.17_9977", GLOO, True),  # bound to the pod IP
        ("listener.[__]_8443", GW, False),  # a VirtualService's HTTPS listener
        ("listener.0.0.0.0_8443", GW, False),
        ("listener.0.0.0.0_8083", GW, False),  # only extauth's sidecar terminates mTLS on 8083
        ("listener.0.0.0.0_9977", GW, False),
        ("cluster.default-petstore-8080_gloo-system", GW, False),  # a TLS Upstream
        ("cluster.xds_cluster", GLOO, False),  # gloo's sidecar is the server: only its listeners
        ("listener.0.0.0.0_19977", GLOO, False),
        ("listener.admin_9977", GLOO, False),
        ("cluster.gloo.gloo-system.svc.cluster.local:9977", GW, False),  # Gloo names it xds_cluster
    ],
)
def test_which_scopes_are_the_mtls_link(scope: str, component: Component, mtls: bool) -> None:
    assert is_mtls_scope(scope, component) is mtls


def test_real_samples_user_clusters_are_not_the_link() -> None:
    """App Mesh's egress clusters are upstream TLS of the user's own: none of it is Gloo's mTLS."""
    stats = parse_stats((FIXTURES / "reference" / "aws-app-mesh_stats_ssl_handshake_grep.txt").read_bytes())
    assert isinstance(stats, EnvoyStats) and len(stats.tls) == 3
    assert not any(is_mtls_scope(t.scope, GW) for t in stats.tls)


def test_real_envoy_untrusted_counts_the_xds_cluster_only() -> None:
    """The captured Envoy rejects gloo on ``cluster.xds_cluster`` (3 verify failures); its own TLS listener
    on a loopback port that is not Gloo's 9977 is user TLS (3 connection errors)."""
    stats = parse_stats((FIXTURES / "envoy140_untrusted_stats.txt").read_bytes())
    assert isinstance(stats, EnvoyStats)
    assert (mtls_errors(stats, GW), user_tls_errors(stats, GW)) == (3, 3)
    assert (mtls_errors(stats, GLOO), user_tls_errors(stats, GLOO)) == (0, 6)


def _poll(seconds: int, tls: tuple[TlsStats, ...], previous=None):  # type: ignore[no-untyped-def]
    rot = rotation()
    leaf, ca = rot.leaf_new.info, [rot.ca_new.info]
    at = NOW + timedelta(seconds=seconds)
    held = fetch("gateway-proxy-1", leaf, ca, at=at)
    assert isinstance(held.stats, EnvoyStats)
    held = replace(held, stats=replace(held.stats, tls=tls))
    return snap([held], [secret(leaf, ca)], at=at, previous=previous)


def _scopes(user_errors: int, xds_verify: int) -> tuple[TlsStats, ...]:
    return (
        TlsStats("cluster.xds_cluster", handshake=5, fail_verify_error=xds_verify),
        TlsStats("listener.[__]_8443", handshake=40, connection_error=user_errors),
        TlsStats("cluster.default-petstore-443_gloo-system", handshake=0, fail_verify_error=user_errors),
    )


def test_user_https_noise_growing_is_no_finding() -> None:
    """Scanners on a VirtualService's HTTPS listener and an Upstream with a bad CA: counted as user TLS
    on the model, and no ``tls-verify-failures`` about the mTLS link (there was one, permanently)."""
    first = _poll(0, _scopes(10, 0))
    second = _poll(10, _scopes(25, 0), first)
    third = _poll(20, _scopes(60, 0), second)
    for result in (first, second, third):
        assert "tls-verify-failures" not in codes(result)
        assert result.targets[0].tls_errors == 0
    assert third.targets[0].user_tls_errors == 120


def test_xds_cluster_verify_failures_growing_is_a_finding() -> None:
    first = _poll(0, _scopes(10, 0))
    second = _poll(10, _scopes(10, 4), first)
    assert codes(second)["tls-verify-failures"] == [("warning", "gateway-proxy-1")]
    assert second.targets[0].tls_errors == 4
    assert "4 in total" in next(f.message for f in second.findings if f.code == "tls-verify-failures")


def test_a_user_scope_with_no_handshake_is_no_single_poll_finding() -> None:
    """A one-shot check: an Upstream whose CA the user got wrong has failures and no handshake; it is not
    the link, so no finding (the xDS cluster's same state is one)."""
    user = _poll(0, (TlsStats("cluster.default-petstore-443_gloo-system", fail_verify_error=7),))
    assert "tls-verify-failures" not in codes(user)
    link = _poll(0, (TlsStats("cluster.xds_cluster", fail_verify_error=7),))
    assert codes(link)["tls-verify-failures"] == [("warning", "gateway-proxy-1")]
