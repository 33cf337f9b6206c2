"""Self-healing against one lab with fast rotations: a forbidden secret, cut forwards and log streams, pod
restart, API outage.

The tests share a lab and a live session and run in file order; each leaves the lab healthy again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio

from gloomon.domain.model import Component, FleetSnapshot, ForwardStatus, LogEvent
from gloomon.lab import Lab
from gloomon.settings import Settings
from gloomon.sources.kube.forwards import BACKOFF_CAP
from gloomon.sources.session import MonitorSession

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.lab]

INTERVAL = 1.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def lab(make_lab: Callable[..., Lab]) -> AsyncIterator[Lab]:
    async with make_lab("lagging") as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def session(lab: Lab, lab_settings: Callable[..., Settings]) -> AsyncIterator[MonitorSession]:
    async with MonitorSession(lab_settings(lab, interval=INTERVAL)) as running:
        yield running


def _healthy(snapshot: FleetSnapshot, lab: Lab) -> bool:
    """Every current lab pod is a reachable target behind an UP forward, and no source error."""
    live = {
        t.ref.pod for t in snapshot.targets if t.reachable and t.ref.forward and t.ref.forward.status == "up"
    }
    return not snapshot.errors and set(lab.pods()) <= live


async def test_session_starts_healthy(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    await eventually(session.poll_once, lambda s: _healthy(s, lab), timeout=15, what="a healthy first poll")


async def test_first_poll_of_a_new_session_reports_the_lagging_target(
    lab: Lab, lab_settings: Callable[..., Settings], eventually: Callable[..., Any]
) -> None:
    """The secret's last write time (managedFields) seeds the lag, so a one-shot check sees it."""
    grace = 2 * 2.0  # 2 x the scenario's --rotation-duration=2s (policy default)

    def written_ago() -> float:
        assert lab.store.secret is not None
        return (datetime.now(UTC) - lab.store.secret.updated).total_seconds()

    await eventually(written_ago, lambda age: age > grace + 1.5, timeout=30, what="the lag to pass grace")
    async with MonitorSession(lab_settings(lab)) as fresh:
        snapshot = await fresh.poll_once()
    assert snapshot.secret is not None and lab.store.secret is not None
    updated = snapshot.secret.state.updated_at
    assert updated == lab.store.secret.updated.astimezone(UTC).replace(microsecond=0)
    assert snapshot.secret.content_since == updated
    lagging = [f for f in snapshot.findings if f.code == "target-lagging"]
    assert [f.pod for f in lagging] and all(f.pod in lab.pods(Component.GATEWAY_PROXY) for f in lagging)


async def test_forbidden_secret_is_a_state_not_a_failure(lab: Lab, session: MonitorSession) -> None:
    lab.forbid_secrets(True)
    try:
        snapshot = await session.poll_once()
    finally:
        lab.forbid_secrets(False)
    assert snapshot.secret is not None
    state = snapshot.secret.state
    assert state.forbidden
    assert state.error is not None and "forbidden (403)" in state.error
    assert all(target.reachable for target in snapshot.targets)
    assert not (await session.poll_once()).secret.state.forbidden  # type: ignore[union-attr]


