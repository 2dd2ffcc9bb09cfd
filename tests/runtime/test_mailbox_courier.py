"""MailboxCourier with an in-memory port and real stores (SQLCipher) for the
mailbox keys: sealing (to the announced key or the identity key), dedup,
opening, dropping and counting."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from kith.runtime.chat.mailbox import MAILBOX_MAX_AGE, MailboxCourier
from kith.runtime.chat.mailbox_keyring import MailboxKeyring
from kith.signaling import MailboxBatch, MailboxRefused
from kith.store import Store
from kith.store.async_store import AsyncStore
from kith_proto import IdentityKeys
from kith_proto.mailbox_seal import Kem, item_key
from kith_proto.pair import PairChannel

NOW = 1_800_000_000.0
ALICE, BOB = IdentityKeys.generate(), IdentityKeys.generate()
TO_BOB, FROM_ALICE = PairChannel(ALICE, BOB.public_key), PairChannel(BOB, ALICE.public_key)


class MemoryPort:
    """The server's mailbox in a list; ``refuse`` makes deposits fail."""

    def __init__(self) -> None:
        self.items: list[tuple[int, bytes, bytes]] = []
        self.refuse = False

    async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = 1) -> None:  # noqa: ASYNC109
        if self.refuse:
            raise MailboxRefused("mailbox_full", "full")
        self.items.append((len(self.items) + 1, topic, item))

    async def mailbox_fetch(self, token: bytes, timeout: float = 1) -> MailboxBatch:  # noqa: ASYNC109
        return MailboxBatch(tuple((i, item) for i, _, item in self.items), False)

    async def mailbox_ack(self, token: bytes, ids: Iterable[int], timeout: float = 1) -> None:  # noqa: ASYNC109
        gone = set(ids)
        self.items = [entry for entry in self.items if entry[0] not in gone]


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[dict[str, AsyncStore]]:
    """Alice's and Bob's node stores."""
    opened = {}
    for name, contact in (("alice", BOB), ("bob", ALICE)):
        key = os.urandom(32)
        with Store.create(tmp_path / f"{name}.db", key) as created:
            created.contacts.add(contact.kith_id, contact.public_key, None, 1.0)
        opened[name] = await AsyncStore.open(tmp_path / f"{name}.db", key)
    yield opened
    for store in opened.values():
        await store.close()


def _courier(port: MemoryPort, store: AsyncStore, now: float = NOW) -> MailboxCourier:
    def clock() -> float:
        return now

    return MailboxCourier(port, MailboxKeyring(store, clock), clock, logging.getLogger("test"))


async def test_a_deposited_frame_opens_for_the_recipient_only(
    stores: dict[str, AsyncStore],
) -> None:
    port = MemoryPort()
    assert await _courier(port, stores["alice"]).deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert port.items[0][1] == TO_BOB.mailbox_out_topic.raw == FROM_ALICE.mailbox_in_topic.raw
    opened = await _courier(port, stores["bob"]).fetch(ALICE.kith_id, FROM_ALICE)
    assert (opened.frames, opened.dropped) == ([(1, b"frame")], [])


async def test_an_outbox_entry_is_deposited_once(stores: dict[str, AsyncStore]) -> None:
    port = MemoryPort()
    courier = _courier(port, stores["alice"])
    await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert len(port.items) == 1
    assert courier.was_deposited(BOB.kith_id, "e1")


