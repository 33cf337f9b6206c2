"""Proxies in other namespaces than the release's (a kube-gateway in its Gateway's namespace): each pod
is compared with the copy of gloo-mtls-certs in its own namespace (its sds serves that one), and a copy
that differs from the release namespace's secret (certgen's) is the copy's finding, not the pod's."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from gloomon.domain.cells import sync_words
from gloomon.domain.export import snapshot_json
from gloomon.domain.fleet import build_snapshot
from gloomon.domain.health.judge import HealthPolicy
from gloomon.domain.model import Component, FleetSnapshot, SecretState, Severity, TargetStatus, secret_of
from gloomon.domain.parse.copies import sync_rule
from gloomon.domain.parse.durations import human_duration
from gloomon.lab.snapshots.certs import CA_ADDED, LEAF_ROTATED, NEW_STEADY, STEADY
from gloomon.lab.snapshots.namespaces import (
    APPS,
    KUBE_GATEWAY_POD,
    SYNCS_BY,
    copy_frozen,
    copy_removed,
    in_namespace,
    two_namespaces,
)
from gloomon.lab.snapshots.polls import CONTEXT, CRONJOB, NAMESPACE, POLLED, WRITTEN, admin_fetch


def _gateway(snapshot: FleetSnapshot) -> TargetStatus:
    return next(t for t in snapshot.targets if t.ref.pod == KUBE_GATEWAY_POD)


def _loud(snapshot: FleetSnapshot) -> list[tuple[str, str]]:
    return [(f.code, f.message) for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]


def test_a_copy_equal_to_its_source_is_healthy_and_each_pod_names_its_secret() -> None:
    snapshot = two_namespaces()
    assert _loud(snapshot) == []
    assert _gateway(snapshot).secret_namespace == APPS
    assert {t.secret_namespace for t in snapshot.targets if t.ref.pod != KUBE_GATEWAY_POD} == {NAMESPACE}
    doc = json.loads(snapshot_json(snapshot))
    assert [s["namespace"] for s in doc["secrets"]] == [NAMESPACE, APPS]
    (row,) = [t for t in doc["targets"] if t["pod"] == KUBE_GATEWAY_POD]
    assert row["secret_namespace"] == APPS and row["copy_behind_seconds"] is None


def test_each_pod_is_compared_with_its_own_namespaces_copy() -> None:
    """The copy holds a new CA the source does not (someone re-made it by hand): the kube-gateway holds
    the copy's content, so it is in sync with its secret; the release namespace's pods with theirs."""
    snapshot = two_namespaces(STEADY, CA_ADDED)
    assert all(t.in_sync_with_secret for t in snapshot.targets)
    assert _gateway(snapshot).bundle.cas == CA_ADDED[0].cas


def test_a_frozen_copy_is_the_copys_finding_and_the_pod_says_why_it_lags() -> None:
    snapshot = copy_frozen()
    codes = {f.code for f in snapshot.findings}
    assert "target-lagging" not in codes and "bundle-mismatch" not in codes
    (stale,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert stale.severity is Severity.WARNING and stale.context == CONTEXT
    assert f"namespace {APPS}" in stale.message and f"namespace {NAMESPACE}" in stale.message
    assert "behind it for 5m" in stale.message
    assert "source leaf-rotated, copy steady" in stale.message
    assert KUBE_GATEWAY_POD in stale.subjects.pods
    assert "(rendered by gloo's Gateway deployer, for Gateway apps/http)" in stale.message
    assert "kubectl -n gloo-system logs deploy/gloo -c gloo" in stale.hint
    assert "right after every write of the secret in namespace gloo-system" in stale.hint
    assert "gloo is not reconciling that Gateway" in stale.hint and "kubed" not in stale.hint
    gateway = _gateway(snapshot)
    assert gateway.in_sync_with_secret is True and gateway.copy_behind_seconds == 300.0
    assert sync_words(gateway) == "copy lags"
    assert gateway.sync_reason is not None and "the copy lags, not this pod" in gateway.sync_reason
    # gloo's new leaf is signed by a CA the copy lacks: the handshake failure names the copy
    (untrusted,) = [f for f in snapshot.findings if f.code == "peer-untrusted"]
    assert untrusted.pod == KUBE_GATEWAY_POD and "secret-copy-stale" in untrusted.message
    assert f"namespace {APPS}" in untrusted.hint and "delete pod" not in untrusted.hint
    assert "copy the secret" not in untrusted.hint  # gloo renders this copy: nobody copies it by hand
    assert "secret-copy-stale says who makes it" in untrusted.hint


def test_a_copy_behind_while_gloos_process_is_down_names_that_cause() -> None:
    """gloo renders the kube-gateway's copy: with gloo's process down (its sidecar's connects to it
    rise between two polls), the stale copy and the missing one say so; with gloo up, neither does."""
    later, written = POLLED + timedelta(seconds=5), POLLED - timedelta(minutes=5)
    for copy, code in ((STEADY, "secret-copy-stale"), (None, "secret-copy-missing")):
        first = two_namespaces(LEAF_ROTATED, copy, written=written, gloo_connect_fails=2)
        then = two_namespaces(
            LEAF_ROTATED, copy, written=written, gloo_connect_fails=6, previous=first, at=later
        )
        assert "gloo-process-down" in {f.code for f in then.findings}, code
        (item,) = [f for f in then.findings if f.code == code]
        assert "; gloo's process is down (gloo-process-down) and it renders this copy" in item.message, code
    (calm,) = [f for f in copy_frozen().findings if f.code == "secret-copy-stale"]
    assert "gloo's process is down" not in calm.message


def test_a_copy_that_missed_a_whole_rotation_is_behind_since_the_rotation_began() -> None:
    """certgen's last write was 30 s ago, but its run began when it made the new CA (2 minutes ago):
    the copy, which lacks that CA, has been behind since then; a one-shot check says so too."""
    snapshot = two_namespaces(
        NEW_STEADY, STEADY, written=POLLED - timedelta(seconds=30), copy_written=WRITTEN
    )
    (stale,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    born = NEW_STEADY[0].cas[0].not_before
    assert stale.severity is Severity.CRITICAL and "shares no CA" in stale.message
    assert f"behind it for {human_duration((POLLED - born).total_seconds())}" in stale.message
    assert _gateway(snapshot).copy_behind_seconds == (POLLED - born).total_seconds()


def test_a_copy_just_behind_its_source_is_information() -> None:
    snapshot = two_namespaces(CA_ADDED, STEADY, written=POLLED - timedelta(seconds=20))
    (stale,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert stale.severity is Severity.INFO and "has not caught up yet" in stale.message
    assert _loud(snapshot) == []


def test_a_copy_trailing_a_rotation_by_more_than_rotation_duration_is_a_warning() -> None:
    """Within the grace, but mid-rotation and later than rotationDuration (65 s): certgen's next write
    rotates gloo's leaf before the copy brings the new CA to its pods (#8444's race, for a copy)."""
    snapshot = two_namespaces(CA_ADDED, STEADY, written=POLLED - timedelta(seconds=80))
    (stale,) = [f for f in snapshot.findings if f.code == "secret-copy-stale"]
    assert stale.severity is Severity.WARNING and "past rotationDuration (1m5s)" in stale.message
    assert "within rotationDuration" in stale.hint


def test_a_missing_copy_is_secret_copy_missing_naming_its_namespace_and_pods() -> None:
    snapshot = copy_removed()
    (missing,) = [f for f in snapshot.findings if f.code == "secret-copy-missing"]
    assert missing.severity is Severity.CRITICAL
    assert f"namespace {APPS}" in missing.message and KUBE_GATEWAY_POD in missing.message
    # gloo renders the kube-gateway's copy: no copy by hand, gloo's start renders it again
    assert f"kubectl -n {NAMESPACE} rollout restart deploy/gloo" in missing.hint
    assert "apply -f -" not in missing.hint and "stays behind or missing" in missing.hint
    assert "secret-missing" not in {f.code for f in snapshot.findings}
    assert _gateway(snapshot).in_sync_with_secret is None


def test_a_removed_copy_keeps_how_it_was_made_in_its_hint() -> None:
    before = two_namespaces()
    after = two_namespaces(STEADY, None, previous=before, at=POLLED + timedelta(seconds=5))
    (missing,) = [f for f in after.findings if f.code == "secret-copy-missing"]
    assert "gloo's Gateway deployer, for Gateway apps/http" in missing.hint


def test_a_kube_gateways_missing_copy_is_gloos_on_a_first_poll_whatever_the_source_says() -> None:
    """A one-shot check never saw the copy: the pod that mounts it is a kube-gateway, whose copy gloo's
    Gateway deployer renders, even where the source also carries a kubed sync rule."""
    for syncs_by in (None, SYNCS_BY):
        (missing,) = [
            f
            for f in two_namespaces(STEADY, None, syncs_by=syncs_by).findings
            if f.code == "secret-copy-missing"
        ]
        assert missing.hint.startswith(
            "it is rendered by gloo's Gateway deployer, for the kube-gateway's Gateway, in gloo's own"
        )
        assert "--show-labels" not in missing.hint


KUBED, REFLECTOR = "kubed.appscode.com/sync", "reflector.v1.k8s.emberstack.com/"


@pytest.mark.parametrize(
    ("annotations", "words"),
    [
        ({KUBED: "app=x"}, "kubed (config-syncer), into namespaces labelled app=x"),
        ({KUBED: ""}, "kubed (config-syncer), into every namespace"),
        ({REFLECTOR + "reflection-auto-enabled": "true"}, "reflector, auto-enabled on the source"),
        ({REFLECTOR + "reflection-allowed": "True"}, "reflector, allowed on the source"),
        ({REFLECTOR + "reflection-allowed": "false"}, None),
        ({"meta.helm.sh/release-name": "gloo"}, None),
    ],
)
def test_a_sources_sync_rule_from_its_annotations(annotations: dict[str, str], words: str | None) -> None:
    assert sync_rule(annotations) == words


def test_a_sync_rule_is_remote_text_clipped_and_inert() -> None:
    words = sync_rule({KUBED: "\x1b[31m" + "x" * 200})
    assert words is not None and "\x1b" not in words and len(words) < 140


def test_a_pod_behind_its_up_to_date_copy_lags_from_the_copys_write() -> None:
    """The copy followed certgen's write 90 s later; the kube-gateway has not picked it up since."""
    written = POLLED - timedelta(minutes=10)
    snapshot = two_namespaces(
        CA_ADDED, CA_ADDED, written=written, copy_written=written + timedelta(seconds=90), held=STEADY
    )
    (lagging,) = [f for f in snapshot.findings if f.code == "target-lagging"]
    assert lagging.pod == KUBE_GATEWAY_POD
    assert _gateway(snapshot).lag_seconds == (POLLED - written).total_seconds() - 90
    assert "secret-copy-stale" not in {f.code for f in snapshot.findings}


