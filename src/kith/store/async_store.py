"""The async facade over :class:`~kith.store.store.Store`.

All SQLCipher work happens on one dedicated worker thread: the connection is
created there and only ever used there, so sqlite's same-thread check stays
on. Blocking key unwrapping (Argon2id) for async callers goes through the same
executor (see :meth:`AsyncStore.open_unlocked`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from kith.store.store import Store

__all__ = ["AsyncStore"]

T = TypeVar("T")


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
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._store.call, fn)

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
