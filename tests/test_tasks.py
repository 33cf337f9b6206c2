"""cancel_and_wait stops tasks that swallow their cancellation (grpc.aio's AioRpcError(CANCELLED) caught by
a retry loop; 3.11's wait_for returning a result that came with the cancel)."""

from __future__ import annotations

import asyncio
import contextlib

from gloomon.tasks import cancel_and_wait


async def _stubborn(swallow: int, ran: list[str]) -> None:
    """Swallows its first ``swallow`` cancellations, as a retry loop around a gRPC stream would."""
    for _ in range(swallow):
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.Event().wait()
        ran.append("swallowed")
    await asyncio.Event().wait()


async def test_tasks_that_swallow_cancels_are_cancelled_until_done() -> None:
    ran: list[str] = []
    tasks = [asyncio.create_task(_stubborn(n, ran)) for n in (0, 1, 3)]
    await asyncio.sleep(0)
    stopping = asyncio.create_task(cancel_and_wait(*tasks, None, retry=0.05))
    done, _ = await asyncio.wait({stopping}, timeout=10)
    assert stopping in done and all(task.cancelled() for task in tasks)
    assert ran == ["swallowed"] * 4


async def test_finished_and_failed_tasks_are_waited_without_raising() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed, finished = asyncio.create_task(fails()), asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0.01)
    await cancel_and_wait(failed, finished)  # neither raises nor hangs
    assert failed.done() and finished.done()