def test_a_forbidden_copy_degrades_its_namespace_only_and_keeps_its_last_content() -> None:
    before = two_namespaces()
    at = POLLED + timedelta(seconds=5)
    forbidden = SecretState(CONTEXT, APPS, read_at=at, forbidden=True, observed=False, error="403")
    after = two_namespaces(previous=before, at=at, copy_read=forbidden)
    (item,) = [f for f in after.findings if f.code == "secret-forbidden"]
    assert f"{APPS}/" in item.message
    copy = after.secret_for(CONTEXT, APPS)
    assert copy is not None and copy.state.leaf is not None and copy.state.observed is False
    assert all(t.in_sync_with_secret for t in after.targets)


def test_a_copy_stalled_mid_rotation_is_no_rotation_stalled() -> None:
    """certgen finished a rotation; the copy froze at its first write (two CAs held for 10 minutes):
    that is the copy's lag, not a certgen run that died."""
    start = POLLED - timedelta(minutes=10)
    before = two_namespaces(CA_ADDED, CA_ADDED, written=start, at=start)
    after = two_namespaces(NEW_STEADY, CA_ADDED, written=start + timedelta(seconds=130), previous=before)
    copy = after.secret_for(CONTEXT, APPS)
    assert copy is not None and copy.verdict.phase.value == "stalled"
    assert "rotation-stalled" not in {f.code for f in after.findings}
    assert "secret-copy-stale" in {f.code for f in after.findings}