async def test_a_refused_deposit_is_tried_again_later(
    stores: dict[str, AsyncStore], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    port = MemoryPort()
    courier = _courier(port, stores["alice"])
    port.refuse = True
    assert not await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert not courier.was_deposited(BOB.kith_id, "e1")
    assert "mailbox_full" in caplog.text
    port.refuse = False
    assert await courier.deposit(BOB.kith_id, TO_BOB, b"frame", "e1")
    assert len(port.items) == 1


async def test_a_tampered_item_is_dropped_and_the_others_open(
    stores: dict[str, AsyncStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = MemoryPort()
    courier = _courier(port, stores["alice"])
    for n in range(3):
        await courier.deposit(BOB.kith_id, TO_BOB, f"f{n}".encode(), f"e{n}")
    ident, topic, item = port.items[1]
    port.items[1] = (ident, topic, item[:-1] + bytes([item[-1] ^ 1]))
    opened = await courier.fetch(ALICE.kith_id, FROM_ALICE)
    assert [frame for _, frame in opened.frames] == [b"f0", b"f2"]
    assert opened.dropped == [2]
    assert "tampered" in caplog.text
    await courier.ack(FROM_ALICE, [*opened.dropped, *(i for i, _ in opened.frames)])
    assert port.items == []


async def test_an_item_older_than_the_max_age_is_dropped_as_stale(
    stores: dict[str, AsyncStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = MemoryPort()
    await _courier(port, stores["alice"], NOW - MAILBOX_MAX_AGE - 60).deposit(
        BOB.kith_id, TO_BOB, b"old"
    )
    opened = await _courier(port, stores["bob"]).fetch(ALICE.kith_id, FROM_ALICE)
    assert (opened.frames, opened.dropped) == ([], [1])
    assert "stale" in caplog.text


async def test_an_item_for_another_pair_does_not_open(stores: dict[str, AsyncStore]) -> None:
    port = MemoryPort()
    carol = IdentityKeys.generate()
    await _courier(port, stores["alice"]).deposit(
        carol.kith_id, PairChannel(ALICE, carol.public_key), b"x"
    )
    opened = await _courier(port, stores["bob"]).fetch(ALICE.kith_id, FROM_ALICE)
    assert opened.dropped == [1]


async def test_a_server_without_a_mailbox_is_said_once_until_the_next_connection(
    stores: dict[str, AsyncStore],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)

    class NoMailbox(MemoryPort):
        async def mailbox_deposit(self, topic: bytes, item: bytes, timeout: float = 1) -> None:  # noqa: ASYNC109
            raise MailboxRefused("mailbox_unavailable", "no --data-dir")

    courier = _courier(NoMailbox(), stores["alice"])
    for n in range(3):
        assert not await courier.deposit(BOB.kith_id, TO_BOB, b"frame", f"e{n}")
    assert not courier.available
    assert caplog.text.count("keeps no mailbox") == 1
    courier.connected()
    assert courier.available


async def test_after_an_announcement_items_are_sealed_to_the_announced_key(
    stores: dict[str, AsyncStore],
) -> None:
    port = MemoryPort()
    alice, bob = _courier(port, stores["alice"]), _courier(port, stores["bob"])
    assert await alice.deposit(BOB.kith_id, TO_BOB, b"before")  # never connected: fallback
    bobs_key = await bob.keys.current(ALICE.kith_id)  # what Bob announces on a channel
    await alice.keys.announced(BOB.kith_id, bobs_key.public)
    assert await alice.deposit(BOB.kith_id, TO_BOB, b"after")
    assert [item_key(item) for _, _, item in port.items] == [
        (Kem.IDENTITY, bytes(8)),
        (Kem.ROTATING, bobs_key.key_id),
    ]
    # Bob's store holds the private half under that ID; both open
    own = await stores["bob"].run(lambda s: s.mailbox_keys.own(ALICE.kith_id))
    assert [k.key_id for k in own] == [bobs_key.key_id]
    opened = await bob.fetch(ALICE.kith_id, FROM_ALICE)
    assert ([f for _, f in opened.frames], opened.dropped) == ([b"before", b"after"], [])


async def test_an_item_sealed_to_a_deleted_key_is_dropped_counted_and_the_rest_open(
    stores: dict[str, AsyncStore], caplog: pytest.LogCaptureFixture
) -> None:
    port = MemoryPort()
    alice = _courier(port, stores["alice"])
    old_keys = MailboxKeyring(stores["bob"], lambda: NOW - 20 * 86_400)
    old = await old_keys.current(ALICE.kith_id)  # made 20 days ago
    await alice.keys.announced(BOB.kith_id, old.public)
    await alice.deposit(BOB.kith_id, TO_BOB, b"to the old key")
    bob = _courier(port, stores["bob"])
    new = await bob.keys.current(ALICE.kith_id)  # due: replaces it; the old one stays
    assert new.key_id != old.key_id
    await alice.keys.announced(BOB.kith_id, new.public)
    await alice.deposit(BOB.kith_id, TO_BOB, b"to the new key")
    # 15 days after the replacement the old private key is gone from Bob's store
    later = MailboxKeyring(stores["bob"], lambda: NOW + 15 * 86_400 + 1)
    assert await later.purge(force=True) == 1
    own = await stores["bob"].run(lambda s: s.mailbox_keys.own(ALICE.kith_id))
    assert [k.key_id for k in own] == [new.key_id]
    opened = await bob.fetch(ALICE.kith_id, FROM_ALICE)
    assert [f for _, f in opened.frames] == [b"to the new key"]
    assert opened.dropped == [1]
    assert bob.dropped == {"unknown_key": 1}
    assert "unknown_key; 1 so far" in caplog.text
    assert "no longer holds" in caplog.text
