"""Stopping a background task from the task that owns it.

``task.cancel()`` followed by ``with suppress(CancelledError): await task``
swallows more than the task's own cancellation: if the caller is cancelled
while it waits, that cancellation is suppressed too, and a caller running a
loop goes on as if nothing had asked it to stop. :func:`cancel_and_wait`
waits without that flaw.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has ended, whatever it ended with.

    The task's outcome (its cancellation, an exception, a result) is taken
    and dropped: the caller stopped it and wants none. A cancellation of the
    caller while it waits propagates.
    """
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved, so never reported as unhandled