def test_a_namespace_without_a_copy_read_is_compared_with_the_release_namespaces_secret() -> None:
    snapshot = two_namespaces()
    assert secret_of(snapshot.secrets, CONTEXT, "elsewhere", NAMESPACE) is snapshot.secrets[0]
    assert secret_of(snapshot.secrets, CONTEXT, APPS, NAMESPACE) is snapshot.secrets[1]
    assert secret_of(snapshot.secrets, "other", APPS, NAMESPACE) is None


def test_a_namespace_with_a_gloo_of_its_own_holds_no_copy() -> None:
    """``--all-namespaces`` finds another Gloo installation in ``apps`` (its own gloo, its own certgen):
    its secret is its own, not a copy of gloo-system's, however it differs."""
    other = two_namespaces(STEADY, NEW_STEADY)
    gloo = in_namespace(
        admin_fetch(Component.GLOO, "gloo-7c1e2d3f4-a1b2c", NEW_STEADY, index=9, at=POLLED), APPS
    )
    snapshot = build_snapshot(
        taken_at=POLLED,
        namespace=NAMESPACE,
        contexts=[CONTEXT],
        fetches=[*(t.fetch for t in other.targets if t.fetch is not None), gloo],
        secrets=[s.state for s in other.secrets],
        cronjob=CRONJOB,
        policy=HealthPolicy(),
    )
    assert "secret-copy-stale" not in {f.code for f in snapshot.findings}
    assert "secret-copy-stale" in {f.code for f in other.findings}  # without its gloo: a copy
    assert _gateway(snapshot).copy_behind_seconds is None


