"""The async facade over :class:`~kith.store.store.Store`.

All SQLCipher work happens on one dedicated worker thread: the connection is
created there and only ever used there, so sqlite's same-thread check stays
on. Blocking key unwrapping (Argon2id) for async callers goes through the same
executor (see :meth:`AsyncStore.open_unlocked`).

Handing a call to that thread and awaiting it is cheap in CPU but dear in
time when the loop is busy: the worker gives the GIL up around every
sqlite step (and the fsync of a commit) and must get it back from the loop
thread, which keeps it for up to the switch interval (5 ms) each time; a
transaction of twenty statements took 0.26 ms with an idle loop and 26 ms
beside a busy one. So :meth:`AsyncStore.run` first waits for the result
with the loop thread blocked (GIL released, so the worker runs unhindered)
for at most :data:`HOLD_SECONDS`, and only a call that takes longer is
awaited while the loop runs on. The loop is thus held at most that long per
call; a short call (a group commit, a lookup) costs no thread handoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitTimeout
from pathlib import Path
from typing import Final, TypeVar

from kith.store.store import Store

__all__ = ["AsyncStore"]

T = TypeVar("T")
HOLD_SECONDS: Final = 0.002
"""How long :meth:`AsyncStore.run` blocks the loop thread waiting for a call
before it awaits the rest (a commit's fsync is 0.2-0.7 ms on the reference
machine)."""


class AsyncStore:
    """Runs store operations on a single worker thread, awaitable from asyncio.

    Use ``await store.run(lambda s: s.contacts.list())``; the callable receives
    the thread-bound :class:`Store` and must not keep references to it.
    """

    def __init__(self, executor: ThreadPoolExecutor, store: Store) -> None:
        self._executor = executor
        self._store = store
        self._closed = False

    @staticmethod
    def new_executor() -> ThreadPoolExecutor:
        """The single-thread executor every store operation runs on."""
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="kith-store")

    @classmethod
    async def open(cls, path: Path, key: bytes) -> AsyncStore:
        """Open an existing database on a new worker thread."""
        return await cls.open_unlocked(lambda: (path, key))

    @classmethod
    async def open_unlocked(cls, unlock: Callable[[], tuple[Path, bytes]]) -> AsyncStore:
        """Run ``unlock`` (blocking: e.g. Argon2id) then open, both on the worker thread."""
        executor = cls.new_executor()

        def work() -> Store:
            path, key = unlock()
            return Store.open(path, key)

        try:
            store = await asyncio.get_running_loop().run_in_executor(executor, work)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(executor, store)

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(store)`` on the worker thread and return its result."""
        if self._closed:
            raise RuntimeError("the store is closed")
        done = self._executor.submit(self._store.call, fn)
        try:
            result = done.result(timeout=HOLD_SECONDS)
        except WaitTimeout:
            return await asyncio.wrap_future(done)
        await asyncio.sleep(0)  # still one loop turn per call: a loop of calls cannot starve others
        return result

    async def close(self) -> None:
        """Close the connection (on its thread) and stop the worker."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._store.close)
        finally:
            self._executor.shutdown(wait=True)
