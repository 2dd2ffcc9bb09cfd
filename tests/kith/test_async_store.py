"""The async facade: one dedicated worker thread owns the SQLCipher connection."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from kith.account import create_account, open_async_store
from kith.datadir import DataDir
from kith.errors import ContactError, WrongPassphraseError
from kith.keyprotect import Protection
from kith.passphrases import FixedPassphrase
from kith.store import Store
from kith_proto.keys import IdentityKeys

PEER = IdentityKeys(bytes(range(32)))
SECRET = FixedPassphrase("async test passphrase")


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    data_dir = DataDir(tmp_path / "home")
    create_account(data_dir, name="alice", protection=Protection.PASSPHRASE, passphrases=SECRET)
    return data_dir


async def test_operations_run_on_one_dedicated_thread(data_dir: DataDir) -> None:
    store = await open_async_store(data_dir, SECRET)
    try:
        names = {await store.run(lambda s: threading.current_thread().name) for _ in range(5)}
        assert len(names) == 1
        assert names.pop().startswith("kith-store")
        assert threading.current_thread() is threading.main_thread()
    finally:
        await store.close()


async def test_repository_calls_through_the_facade(data_dir: DataDir) -> None:
    store = await open_async_store(data_dir, SECRET)
    try:

        def add(s: Store) -> str:
            return s.contacts.add(PEER.kith_id, PEER.public_key, "bob", 1.0).kith_id

        assert await store.run(add) == PEER.kith_id
        updated = await store.run(
            lambda s: s.contacts.update_presence(PEER.kith_id, "online", "", 2.0)
        )
        assert updated.status == "online"
    finally:
        await store.close()


async def test_errors_cross_the_boundary_typed(data_dir: DataDir) -> None:
    store = await open_async_store(data_dir, SECRET)
    try:
        with pytest.raises(ContactError):
            await store.run(lambda s: s.contacts.remove(PEER.kith_id))
    finally:
        await store.close()


async def test_the_loop_keeps_running_while_unlocking(
    data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kith.keyprotect.protector import unwrap_key

    loop_ran = threading.Event()

    def unwrap_after_the_loop_ran(*args: object) -> bytes:
        # Unlocking on the loop thread would wait here in vain: the loop is blocked.
        assert loop_ran.wait(timeout=10), "the event loop did not run while unlocking"
        return unwrap_key(*args)  # type: ignore[arg-type]

    monkeypatch.setattr("kith.account.unwrap_key", unwrap_after_the_loop_ran)
    asyncio.get_running_loop().call_soon(loop_ran.set)
    store = await open_async_store(data_dir, SECRET)
    await store.close()


async def test_wrong_passphrase_is_reported(data_dir: DataDir) -> None:
    with pytest.raises(WrongPassphraseError):
        await open_async_store(data_dir, FixedPassphrase("nope"))


async def test_run_after_close_is_refused(data_dir: DataDir) -> None:
    store = await open_async_store(data_dir, SECRET)
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.run(lambda s: None)