def test_another_installations_missing_secret_is_secret_missing_not_silence() -> None:
    """--all-namespaces finds a second Gloo (its own gloo in gloo-b): its secret is no copy, so a missing
    one is that installation's secret-missing (not left to secret-copy-missing, which skips it)."""
    from tests.domain.certs import NOW, make_ca, make_leaf
    from tests.domain.fleet_helpers import CTX, fetch, secret

    ca = make_ca()
    leaf = make_leaf(ca)
    fetches = []
    for namespace, suffix in (("gloo-system", ""), ("gloo-b", "-b")):
        for pod in ("gloo-1", "gateway-proxy-1"):
            one = fetch(pod, leaf.info, [ca.info])
            fetches.append(replace(one, target=replace(one.target, namespace=namespace, pod=pod + suffix)))
    gone = SecretState(CTX, "gloo-b", read_at=NOW, missing=True, error="secret gloo-mtls-certs not found")
    snapshot = build_snapshot(
        taken_at=NOW,
        namespace="gloo-system",
        contexts=[CTX],
        fetches=fetches,
        secrets=[secret(leaf.info, [ca.info]), gone],
        cronjob=None,
        policy=HealthPolicy(),
    )
    (missing,) = [f for f in snapshot.findings if f.code == "secret-missing"]
    assert "gloo-b/gloo-mtls-certs" in missing.message and missing.severity is Severity.CRITICAL
    assert not [f for f in snapshot.findings if f.code.startswith("secret-copy")]
