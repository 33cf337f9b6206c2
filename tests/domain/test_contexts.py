"""Several contexts: each client is judged against the gloo it talks to, bundles are compared per context,
a data-plane context's copy of the secret against the management context's, and one context failing
degrades only that context."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from gloomon.domain.export import snapshot_json, status_of
from gloomon.domain.model import (
    AdminFetch,
    ClustersReport,
    ClusterStatus,
    Component,
    ContextState,
    CronJobState,
    Finding,
    FleetSnapshot,
    HostStatus,
    JobState,
    Plane,
    SecretState,
    Severity,
)
from gloomon.domain.parse.copies import copy_mechanism
from gloomon.lab.snapshots.certs import CA_ADDED, NEW_STEADY, STEADY
from gloomon.lab.snapshots.contexts import (
    EAST,
    EDGE,
    MGMT,
    WEST,
    WEST_STEADY,
    context_down,
    context_secret,
    fetches_of,
    several,
    split_planes,
    two_clusters,
)
from gloomon.lab.snapshots.polls import CRONJOB, GLOO_XDS, POLLED


def _loud(snapshot: FleetSnapshot) -> list[Finding]:
    return [f for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]


def _codes(snapshot: FleetSnapshot) -> set[str]:
    return {f.code for f in snapshot.findings}


def test_two_independent_clusters_are_healthy() -> None:
    snapshot = two_clusters()
    assert _loud(snapshot) == [], [f.message for f in _loud(snapshot)]
    assert "peer-untrusted" not in _codes(snapshot) and "bundle-mismatch" not in _codes(snapshot)
    assert {state.name: state.plane for state in snapshot.context_states} == {
        EAST: Plane.MANAGEMENT,
        WEST: Plane.MANAGEMENT,
    }
    assert status_of(snapshot) == "ok"


def test_a_client_is_judged_against_its_own_contexts_gloo() -> None:
    """A west gateway-proxy holding east's bundle distrusts west's gloo: one finding, in west, named so."""
    west = fetches_of(WEST, WEST_STEADY, first_index=10)
    odd = next(f for f in west if f.target.component is Component.GATEWAY_PROXY)
    west = [fetches_of(WEST, STEADY, first_index=10)[1] if f is odd else f for f in west]
    snapshot = several(
        [EAST, WEST],
        [*fetches_of(EAST, STEADY), *west],
        [context_secret(EAST, STEADY), context_secret(WEST, WEST_STEADY)],
        [ContextState(EAST, gloo_installed=True), ContextState(WEST, gloo_installed=True)],
    )
    untrusted = [f for f in snapshot.findings if f.code == "peer-untrusted"]
    assert [(f.context, f.pod) for f in untrusted] == [(WEST, odd.target.pod)]
    assert untrusted[0].message.startswith(f"{WEST}: ")
    assert f"kubectl --context {WEST} -n" in untrusted[0].hint  # the command runs in the right cluster
    mismatch = [f for f in snapshot.findings if f.code == "bundle-mismatch"]
    assert [f.context for f in mismatch] == [WEST]  # compared within west only


def test_every_finding_names_its_context_in_json() -> None:
    snapshot = split_planes(copy=None)
    doc = json.loads(snapshot_json(snapshot))
    assert doc["schema"] == 1
    assert doc["findings"] and all(item["context"] == EDGE for item in doc["findings"])


def test_split_planes_healthy() -> None:
    snapshot = split_planes()
    assert _loud(snapshot) == [], [f.message for f in _loud(snapshot)]
    assert snapshot.plane_of(EDGE) is Plane.DATA and snapshot.plane_of(MGMT) is Plane.MANAGEMENT
    assert "component-missing" not in _codes(snapshot)  # no gloo (nor certgen) in a data-plane cluster


def test_a_data_plane_client_is_paired_with_the_management_gloo() -> None:
    snapshot = split_planes(edge_pair=WEST_STEADY, copy=STEADY)
    untrusted = [f for f in snapshot.findings if f.code == "peer-untrusted"]
    assert untrusted and all(f.context == EDGE for f in untrusted)
    assert all(f"in {MGMT}" in f.message for f in untrusted)


def test_a_missing_copy_is_its_own_finding() -> None:
    snapshot = split_planes(copy=None)
    (item,) = [f for f in snapshot.findings if f.code == "secret-copy-missing"]
    assert item.severity is Severity.CRITICAL and item.context == EDGE
    assert "secret-missing" not in _codes(snapshot)


def test_a_stale_copy_has_the_lag_from_the_sources_write_and_both_phases() -> None:
    """mgmt's certgen started a rotation 5 minutes ago; edge's copy still holds the old content."""
    written = POLLED - timedelta(minutes=5)
    snapshot = several(
        [MGMT, EDGE],
        [*fetches_of(MGMT, CA_ADDED)[:2], *fetches_of(EDGE, STEADY, gloo=False, first_index=10)],
        [
            context_secret(MGMT, CA_ADDED, written=written),
            context_secret(EDGE, STEADY, copied_by="reflector, from gloo-system/gloo-mtls-certs"),
        ],
        [ContextState(MGMT, gloo_installed=True), ContextState(EDGE, gloo_installed=False)],
    )
    (item,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert item.severity is Severity.WARNING and item.context == EDGE
    assert "5m" in item.message and "source ca-added, copy steady" in item.message
    assert "reflector" in item.hint


def test_a_copy_just_behind_is_information() -> None:
    written = POLLED - timedelta(seconds=30)
    snapshot = several(
        [MGMT, EDGE],
        [*fetches_of(MGMT, CA_ADDED)[:2], *fetches_of(EDGE, STEADY, gloo=False, first_index=10)],
        [context_secret(MGMT, CA_ADDED, written=written), context_secret(EDGE, STEADY)],
        [ContextState(MGMT, gloo_installed=True), ContextState(EDGE, gloo_installed=False)],
    )
    (item,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert item.severity is Severity.INFO


def test_a_copy_from_another_ca_is_critical() -> None:
    snapshot = split_planes(copy=NEW_STEADY, edge_pair=NEW_STEADY)
    (item,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert item.severity is Severity.CRITICAL and "shares no CA" in item.message
    assert "kubed" in item.hint


def test_a_failed_context_degrades_only_itself() -> None:
    snapshot = context_down()
    loud = _loud(snapshot)
    assert [(f.code, f.context) for f in loud] == [("source-error", WEST)]
    assert status_of(snapshot) == "warning"  # east was observed: not "error"


def _with_xds_hostname(fetch: AdminFetch, hostname: str) -> AdminFetch:
    host = HostStatus("203.0.113.7:9977", (), cx_active=1, hostname=hostname)
    return replace(fetch, clusters=ClustersReport((ClusterStatus(GLOO_XDS, "xds_cluster", (host,)),)))


def test_the_xds_hostname_picks_the_gloo_among_several_management_contexts() -> None:
    """Two management clusters and a data plane whose xDS endpoint is gloo.east.example.com: its clients
    are judged against east's gloo only (west's, from another CA, would distrust them all)."""
    edge = [
        _with_xds_hostname(f, "gloo.east.example.com")
        for f in fetches_of(EDGE, STEADY, gloo=False, first_index=20)
    ]
    states = [
        ContextState(EAST, gloo_installed=True),
        ContextState(WEST, gloo_installed=True),
        ContextState(EDGE, gloo_installed=False),
    ]
    snapshot = several(
        [EAST, WEST, EDGE],
        [*fetches_of(EAST, STEADY), *fetches_of(WEST, WEST_STEADY, first_index=10), *edge],
        [context_secret(EAST, STEADY), context_secret(WEST, WEST_STEADY), context_secret(EDGE, STEADY)],
        states,
    )
    assert "peer-untrusted" not in _codes(snapshot), [f.message for f in _loud(snapshot)]
    # without a name to go by, every management gloo is judged: west's distrusts the edge clients
    plain = several(
        [EAST, WEST, EDGE],
        [
            *fetches_of(EAST, STEADY),
            *fetches_of(WEST, WEST_STEADY, first_index=10),
            *fetches_of(EDGE, STEADY, gloo=False, first_index=20),
        ],
        [context_secret(EAST, STEADY), context_secret(WEST, WEST_STEADY), context_secret(EDGE, STEADY)],
        states,
    )
    untrusted = [f for f in plain.findings if f.code == "peer-untrusted"]
    assert untrusted and all(f.context == EDGE and f"in {WEST}" in f.message for f in untrusted)


def test_copy_mechanisms_from_metadata() -> None:
    kubed = {
        "kubed.appscode.com/origin.namespace": "gloo-system",
        "kubed.appscode.com/origin.cluster": "mgmt",
    }
    assert copy_mechanism(kubed, {}) == "kubed (config-syncer), from mgmt/gloo-system"
    reflector = {"reflector.v1.k8s.emberstack.com/reflects": "gloo-system/gloo-mtls-certs"}
    assert copy_mechanism(reflector, {}) == "reflector, from gloo-system/gloo-mtls-certs"
    assert copy_mechanism({}, {}, [("ExternalSecret", "mtls")]) == "external-secrets (an ExternalSecret)"
    # gloo's Gateway deployer: its controller owner, or its field manager alone
    gateway = [("Gateway", "http")]
    assert copy_mechanism({}, {}, gateway, ["solo.io/gloo-gateway"], "apps") == (
        "gloo's Gateway deployer, for Gateway apps/http"
    )
    assert copy_mechanism({}, {}, (), ["solo.io/gloo-gateway"]) == (
        "gloo's Gateway deployer, manager solo.io/gloo-gateway"
    )
    assert copy_mechanism({}, {}, (), ["kubectl-client-side-apply"]) is None
    assert copy_mechanism({"example.com/copied-from": "mgmt"}, {}) == "example.com/copied-from: mgmt"
    assert copy_mechanism({}, {"app.kubernetes.io/managed-by": "Helm"}) is None
    assert copy_mechanism({"x": "\x1b[31mred"}, {}) is None


def test_a_management_cluster_without_proxies_misses_none_in_split_planes() -> None:
    """mgmt runs gloo only (its proxies are disabled: no Deployment); edge runs them."""
    mgmt = fetches_of(MGMT, STEADY)[:1]
    edge = fetches_of(EDGE, STEADY, gloo=False, first_index=10)
    states = [
        ContextState(
            MGMT, gloo_installed=True, missing=(Component.GATEWAY_PROXY,), deployed=(Component.GLOO,)
        ),
        ContextState(
            EDGE, gloo_installed=False, missing=(Component.GLOO,), deployed=(Component.GATEWAY_PROXY,)
        ),
    ]
    snapshot = several(
        [MGMT, EDGE], [*mgmt, *edge], [context_secret(MGMT, STEADY), context_secret(EDGE, STEADY)], states
    )
    assert _loud(snapshot) == [], [f.message for f in _loud(snapshot)]
    # a proxy Deployment in mgmt with no ready pod is still missing
    deployed = [replace(states[0], deployed=(Component.GLOO, Component.GATEWAY_PROXY)), states[1]]
    snapshot = several(
        [MGMT, EDGE], [*mgmt, *edge], [context_secret(MGMT, STEADY), context_secret(EDGE, STEADY)], deployed
    )
    assert [(f.code, f.context) for f in _loud(snapshot)] == [("component-missing", MGMT)]


def _with_cronjobs(east: CronJobState, west: CronJobState) -> FleetSnapshot:
    """Two clusters, each with its own certgen CronJob as its session read it."""
    return several(
        [EAST, WEST],
        [*fetches_of(EAST, STEADY), *fetches_of(WEST, WEST_STEADY, first_index=10)],
        [context_secret(EAST, STEADY), context_secret(WEST, WEST_STEADY)],
        [ContextState(EAST, gloo_installed=True), ContextState(WEST, gloo_installed=True)],
        cronjobs=[replace(east, context=EAST), replace(west, context=WEST)],
    )


def test_each_management_contexts_cronjob_is_kept_and_shown_with_its_context() -> None:
    snapshot = two_clusters()
    assert [c.context for c in snapshot.cronjobs] == [EAST, WEST]
    doc = json.loads(snapshot_json(snapshot))
    assert [c["context"] for c in doc["cronjobs"]] == [EAST, WEST]
    assert doc["cronjob"] == doc["cronjobs"][0]
    # split planes: certgen runs in mgmt only; edge's "no CronJob" is neither shown nor a finding
    split = split_planes()
    assert [c.context for c in split.cronjobs] == [MGMT]
    assert "cronjob-disabled" not in _codes(split)


def test_each_management_contexts_cronjob_is_judged_in_its_context() -> None:
    """west's certgen CronJob suspended, east's running: west's finding, none for east."""
    snapshot = _with_cronjobs(CRONJOB, replace(CRONJOB, suspended=True))
    disabled = [f for f in snapshot.findings if f.code == "cronjob-disabled"]
    assert [(f.context, f.severity) for f in disabled] == [(WEST, Severity.WARNING)]
    assert disabled[0].message.startswith(f"{WEST}: ")
    assert f"kubectl --context {WEST} -n" in disabled[0].hint
    # and the other way round: the first context's CronJob is no longer the only one judged
    snapshot = _with_cronjobs(replace(CRONJOB, suspended=True), CRONJOB)
    assert [f.context for f in snapshot.findings if f.code == "cronjob-disabled"] == [EAST]


