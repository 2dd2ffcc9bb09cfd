"""The offline mailbox of real ``kith-signal --redis`` processes: an item left
through one process is fetched and deleted through another, also after the
first was killed; Redis holds no plaintext, ID or public key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith_proto import IdentityKeys
from kith_proto.client_core import RequestAcked
from kith_proto.pair import PairChannel
from kith_testkit.redis_server import redis_available
from kith_testkit.signal.clients import Client
from kith_testkit.signal.cluster import SignalCluster

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[SignalCluster]:
    c = SignalCluster(tmp_path)
    yield c
    c.close()


async def test_left_through_one_process_fetched_through_another_after_a_kill_9(
    cluster: SignalCluster,
) -> None:
    alice_keys, bob_keys = IdentityKeys.generate(), IdentityKeys.generate()
    to_bob = PairChannel(alice_keys, bob_keys.public_key)
    from_alice = PairChannel(bob_keys, alice_keys.public_key)
    one, two = cluster.start(), cluster.start()
    alice = await Client.ready(one.url, alice_keys)
    secret = b"the password is swordfish"
    for n in range(3):
        item = to_bob.seal_mailbox_item(secret + bytes([n]), now_ms=n)
        assert isinstance(await alice.deposit(to_bob.mailbox_out_topic.raw, item), RequestAcked)
    await alice.close()
    one.stop()  # kill -9
    bob = await Client.ready(two.url, bob_keys)
    got = await bob.fetch(from_alice.mailbox_in_token)
    assert [from_alice.open_mailbox_item(i) for _, i in got.items] == [
        secret + bytes([n]) for n in range(3)
    ]
    dump = b"\n".join(await asyncio.to_thread(cluster.redis[0].dump))
    assert all(item in dump for _, item in got.items)  # the dump holds the sealed items
    for needle in (
        secret,
        alice_keys.public_key,
        bob_keys.public_key,
        alice_keys.x25519_public(),
        bob_keys.x25519_public(),
        alice_keys.kith_id.encode(),
        bob_keys.kith_id.encode(),
        from_alice.mailbox_in_token,
    ):
        assert needle not in dump
        assert needle.hex().encode() not in dump.lower()
    await bob.ack(from_alice.mailbox_in_token, [item_id for item_id, _ in got.items])
    assert (await bob.fetch(from_alice.mailbox_in_token)).items == ()
    await bob.close()
    dump = b"\n".join(await asyncio.to_thread(cluster.redis[0].dump))
    assert to_bob.mailbox_out_topic.raw not in dump
