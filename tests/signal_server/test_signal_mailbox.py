"""The offline mailbox of a real ``kith-signal --data-dir`` on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kith_proto import IdentityKeys
from kith_proto.client_core import RequestAcked, ServerError
from kith_proto.mailbox_seal import TamperedItemError
from kith_proto.pair import PairChannel
from kith_proto.wire import ErrorCode
from kith_signal.mailbox.service import MAILBOX_FILE
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import SignalProcess, starter


@pytest.fixture
def start() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


class Pair:
    """Alice's channel to Bob and Bob's to Alice (real keys)."""

    def __init__(self) -> None:
        self.alice, self.bob = IdentityKeys.generate(), IdentityKeys.generate()
        self.to_bob = PairChannel(self.alice, self.bob.public_key)
        self.from_alice = PairChannel(self.bob, self.alice.public_key)


def read_metrics(http: str) -> str:
    with urllib.request.urlopen(f"{http}/metrics", timeout=5) as response:
        return str(response.read().decode())


def read_files(directory: Path) -> tuple[bytes, bytes]:
    """Every byte of the data directory's files, and the SQL dump of the mailbox."""
    dump = b"".join(path.read_bytes() for path in directory.iterdir() if path.is_file())
    rows = "\n".join(sqlite3.connect(directory / MAILBOX_FILE).iterdump()).encode()
    return dump, rows


async def test_without_a_data_dir_a_deposit_gets_mailbox_unavailable(
    start: Callable[..., SignalProcess],
) -> None:
    server = start()
    pair = Pair()
    alice = await Client.ready(server.url, pair.alice)
    reply = await alice.deposit(
        pair.to_bob.mailbox_out_topic.raw, pair.to_bob.seal_mailbox_item(b"hi", 1)
    )
    assert isinstance(reply, ServerError)
    assert reply.code == ErrorCode.MAILBOX_UNAVAILABLE
    await alice.close()


async def test_bob_fetches_what_alice_left_and_the_server_deletes_it_on_ack(
    start: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    server = start("--data-dir", str(tmp_path))
    pair = Pair()
    alice = await Client.ready(server.url, pair.alice)
    for n in range(20):
        item = pair.to_bob.seal_mailbox_item(f"message {n}".encode(), now_ms=n)
        assert isinstance(
            await alice.deposit(pair.to_bob.mailbox_out_topic.raw, item), RequestAcked
        )
    await alice.close()
    bob = await Client.ready(server.url, pair.bob)
    got = await bob.fetch(pair.from_alice.mailbox_in_token)
    texts = [pair.from_alice.open_mailbox_item(item) for _, item in got.items]
    assert texts == [f"message {n}".encode() for n in range(20)]
    assert not got.more
    await bob.ack(pair.from_alice.mailbox_in_token, [item_id for item_id, _ in got.items])
    assert (await bob.fetch(pair.from_alice.mailbox_in_token)).items == ()
    metrics = await asyncio.to_thread(read_metrics, server.http)
    assert "kith_signal_mailbox_items 0.0" in metrics
    assert "kith_signal_mailbox_deposits_total 20.0" in metrics
    await bob.close()


async def test_a_kill_9_between_deposit_and_fetch_loses_nothing_acknowledged(
    start: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    pair = Pair()
    first = start("--data-dir", str(tmp_path))
    alice = await Client.ready(first.url, pair.alice)
    for n in range(5):
        item = pair.to_bob.seal_mailbox_item(bytes([n]), now_ms=n)
        assert isinstance(
            await alice.deposit(pair.to_bob.mailbox_out_topic.raw, item), RequestAcked
        )
    first.stop()  # SIGKILL: no shutdown, no checkpoint
    second = start("--data-dir", str(tmp_path))
    bob = await Client.ready(second.url, pair.bob)
    got = await bob.fetch(pair.from_alice.mailbox_in_token)
    assert [pair.from_alice.open_mailbox_item(i) for _, i in got.items] == [
        bytes([n]) for n in range(5)
    ]
    await bob.close()


async def test_a_tampered_item_fails_alone_and_the_others_open(
    start: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    server = start("--data-dir", str(tmp_path))
    pair = Pair()
    alice = await Client.ready(server.url, pair.alice)
    topic = pair.to_bob.mailbox_out_topic.raw
    good = pair.to_bob.seal_mailbox_item(b"good", now_ms=1)
    bad = bytearray(pair.to_bob.seal_mailbox_item(b"bad", now_ms=2))
    bad[200] ^= 0xFF
    for item in (bytes(bad), good):
        assert isinstance(await alice.deposit(topic, item), RequestAcked)
    got = await alice.fetch(pair.from_alice.mailbox_in_token)
    (_, first), (_, second) = got.items
    with pytest.raises(TamperedItemError):
        pair.from_alice.open_mailbox_item(first)
    assert pair.from_alice.open_mailbox_item(second) == b"good"
    await alice.close()


async def test_odd_sizes_and_a_full_mailbox_are_refused_and_nothing_else_is_lost(
    start: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    server = start("--data-dir", str(tmp_path), "--mailbox-topic-items", "2")
    pair = Pair()
    alice = await Client.ready(server.url, pair.alice)
    topic = pair.to_bob.mailbox_out_topic.raw
    odd = await alice.deposit(topic, b"x" * 1000)
    assert isinstance(odd, ServerError)
    assert odd.code == ErrorCode.BAD_ITEM_SIZE
    for n in range(2):
        assert isinstance(
            await alice.deposit(topic, pair.to_bob.seal_mailbox_item(bytes([n]), n)), RequestAcked
        )
    full = await alice.deposit(topic, pair.to_bob.seal_mailbox_item(b"third", 3))
    assert isinstance(full, ServerError)
    assert full.code == ErrorCode.MAILBOX_FULL
    bob = await Client.ready(server.url, pair.bob)
    got = await bob.fetch(pair.from_alice.mailbox_in_token)
    assert [pair.from_alice.open_mailbox_item(i) for _, i in got.items] == [b"\x00", b"\x01"]
    await alice.close()
    await bob.close()


async def test_the_mailbox_file_holds_no_plaintext_id_or_public_key(
    start: Callable[..., SignalProcess], tmp_path: Path
) -> None:
    server = start("--data-dir", str(tmp_path))
    pair = Pair()
    alice = await Client.ready(server.url, pair.alice)
    secret = b"the password is swordfish"
    item = pair.to_bob.seal_mailbox_item(secret, now_ms=1)
    assert isinstance(await alice.deposit(pair.to_bob.mailbox_out_topic.raw, item), RequestAcked)
    await alice.close()
    server.stop()
    dump, rows = await asyncio.to_thread(read_files, tmp_path)
    for needle in (
        secret,
        pair.alice.public_key,
        pair.bob.public_key,
        pair.alice.x25519_public(),
        pair.bob.x25519_public(),
        pair.alice.kith_id.encode(),
        pair.bob.kith_id.encode(),
        pair.from_alice.mailbox_in_token,
    ):
        assert needle not in dump
        assert needle not in rows
        assert needle.hex().encode() not in rows.lower()
