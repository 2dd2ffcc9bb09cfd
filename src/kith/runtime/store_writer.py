"""Ordered background writes to the store.

The presence driver reacts to events synchronously (so publishing never waits
for the disk) and hands its writes here. Writes reach the store's single
worker thread in submission order; a failed write is logged, never raised
into the event path, and :meth:`StoreWriter.flush` waits for all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from kith.store.store import Store

__all__ = ["StoreRunner", "StoreWriter"]

Write = Callable[[Store], Any]


class StoreRunner(Protocol):
    """What :class:`kith.store.AsyncStore` offers: run a callable on the store thread."""

    def run(self, fn: Callable[[Store], Any]) -> Awaitable[Any]:
        """Run ``fn(store)`` on the store's worker thread."""
        ...


class StoreWriter:
    """Submits writes in order without making the caller wait."""

    def __init__(self, store: StoreRunner, log: logging.Logger) -> None:
        self._store = store
        self._log = log
        self._pending: set[asyncio.Task[Any]] = set()

    def submit(self, write: Write, what: str) -> None:
        """Schedule ``write``; ``what`` names it in a log line if it fails."""
        task = asyncio.ensure_future(self._store.run(write))
        self._pending.add(task)
        task.add_done_callback(lambda t: self._done(t, what))

    def _done(self, task: asyncio.Task[Any], what: str) -> None:
        self._pending.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._log.warning("could not save %s: %s", what, error)

    async def flush(self) -> None:
        """Wait until every submitted write has finished."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
