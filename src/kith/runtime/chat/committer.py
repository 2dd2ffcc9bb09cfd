"""Persist first, then act: the messaging path's write batcher.

Every conversation call hands its writes and the actions that depend on them
(sending frames, acknowledging, live events) to :meth:`Committer.submit`.
This is group commit: writes submitted while a transaction is running wait
for the next one, and before a transaction starts the loop is let run for as
long as new submissions keep arriving (until ``QUIET_TURNS`` turns in a row
bring none, at most ``GATHER_TURNS`` turns: the data channel hands over about
one datagram a turn), so a busy channel commits many calls in one transaction
and batches grow with the load, while a lone call waits two turns. The
actions of a batch run, in submission order, only after its transaction
committed (``synchronous = FULL``: on disk). That is what makes "stored
before acknowledged" hold without a transaction per frame. A batch of which
no submission is ``durable`` (receipts applied: nothing acknowledged rests
on them; :func:`kith.chat.events.must_reach_disk`) commits without waiting
for the disk.

A failed transaction skips its actions, and its owners' (the conversations
that submitted to it) in-memory state is now ahead of the database: every
later submission of those owners still queued is failed too (it was computed
from that state), and ``on_failure`` is told the owners so it can rebuild them
from the store before they acknowledge anything again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from kith.runtime.store_writer import StoreRunner
from kith.store.store import Store

__all__ = ["Committer"]

Write = Callable[[Store], None]
Action = Callable[[], None]
K = TypeVar("K", bound=Hashable)
GATHER_TURNS = 16
"""Loop turns a batch may wait at most for more submissions before its
transaction starts."""
QUIET_TURNS = 2
"""Turns in a row without a new submission after which the transaction starts."""


@dataclass(slots=True)
class _Submission(Generic[K]):
    writes: list[Write]
    action: Action
    future: asyncio.Future[None]
    owner: K | None
    durable: bool


class Committer(Generic[K]):
    """Batches writes into transactions and runs actions after each commit.

    Args:
        store: The node's store (one worker thread).
        log: Where a failed transaction is reported (its actions are skipped:
            nothing is acknowledged that was not stored).
        on_batch: Runs after the actions of each committed batch (the chat
            link sends the receipts it gathered for the batch).
        on_failure: Runs with the owners of a failed batch, after their
            submissions (and any of theirs queued since) were failed.
        merge: Rewrites a batch's writes, in order, into fewer that do the
            same (run on the store thread, inside the transaction).
    """

    def __init__(
        self,
        store: StoreRunner,
        log: logging.Logger,
        on_batch: Callable[[], None] = lambda: None,
        on_failure: Callable[[set[K]], None] = lambda owners: None,
        merge: Callable[[list[Write]], list[Write]] = lambda writes: writes,
    ) -> None:
        self._store = store
        self._log = log
        self._on_batch = on_batch
        self._on_failure = on_failure
        self._merge = merge
        self._pending: list[_Submission[K]] = []
        self._task: asyncio.Task[None] | None = None

    def submit(
        self, writes: list[Write], action: Action, owner: K | None = None, *, durable: bool = True
    ) -> asyncio.Future[None]:
        """Queue ``writes``; ``action`` runs once they are committed.

        ``owner`` names whose in-memory state the submission reflects (a
        conversation). ``durable=False`` lets the batch commit without waiting
        for the disk if no other submission of it needs that. Returns a future
        resolved after the action ran, or failed with the store's error (the
        batch, or an earlier batch of the same owner, was not committed), for
        callers that answer a user only when stored.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append(_Submission(writes, action, future, owner, durable))
        if self._task is None:
            self._task = asyncio.ensure_future(self._drain())
        return future

    async def flush(self) -> None:
        """Wait until everything submitted so far has been committed and acted on."""
        while self._task is not None:
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._gather()
                batch, self._pending = self._pending, []
                writes = [w for s in batch for w in s.writes]
                error = await self._commit(writes, any(s.durable for s in batch))
                if error is not None:
                    self._fail(batch, error)
                    continue
                for submission in batch:
                    self._finish(submission)
                self._on_batch()
        finally:
            self._task = None

    async def _gather(self) -> None:
        """Let the loop run while submissions keep arriving (a burst of frames
        is read about one datagram a turn), for at most ``GATHER_TURNS`` turns."""
        quiet = 0
        for _ in range(GATHER_TURNS):
            before = len(self._pending)
            await asyncio.sleep(0)
            quiet = quiet + 1 if len(self._pending) == before else 0
            if quiet == QUIET_TURNS:
                return

    async def _commit(self, writes: list[Write], durable: bool) -> BaseException | None:
        if not writes:
            return None
        try:
            await self._store.run(_transaction(writes, self._merge, durable))
        except Exception as exc:
            self._log.error("could not save messages: %s", exc)
            return exc
        return None

    def _fail(self, batch: list[_Submission[K]], error: BaseException) -> None:
        """Fail the batch and whatever its owners queued since (synchronously,
        so nothing of theirs is committed before ``on_failure`` ran)."""
        owners = {s.owner for s in batch if s.owner is not None}
        later = [s for s in self._pending if s.owner is not None and s.owner in owners]
        self._pending = [s for s in self._pending if s.owner is None or s.owner not in owners]
        for submission in batch + later:
            _settle(submission.future, error)
        if owners:
            self._on_failure(owners)

    def _finish(self, submission: _Submission[K]) -> None:
        error = None
        try:
            submission.action()
        except Exception as exc:
            self._log.exception("a messaging action failed")
            error = exc
        _settle(submission.future, error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
        future.exception()  # retrieved: callers that do not wait must not log it


def _transaction(
    writes: list[Write], merge: Callable[[list[Write]], list[Write]], durable: bool
) -> Callable[[Store], Any]:
    def run(store: Store) -> None:
        with store.transaction(sync=durable):
            for write in merge(writes):
                write(store)

    return run
