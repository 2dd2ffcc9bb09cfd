"""Persist first, then act: the messaging path's write batcher.

Every conversation call hands its writes and the actions that depend on them
(sending frames, acknowledging, live events) to :meth:`Committer.submit`.
Writes submitted while a transaction is running wait for the next one, so a
busy channel commits many calls in one transaction; the actions of a batch
run, in submission order, only after its transaction committed. That is what
makes "stored before acknowledged" hold without a transaction per frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from kith.runtime.store_writer import StoreRunner
from kith.store.store import Store

__all__ = ["Committer"]

Write = Callable[[Store], None]
Action = Callable[[], None]


class Committer:
    """Batches writes into transactions and runs actions after each commit.

    Args:
        store: The node's store (one worker thread).
        log: Where a failed transaction is reported (its actions are skipped:
            nothing is acknowledged that was not stored).
        on_batch: Runs after the actions of each committed batch (the chat
            link sends the receipts it gathered for the batch).
    """

    def __init__(
        self,
        store: StoreRunner,
        log: logging.Logger,
        on_batch: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._log = log
        self._on_batch = on_batch
        self._writes: list[Write] = []
        self._actions: list[tuple[Action, asyncio.Future[None] | None]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, writes: list[Write], action: Action) -> asyncio.Future[None]:
        """Queue ``writes``; ``action`` runs once they are committed.

        Returns a future resolved after the action ran (or failed with the
        store's error), for callers that answer a user only when stored.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._writes += writes
        self._actions.append((action, future))
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())
        return future

    async def flush(self) -> None:
        """Wait until everything submitted so far has been committed and acted on."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._actions:
                writes, self._writes = self._writes, []
                actions, self._actions = self._actions, []
                error = await self._commit(writes)
                for action, future in actions:
                    self._finish(action, future, error)
                if error is None:
                    self._on_batch()
        finally:
            self._task = None

    async def _commit(self, writes: list[Write]) -> BaseException | None:
        if not writes:
            return None
        try:
            await self._store.run(_transaction(writes))
        except Exception as exc:
            self._log.error("could not save messages: %s", exc)
            return exc
        return None

    def _finish(
        self, action: Action, future: asyncio.Future[None] | None, error: BaseException | None
    ) -> None:
        if error is None:
            try:
                action()
            except Exception as exc:
                self._log.exception("a messaging action failed")
                error = exc
        if future is not None and not future.done():
            _settle(future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
        future.exception()  # retrieved: callers that do not wait must not log it


def _transaction(writes: list[Write]) -> Callable[[Store], Any]:
    def run(store: Store) -> None:
        with store.transaction():
            for write in writes:
                write(store)

    return run
