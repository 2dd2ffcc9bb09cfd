"""AsyncStore.run holds the loop thread for a short call only (bounded)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from kith.store import Store
from kith.store.async_store import HOLD_SECONDS, AsyncStore

KEY = os.urandom(32)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "k.db"
    Store.create(path, KEY).close()
    return path


async def test_a_short_call_returns_its_result_from_the_worker_thread(db: Path) -> None:
    store = await AsyncStore.open(db, KEY)
    try:
        name = await store.run(lambda s: threading.current_thread().name)
        assert name.startswith("kith-store")
        assert await store.run(lambda s: s.contacts.list()) == []
    finally:
        await store.close()


async def test_a_long_call_lets_the_loop_run_while_it_works(db: Path) -> None:
    store = await AsyncStore.open(db, KEY)
    release = threading.Event()
    ticked = asyncio.Event()

    def slow(s: Store) -> str:
        if not release.wait(timeout=10):
            return "timed out"
        return "done"

    async def ticker() -> None:
        ticked.set()
        release.set()

    try:
        tick = asyncio.ensure_future(ticker())
        started = time.perf_counter()
        assert await store.run(slow) == "done"
        assert ticked.is_set()  # the loop ran the ticker while the call was pending
        assert time.perf_counter() - started < 5
        await tick
    finally:
        await store.close()


async def test_an_error_in_a_short_or_long_call_reaches_the_caller(db: Path) -> None:
    store = await AsyncStore.open(db, KEY)

    def fails_at_once(s: Store) -> None:
        raise ValueError("bad input")

    def fails_late(s: Store) -> None:
        time.sleep(HOLD_SECONDS * 5)
        raise ValueError("bad late input")

    try:
        with pytest.raises(ValueError, match="bad input"):
            await store.run(fails_at_once)
        with pytest.raises(ValueError, match="bad late input"):
            await store.run(fails_late)
        assert await store.run(lambda s: 1) == 1  # the worker goes on
    finally:
        await store.close()


async def test_a_closed_store_refuses_calls(db: Path) -> None:
    store = await AsyncStore.open(db, KEY)
    await store.close()
    with pytest.raises(RuntimeError):
        await store.run(lambda s: 1)
