"""The signaling client's mailbox requests against a real ``kith-signal --data-dir``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kith.signaling import MailboxRefused, NotConnected, SignalingClient
from kith_proto import IdentityKeys
from kith_proto.mailbox_seal import BUCKETS
from kith_testkit.signal.clients import new_token
from kith_testkit.signal.process import SignalServer
from kith_testkit.signaling_client import Running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignalServer]:
    process = SignalServer("--data-dir", str(tmp_path_factory.mktemp("mailbox")))
    yield process
    process.kill()


@pytest.fixture
async def running(server: SignalServer) -> AsyncIterator[Running]:
    client = await Running.connected(server.url)
    yield client
    await client.close()


async def test_deposit_fetch_and_ack_round_trip(running: Running) -> None:
    token, topic = new_token()
    items = [bytes([n]) * BUCKETS[0] for n in range(3)]
    for item in items:
        await running.client.mailbox_deposit(topic, item)
    batch = await running.client.mailbox_fetch(token)
    assert [item for _, item in batch.items] == items
    assert not batch.more
    await running.client.mailbox_ack(token, [ident for ident, _ in batch.items])
    assert (await running.client.mailbox_fetch(token)).items == ()


async def test_a_deposit_of_a_wrong_size_is_refused_with_its_code(running: Running) -> None:
    _, topic = new_token()
    with pytest.raises(MailboxRefused) as refused:
        await running.client.mailbox_deposit(topic, b"not a bucket")
    assert refused.value.code


async def test_a_fetch_with_another_token_sees_none_of_these_items(running: Running) -> None:
    token, topic = new_token()
    await running.client.mailbox_deposit(topic, b"\0" * BUCKETS[0])
    other, _ = new_token()
    assert (await running.client.mailbox_fetch(other)).items == ()
    assert len((await running.client.mailbox_fetch(token)).items) == 1


async def test_mailbox_requests_need_a_connection() -> None:
    client = SignalingClient(IdentityKeys.generate(), "ws://127.0.0.1:9")
    token, topic = new_token()
    with pytest.raises(NotConnected):
        await client.mailbox_deposit(topic, b"\0" * BUCKETS[0])
    with pytest.raises(NotConnected):
        await client.mailbox_fetch(token)


async def test_without_a_data_dir_deposits_are_refused_as_unavailable() -> None:
    plain = SignalServer()
    try:
        client = await Running.connected(plain.url)
        _, topic = new_token()
        with pytest.raises(MailboxRefused) as refused:
            await client.client.mailbox_deposit(topic, b"\0" * BUCKETS[0])
        assert refused.value.code == "mailbox_unavailable"
        await client.close()
    finally:
        plain.kill()