async def test_cut_port_forwards_recover(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    before = {ref.pod: ref.forward.local_address for ref in session.targets() if ref.forward}
    assert await lab.cut_port_forwards() > 0
    await eventually(session.poll_once, lambda s: _healthy(s, lab), timeout=15, what="forwards to recover")
    after = {ref.pod: ref.forward.local_address for ref in session.targets() if ref.forward}
    assert after == before  # same local addresses: a user's curl keeps working


async def test_cut_log_streams_resume_without_loss_or_repeats(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    updates_after_cut: list[LogEvent] = []
    cut_done = asyncio.Event()

    ring: dict[int, LogEvent] = {}  # the ring as a reader mirrors it: by line number

    async def collect() -> None:
        async for batch in session.log_batches():
            for number in [n for n in ring if n >= batch.start]:
                del ring[number]  # late lines were merged in: the ring changed from here on
            for number, event in enumerate(batch.events, batch.start):
                ring[number] = event
                if event.container == "sds" and "seq" in event.fields and cut_done.is_set():
                    updates_after_cut.append(event)

    collector = asyncio.create_task(collect())
    try:
        await eventually(
            lambda: {(e.pod, e.container) for e in ring.values() if e.container == "sds"},
            lambda streams: len(streams) >= 5,
            timeout=10,
            what="the sds log backlog of 5 pods",
        )
        await lab.rotate_now()
        for _ in range(3):
            assert await lab.cut_log_streams() > 0
            await asyncio.sleep(0.5)
        cut_done.set()
        await eventually(
            lambda: {e.pod for e in updates_after_cut},
            lambda pods: len(pods) >= 4,
            timeout=30,
            what="sds lines from 4 pods after the cuts",
        )
        await session.poll_once()  # reconcile (certgen pods come and go meanwhile)
        await asyncio.sleep(0.5)  # let the flusher hand over the last batch
    finally:
        collector.cancel()
    for event in (ring[number] for number in sorted(ring)):
        seq = event.fields.get("seq")
        if event.container == "sds" and seq is not None:
            seen[(event.pod, event.container)].append(int(seq))
    for (pod, container), numbers in seen.items():
        assert len(numbers) == len(set(numbers)), f"{pod}/{container} repeated lines: {numbers}"
        assert sorted(numbers) == list(range(min(numbers), max(numbers) + 1)), f"{pod}/{container} lost lines"
        assert min(numbers) == 1, f"{pod}/{container} backlog incomplete"


async def test_restarted_pod_is_retargeted_within_interval_plus_backoff(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    old = lab.pods(Component.GATEWAY_PROXY)[0]
    old_address = next(
        ref.forward.local_address for ref in session.targets() if ref.pod == old and ref.forward
    )
    new = await lab.restart_pod(old)
    await session.poll_once()  # the first connection to the gone pod reports it; healing starts
    snapshot = await eventually(
        session.poll_once,
        lambda s: any(t.ref.pod == new and t.reachable for t in s.targets),
        timeout=INTERVAL + BACKOFF_CAP + 5,
        what=f"a reachable target for the new pod {new}",
    )
    rows = {t.ref.pod: t for t in snapshot.targets}
    new_forward = rows[new].ref.forward
    assert new_forward is not None and new_forward.local_address == old_address
    if old in rows:  # the old pod's row stays a little while, unreachable, saying why
        assert not rows[old].reachable
        old_forward = rows[old].ref.forward
        assert old_forward is not None and old_forward.status is ForwardStatus.DOWN
        assert "gone" in (old_forward.error or "")


async def test_api_outage_is_reported_then_recovers(
    lab: Lab, session: MonitorSession, eventually: Callable[..., Any]
) -> None:
    targets_before = {ref.pod for ref in session.targets()}
    await lab.api_outage(3.0)
    during = await session.poll_once()
    assert any("cannot reach the Kubernetes API" in error for error in during.errors), during.errors
    assert {t.ref.pod for t in during.targets} >= set(lab.pods())  # rows stay while the API is away
    assert targets_before >= set(lab.pods())
    assert during.secret is not None and during.secret.state.bundle is not None  # last known secret kept
    await eventually(
        session.poll_once, lambda s: _healthy(s, lab), timeout=20, what="recovery after the outage"
    )


async def test_snapshots_iterator_and_refresh_now(session: MonitorSession) -> None:
    generations: list[int] = []

    async def consume() -> None:
        async for snapshot in session.snapshots():
            generations.append(snapshot.generation)
            if len(generations) == 3:
                return
            session.refresh_now()

    await asyncio.wait_for(consume(), timeout=30)
    assert generations == sorted(generations) and len(set(generations)) == 3
