"""The offline mailbox in a real redis-server: the SQLite file's semantics,
shared by several processes, and nothing in Redis that names anyone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.pair import PairChannel
from kith_proto.server_actions import (
    MailboxAckRequest,
    MailboxDepositRequest,
    MailboxFetchRequest,
)
from kith_proto.wire import ErrorCode
from kith_signal.mailbox.backend import (
    BackendUnavailableError,
    MailboxFullError,
    MailboxLimits,
    StoreFullError,
)
from kith_signal.mailbox.redis_store import RedisMailboxStore
from kith_signal.mailbox.service import Mailbox
from kith_signal.metrics import Metrics
from kith_testkit.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(
    not redis_available(), reason="redis-server missing: run make system-deps"
)

TOPIC = b"t" * 32
OTHER = b"o" * 32
BIG = 1 << 20


def item(n: int, size: int = 1024) -> bytes:
    return n.to_bytes(4, "big") * (size // 4)


def keys_of(server: RedisServer) -> list[bytes]:
    with server.client() as client:
        return sorted(client.keys())


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with RedisServer(tmp_path / "redis") as server:
        yield server


class Stores:
    """Stores on one Redis, each with its own client, like several processes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[RedisMailboxStore] = []

    def open(self, **limits: float) -> RedisMailboxStore:
        store = RedisMailboxStore.from_url(self.url, MailboxLimits(**limits))  # type: ignore[arg-type]
        self.opened.append(store)
        return store

    async def close(self) -> None:
        for store in self.opened:
            await store.aclose()


@pytest.fixture
async def stores(redis_server: RedisServer) -> AsyncIterator[Stores]:
    opened = Stores(redis_server.url)
    yield opened
    await opened.close()


async def test_items_come_back_oldest_first_and_go_on_ack(stores: Stores) -> None:
    box = stores.open()
    ids = [await box.deposit(TOPIC, item(n), now=100.0 + n) for n in range(3)]
    items, more = await box.fetch(TOPIC, now=200.0, max_bytes=BIG)
    assert [i.payload for i in items] == [item(0), item(1), item(2)]
    assert [i.id for i in items] == ids
    assert not more
    assert await box.ack(TOPIC, ids[:2]) == 2
    assert [i.id for i in (await box.fetch(TOPIC, 200.0, BIG))[0]] == [ids[2]]
    assert (box.held_items, box.held_bytes) == (1, 1024)


async def test_a_fetch_is_bounded_says_more_wait_and_gives_one_item_at_least(
    stores: Stores,
) -> None:
    box = stores.open()
    for n in range(5):
        await box.deposit(TOPIC, item(n), now=1.0)
    items, more = await box.fetch(TOPIC, now=2.0, max_bytes=2048)
    assert [i.payload for i in items] == [item(0), item(1)]
    assert more
    items, more = await box.fetch(TOPIC, now=2.0, max_bytes=10)
    assert [i.payload for i in items] == [item(0)]
    assert more
    assert await box.fetch(OTHER, now=2.0, max_bytes=BIG) == ([], False)


async def test_the_same_item_twice_through_two_processes_is_stored_once(stores: Stores) -> None:
    one, two = stores.open(), stores.open()
    assert await one.deposit(TOPIC, item(1), 1.0) == await two.deposit(TOPIC, item(1), 2.0)
    assert one.held_items == two.held_items == 1


async def test_an_ack_of_another_topics_or_unknown_ids_deletes_nothing(stores: Stores) -> None:
    box = stores.open()
    held = await box.deposit(TOPIC, item(1), 1.0)
    assert await box.ack(OTHER, [held, 999]) == 0
    assert await box.ack(TOPIC, [-1, 0, 2**62]) == 0
    assert await box.ack(TOPIC, []) == 0
    assert box.held_items == 1
    assert [i.id for i in (await box.fetch(TOPIC, 2.0, BIG))[0]] == [held]


async def test_expired_items_are_not_returned_and_are_swept(stores: Stores) -> None:
    box = stores.open(ttl=10.0)
    await box.deposit(TOPIC, item(1), now=0.0)
    await box.deposit(TOPIC, item(2), now=5.0)
    assert [i.payload for i in (await box.fetch(TOPIC, now=12.0, max_bytes=BIG))[0]] == [item(2)]
    assert await box.expire(now=12.0) == (1, 1024)
    assert await box.expire(now=12.0) == (0, 0)
    assert (box.held_items, box.held_bytes) == (1, 1024)


async def test_a_sweep_larger_than_one_batch_takes_every_expired_item(stores: Stores) -> None:
    box = stores.open(ttl=1.0)
    for n in range(1203):
        await box.deposit(OTHER if n % 2 else TOPIC, item(n, 8), now=0.0)
    assert await box.expire(now=5.0) == (1203, 1203 * 8)
    assert (box.held_items, box.held_bytes) == (0, 0)


async def test_a_topic_over_its_quota_refuses_with_the_files_message_and_keeps_what_it_holds(
    stores: Stores,
) -> None:
    box = stores.open(topic_items=2)
    await box.deposit(TOPIC, item(1), 1.0)
    await box.deposit(TOPIC, item(2), 1.0)
    with pytest.raises(MailboxFullError, match=r"quota \(2 items"):
        await box.deposit(TOPIC, item(3), 1.0)
    assert await box.deposit(OTHER, item(3), 1.0) > 0
    assert len((await box.fetch(TOPIC, 2.0, BIG))[0]) == 2
    by_bytes = stores.open(topic_bytes=1500)
    with pytest.raises(MailboxFullError):
        await by_bytes.deposit(OTHER, item(4), 1.0)


