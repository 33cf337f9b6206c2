"""sds-not-delivered speaks only of pods that run an ``sds`` container: a pod without one (mTLS not
enabled for it) has no certificate to wait for, and Gloo without mTLS is one state, not a critical per pod."""

from __future__ import annotations

import dataclasses

from gloomon.domain.health import targets as health_targets
from gloomon.domain.health.policy import Context, HealthPolicy
from gloomon.lab import snapshots as fx


def test_gloo_without_mtls_has_no_per_pod_sds_finding() -> None:
    snapshot = fx.no_mtls()
    assert snapshot.mtls.value == "not-enabled"
    assert "sds-not-delivered" not in {finding.code for finding in snapshot.findings}


def test_a_pod_running_sds_without_a_certificate_is_still_found() -> None:
    (target,) = fx.no_mtls().targets
    pod = target.ref.pod_info
    assert pod is not None and "sds" not in pod.containers
    ctx = Context(fx.POLLED, fx.NAMESPACE, HealthPolicy(), None, None, 130.0)
    with_sds = dataclasses.replace(pod, containers=(*pod.containers, "sds"))
    moved = dataclasses.replace(target, ref=dataclasses.replace(target.ref, pod_info=with_sds))
    assert "sds-not-delivered" in {f.code for f in health_targets.target_findings(moved, [], ctx)}
    assert "sds-not-delivered" not in {f.code for f in health_targets.target_findings(target, [], ctx)}
