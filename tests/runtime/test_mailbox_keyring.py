"""MailboxKeyring on a real store: one key per contact, rotation when due,
retired keys kept for the window then deleted, announced keys checked."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kith.runtime.chat.mailbox_keyring import (
    KEEP_RETIRED,
    ROTATE_AFTER,
    BadMailboxKeyError,
    MailboxKeyring,
)
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto.keys import IdentityKeys
from kith_proto.mailbox_seal import RotatingKeyPair

_A, _C = IdentityKeys.generate(), IdentityKeys.generate()
ALICE, CAROL = _A.kith_id, _C.kith_id


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    key = os.urandom(32)
    with Store.create(tmp_path / "k.db", key) as created:
        for contact in (_A, _C):
            created.contacts.add(contact.kith_id, contact.public_key, None, 1.0)
    opened = await AsyncStore.open(tmp_path / "k.db", key)
    yield opened
    await opened.close()


async def test_each_contact_gets_its_own_key_kept_until_it_is_due(store: AsyncStore) -> None:
    clock = Clock()
    keys = MailboxKeyring(store, clock)
    first = await keys.current(ALICE)
    assert (await keys.current(CAROL)).key_id != first.key_id  # not linkable across pairs
    clock.now += ROTATE_AFTER - 1
    assert (await keys.current(ALICE)).key_id == first.key_id
    clock.now += 1
    second = await keys.current(ALICE)
    assert second.key_id != first.key_id
    assert set(await keys.own(ALICE)) == {first.key_id, second.key_id}


async def test_a_replaced_key_is_kept_for_the_window_then_deleted(store: AsyncStore) -> None:
    clock = Clock()
    keys = MailboxKeyring(store, clock)
    first = await keys.current(ALICE)
    clock.now += ROTATE_AFTER
    second = await keys.current(ALICE)  # first retired now
    clock.now += KEEP_RETIRED - 1
    assert await keys.purge(force=True) == 0
    assert first.key_id in await keys.own(ALICE)
    clock.now += 2
    assert await keys.purge() == 0  # purged less than an hour ago: not looked at
    assert await keys.purge(force=True) == 1
    assert set(await keys.own(ALICE)) == {second.key_id}


async def test_an_announced_key_is_what_items_are_sealed_to(store: AsyncStore) -> None:
    keys = MailboxKeyring(store, Clock())
    assert await keys.recipient(ALICE) is None
    public = RotatingKeyPair.generate().public_key()
    await keys.announced(ALICE, public.public)
    assert await keys.recipient(ALICE) == public
    # it survives a restart (read back from the store)
    assert await MailboxKeyring(store, Clock()).recipient(ALICE) == public


@pytest.mark.parametrize("bad", [b"", b"\x01" * 1215, b"\xff" * 1216])
async def test_a_bad_announced_key_is_refused_and_changes_nothing(
    store: AsyncStore, bad: bytes
) -> None:
    keys = MailboxKeyring(store, Clock())
    good = RotatingKeyPair.generate().public_key()
    await keys.announced(ALICE, good.public)
    with pytest.raises(BadMailboxKeyError):
        await keys.announced(ALICE, bad)
    assert await keys.recipient(ALICE) == good
    assert await MailboxKeyring(store, Clock()).recipient(ALICE) == good


async def test_a_removed_contacts_keys_are_deleted(store: AsyncStore) -> None:
    keys = MailboxKeyring(store, Clock())
    await keys.current(ALICE)
    await keys.current(CAROL)
    await store.run(lambda s: s.contacts.remove(ALICE))
    assert await keys.purge(force=True) == 1
    assert await keys.own(ALICE) == {}
    assert len(await keys.own(CAROL)) == 1