async def test_the_whole_store_over_its_quota_refuses(stores: Stores) -> None:
    box = stores.open(total_bytes=2048)
    await box.deposit(TOPIC, item(1), 1.0)
    await box.deposit(OTHER, item(2), 1.0)
    with pytest.raises(StoreFullError):
        await box.deposit(TOPIC, item(3), 1.0)
    assert box.held_items == 2


async def test_a_quota_holds_when_processes_deposit_at_once(stores: Stores) -> None:
    boxes = [stores.open(topic_items=5) for _ in range(4)]
    results = await asyncio.gather(
        *(boxes[n % 4].deposit(TOPIC, item(n), 1.0) for n in range(20)),
        return_exceptions=True,
    )
    stored = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, MailboxFullError)]
    assert (len(stored), len(refused)) == (5, 15)
    assert len((await boxes[0].fetch(TOPIC, 2.0, BIG))[0]) == 5


async def test_a_topic_emptied_leaves_no_key_naming_it(
    stores: Stores, redis_server: RedisServer
) -> None:
    box = stores.open()
    ids = [await box.deposit(TOPIC, item(n), 1.0) for n in range(3)]
    await box.ack(TOPIC, ids)
    keys = await asyncio.to_thread(keys_of, redis_server)
    assert keys == [b"kmnext", b"kmtotal"]


async def test_with_appendonly_a_kill_9_loses_nothing_acknowledged(tmp_path: Path) -> None:
    async with RedisServer(tmp_path / "redis", appendonly=True) as server:
        stores = Stores(server.url)
        box = stores.open()
        held = await box.deposit(TOPIC, item(7), 1.0)
        server.kill()
        server.start()
        again = stores.open()
        items, _ = await again.fetch(TOPIC, 2.0, BIG)
        assert [(i.id, i.payload) for i in items] == [(held, item(7))]
        assert (again.held_items, again.held_bytes) == (1, 1024)
        assert await again.deposit(TOPIC, item(8), 3.0) > held
        await stores.close()


async def test_redis_down_refuses_with_mailbox_unavailable_then_serves_again(
    stores: Stores, redis_server: RedisServer
) -> None:
    box = stores.open()
    mailbox = Mailbox(box, metrics=Metrics(), clock=lambda: 1000.0)
    topic = wire.encode_topic(TOPIC)
    deposit = MailboxDepositRequest(ref=1, topic=topic, payload=wire.encode_payload(item(1)))
    assert isinstance((await mailbox.handle(deposit)).message, wire.Ack)
    await asyncio.to_thread(redis_server.kill)
    with pytest.raises(BackendUnavailableError):
        await box.fetch(TOPIC, 1.0, BIG)
    refused = (await mailbox.handle(deposit)).message
    assert isinstance(refused, wire.Error)
    assert refused.code == ErrorCode.MAILBOX_UNAVAILABLE
    assert refused.ref == 1
    await asyncio.to_thread(redis_server.start)
    fetched = await mailbox.handle(MailboxFetchRequest(ref=2, topic=topic, max_reply_bytes=BIG))
    assert isinstance(fetched.message, wire.MailboxItems)
    assert fetched.message.items == []  # no persistence: Redis came back empty
    assert isinstance((await mailbox.handle(deposit)).message, wire.Ack)


async def test_redis_holds_no_plaintext_id_or_public_key(
    stores: Stores, redis_server: RedisServer
) -> None:
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    to_bob = PairChannel(alice, bob.public_key)
    from_alice = PairChannel(bob, alice.public_key)
    mailbox = Mailbox(stores.open(), metrics=Metrics(), clock=lambda: 1000.0)
    secret = b"the password is swordfish"
    topic = wire.encode_topic(to_bob.mailbox_out_topic.raw)
    sealed = wire.encode_payload(to_bob.seal_mailbox_item(secret, now_ms=1))
    for ref in (1, 2):
        reply = await mailbox.handle(MailboxDepositRequest(ref=ref, topic=topic, payload=sealed))
        assert isinstance(reply.message, wire.Ack)
    fetched = await mailbox.handle(MailboxFetchRequest(ref=3, topic=topic, max_reply_bytes=BIG))
    assert isinstance(fetched.message, wire.MailboxItems)
    assert len(fetched.message.items) == 1
    opened = wire.decode_payload(fetched.message.items[0].payload)
    assert from_alice.open_mailbox_item(opened) == secret
    dump = b"\n".join(await asyncio.to_thread(redis_server.dump))
    assert opened in dump  # the dump does hold what was stored
    for needle in (
        secret,
        alice.public_key,
        bob.public_key,
        alice.x25519_public(),
        bob.x25519_public(),
        alice.kith_id.encode(),
        bob.kith_id.encode(),
        from_alice.mailbox_in_token,
    ):
        assert needle not in dump
        assert needle.hex().encode() not in dump.lower()
    await mailbox.handle(MailboxAckRequest(ref=4, topic=topic, ids=(fetched.message.items[0].id,)))
    assert await asyncio.to_thread(keys_of, redis_server) == [b"kmnext", b"kmtotal"]
