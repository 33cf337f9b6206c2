"""Stopping asyncio tasks for good.

A cancelled task can miss its cancellation: grpc.aio turns it into an ``AioRpcError`` (``CANCELLED``)
that a retry loop catches, and Python 3.11's ``wait_for`` returns a result that arrived together with
the cancel (gh-86296). Such a task runs on, and whoever awaited it after ``cancel()`` waits forever (a lab
that never stops, a ``check`` that never ends). :func:`cancel_and_wait` cancels again until it is done.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

#: how long to wait for a cancelled task before cancelling it again
RETRY_SECONDS = 1.0


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None, retry: float = RETRY_SECONDS) -> None:
    """Cancel each task and wait until every one is done; their results and errors are dropped."""
    pending = {task for task in tasks if task is not None}
    while pending := {task for task in pending if not task.done()}:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=retry)
    for done in tasks:
        if done is not None and not done.cancelled():
            with contextlib.suppress(BaseException):
                done.result()
