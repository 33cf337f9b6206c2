"""A pod that is starting, not ready or leaving (a rolling restart) may not listen yet: its unreachable
admin API is information, not a warning; a ready pod that stops answering is still a warning. The same
rule (health.policy.coming_or_going) holds back component-unreachable."""

from __future__ import annotations

import dataclasses

from gloomon.domain.health import targets as health_targets
from gloomon.domain.health.policy import Context, HealthPolicy
from gloomon.domain.model import Severity, TargetStatus
from gloomon.lab import snapshots as fx


def _admin_unreachable(target: TargetStatus, ctx: Context) -> Severity:
    (finding,) = [f for f in health_targets.target_findings(target, [], ctx) if f.code == "admin-unreachable"]
    return finding.severity


def test_a_pod_not_ready_or_leaving_is_info_and_a_ready_one_a_warning() -> None:
    down = [t for t in fx.unreachable().targets if not t.reachable]
    assert down, "the fixture has an unreachable target"
    target = down[0]
    pod = target.ref.pod_info
    assert pod is not None and pod.ready and not pod.deleting
    ctx = Context(fx.POLLED, fx.NAMESPACE, HealthPolicy(), None, None, 130.0)
    assert _admin_unreachable(target, ctx) is Severity.WARNING
    for changed in (dataclasses.replace(pod, ready=False), dataclasses.replace(pod, deleting=True)):
        moved = dataclasses.replace(target, ref=dataclasses.replace(target.ref, pod_info=changed))
        assert _admin_unreachable(moved, ctx) is Severity.INFO
