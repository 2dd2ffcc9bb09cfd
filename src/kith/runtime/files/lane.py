"""A serial lane: coroutines run one after another, in submission order.

Everything about one contact's file transfers goes through one lane, so a
chunk is stored before the acknowledgement that follows it is sent, and a
frame is handled only after the one before it, while other contacts (and the
rest of the node) go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

__all__ = ["SerialLane"]

Job = Callable[[], Awaitable[None]]


class SerialLane:
    """Runs submitted jobs one at a time; a failing job is logged and the next runs.

    Args:
        log: Where failures go.
        label: Names the lane in the log (never a secret).
    """

    def __init__(self, log: logging.Logger, label: str) -> None:
        self._log = log
        self._label = label
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def submit(self, job: Job) -> None:
        """Run ``job`` after every job submitted before it."""
        self._jobs.put_nowait(job)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def drain(self) -> None:
        """Wait until every job submitted so far has run."""
        done = asyncio.get_running_loop().create_future()

        async def mark() -> None:
            done.set_result(None)

        self.submit(mark)
        await done

    async def close(self) -> None:
        """Stop (jobs not yet started are dropped)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while not self._jobs.empty():
            job = self._jobs.get_nowait()
            try:
                await job()
            except Exception:
                self._log.exception("a file transfer step failed (%s)", self._label)