def test_a_failed_certgen_job_is_found_in_its_own_context() -> None:
    """Both clusters' CronJobs name their Jobs alike (same schedule): west's failed one is west's only."""
    failed = JobState(
        "gloo-mtls-certgen-cronjob-29412345",
        POLLED - timedelta(minutes=10),
        None,
        active=False,
        succeeded=False,
        failed=True,
        failure_reason="BackoffLimitExceeded",
        failed_at=POLLED - timedelta(minutes=5),
        failed_pods=7,
    )
    done = replace(failed, succeeded=True, failed=False, failure_reason=None, failed_at=None, failed_pods=0)
    snapshot = _with_cronjobs(replace(CRONJOB, jobs=(done,)), replace(CRONJOB, jobs=(failed,)))
    found = [f for f in snapshot.findings if f.code == "certgen-job-failed"]
    assert [f.context for f in found] == [WEST], [f.message for f in found]


def test_a_secrets_hint_reruns_its_own_contexts_certgen() -> None:
    """west runs no certgen CronJob: its missing secret's hint is the Helm value, not east's CronJob."""
    snapshot = several(
        [EAST, WEST],
        [*fetches_of(EAST, STEADY), *fetches_of(WEST, WEST_STEADY, first_index=10)],
        [
            context_secret(EAST, STEADY),
            SecretState(WEST, "gloo-system", read_at=POLLED, missing=True, error="not found"),
        ],
        [ContextState(EAST, gloo_installed=True), ContextState(WEST, gloo_installed=True)],
        cronjobs=[
            replace(CRONJOB, context=EAST),
            CronJobState(CRONJOB.name, "", False, missing=True, context=WEST),
        ],
    )
    (missing,) = [f for f in snapshot.findings if f.code == "secret-missing"]
    assert missing.context == WEST
    assert "create job --from=cronjob" not in missing.hint and "helm upgrade" in missing.hint
