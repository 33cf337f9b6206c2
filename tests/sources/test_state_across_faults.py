"""What a live session keeps across faults, against one lab: a forbidden secret, an API outage, a pod
restart. A poll that cannot observe something keeps what it last observed; it never reports it as new.

The tests share a lab and a live session and run in file order; each leaves the lab healthy again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from gloomon.domain.compare.history import RotationHistory
from gloomon.domain.model import Component, FleetSnapshot, Phase, Severity, TargetStatus
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.lab]

#: long enough that phase 1 of a rotation outlasts every test here
ROTATION_SECONDS = 90.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab() -> AsyncIterator[Lab]:
    async with Lab(scenario="healthy", rotation_duration=ROTATION_SECONDS) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(lab: Lab, lab_settings: Callable[..., Settings]) -> AsyncIterator[MonitorSession]:
    async with MonitorSession(lab_settings(lab)) as running:
        yield running


def _row(snapshot: FleetSnapshot, pod: str) -> TargetStatus:
    return next(t for t in snapshot.targets if t.ref.pod == pod)


def _all_reachable(snapshot: FleetSnapshot, lab: Lab) -> bool:
    return not snapshot.errors and {t.ref.pod for t in snapshot.targets if t.reachable} >= set(lab.pods())


async def test_a_forbidden_secret_mid_rotation_restarts_no_clock(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    """Forbid, then allow, secrets while a frozen pod lags behind phase 1: the secret's phase and write
    time, the pod's lag clock and the timeline's secret changes are the same before, during and after."""
    await eventually(session.poll_once, lambda s: _all_reachable(s, lab), timeout=20, what="a healthy poll")
    frozen = lab.pods(Component.GATEWAY_PROXY)[0]
    lab.freeze_pod(frozen)
    history = RotationHistory()
    try:
        await lab.rotate_now()

        def lagging(snapshot: FleetSnapshot) -> bool:
            history.add_snapshot(snapshot)
            secret = snapshot.secret
            row = _row(snapshot, frozen)
            return (
                secret is not None
                and secret.verdict.phase is Phase.CA_ADDED
                and row.in_sync_with_secret is False
                and row.lag_since is not None
            )

        before = await eventually(session.poll_once, lagging, timeout=30, what=f"{frozen} lagging phase 1")
        assert before.secret is not None
        (timeline,) = history.timelines
        changes = len(timeline.changes)
        lab.forbid_secrets()
        during = [await session.poll_once() for _ in range(2)]
        lab.forbid_secrets(False)
        after = await eventually(
            session.poll_once,
            lambda s: s.secret is not None and s.secret.state.observed,
            timeout=10,
            what="the secret readable again",
        )
        for snapshot in [*during, after]:
            history.add_snapshot(snapshot)
            secret = snapshot.secret
            assert secret is not None
            assert secret.verdict.phase is Phase.CA_ADDED
            assert secret.content_since == before.secret.content_since
            row = _row(snapshot, frozen)
            assert row.in_sync_with_secret is False
            assert row.lag_since == _row(before, frozen).lag_since
        assert all(s.secret is not None and s.secret.state.forbidden for s in during)
        assert any(f.code == "secret-forbidden" for f in during[-1].findings)
        assert len(timeline.changes) == changes, [change.phase for change in timeline.changes]
    finally:
        lab.forbid_secrets(False)
        lab.freeze_pod(frozen, False)


async def test_a_restarted_pod_leaves_the_table_at_once(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    """Once the API no longer lists a deleted pod, no snapshot has a row or a finding about it, and the
    restart raises no warning: the component's new pod takes its place."""
    await eventually(session.poll_once, lambda s: _all_reachable(s, lab), timeout=20, what="a healthy poll")
    old = lab.pods(Component.GATEWAY_PROXY)[0]
    new = await lab.restart_pod(old)  # returns once the API lists the new pod and not the old one
    snapshots = [await session.poll_once()]
    snapshots.append(
        await eventually(
            session.poll_once,
            lambda s: any(t.ref.pod == new and t.reachable for t in s.targets),
            timeout=20,
            what=f"the new pod {new} reachable",
        )
    )
    for snapshot in snapshots:
        assert old not in {t.ref.pod for t in snapshot.targets}
        about_old = [f for f in snapshot.findings if f.pod == old or old in f.message or old in f.hint]
        assert not about_old, about_old
        loud = [f for f in snapshot.findings if f.severity.rank >= Severity.WARNING.rank]
        assert not loud, loud


async def test_an_api_outage_keeps_the_rows_stale_with_one_finding(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    """While the API is unreachable every row keeps the certificates last read, marked stale; the
    outage is the one finding (no per-pod admin-unreachable, no port-forward hints); then it heals."""
    before = await eventually(
        session.poll_once, lambda s: _all_reachable(s, lab), timeout=20, what="a healthy poll"
    )
    await lab.api_outage(4.0)
    during = await session.poll_once()
    assert any("cannot reach the Kubernetes API" in error for error in during.errors), during.errors
    assert {t.ref.pod for t in during.targets} == {t.ref.pod for t in before.targets}
    for target in during.targets:
        assert target.stale_since is not None, target.ref.pod
        assert target.leaf == _row(before, target.ref.pod).leaf
        assert target.bundle == _row(before, target.ref.pod).bundle
    assert [f.code for f in during.findings if f.severity.rank >= Severity.WARNING.rank] == ["source-error"]
    assert not [f for f in during.findings if f.pod is not None and "Kubernetes API" in f.message]
    after = await eventually(
        session.poll_once,
        lambda s: _all_reachable(s, lab) and all(t.stale_since is None for t in s.targets),
        timeout=20,
        what="fresh rows after the outage",
    )
    assert not [f for f in after.findings if f.code == "source-error"]
