"""Offline mailbox of a real ``kith-signal --data-dir``: deposit and fetch rates
(items/s, sealed 100-character messages, one connection pipelining) and the
server's bytes per stored message (the SQLite file and its WAL over the items);
then the node: the time from starting B's ``kith run`` to the last of 1,000
waiting messages stored (read back through B's local API).

Usage: python bench/bench_mailbox.py [--items N]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import TypeVar

from benchlib import report
from kith.chat import Text, encode_chat_frame, new_message_id
from kith.contacts import canonical_id
from kith_proto import IdentityKeys
from kith_proto.client_core import MailboxFetched, RequestAcked
from kith_proto.pair import PairChannel
from kith_signal.mailbox import MAILBOX_FILE
from kith_testkit.nodes import NodeProcess, add_contact, make_identity
from kith_testkit.polling import wait_for
from kith_testkit.signal_clients import Client
from kith_testkit.signal_server import SignalProcess

E = TypeVar("E", MailboxFetched, RequestAcked)
TEXT = b'{"t":"text","id":"0123456789abcdef","q":1,"text":"' + b"x" * 100 + b'"}'


async def deposit_all(client: Client, channel: PairChannel, count: int) -> float:
    items = [channel.seal_mailbox_item(TEXT, now_ms=n) for n in range(count)]
    return await deposit_items(client, channel, items)


async def deposit_items(client: Client, channel: PairChannel, items: list[bytes]) -> float:
    started = time.perf_counter()
    refs = {client.core.mailbox_deposit(channel.mailbox_out_topic.raw, item) for item in items}
    await client.flush()
    while refs:
        refs.discard((await client.expect(RequestAcked, within=60)).ref)
    return time.perf_counter() - started


async def answer(client: Client, kind: type[E], ref: int) -> E:
    """The reply to request ``ref``."""
    while True:
        event = await client.expect(kind, within=60)
        if event.ref == ref:
            return event


async def fetch_all(client: Client, channel: PairChannel) -> tuple[int, float]:
    token, got = channel.mailbox_in_token, 0
    started = time.perf_counter()
    while True:
        ref = await client.call(client.core.mailbox_fetch, token)
        batch = await answer(client, MailboxFetched, ref)
        for _, item in batch.items:
            channel.open_mailbox_item(item)
        got += len(batch.items)
        ack = await client.call(client.core.mailbox_ack, token, [i for i, _ in batch.items])
        await answer(client, RequestAcked, ack)
        if not batch.more:
            return got, time.perf_counter() - started


def stored_bytes(directory: Path) -> tuple[int, int]:
    """Bytes on disk (database, WAL and shared memory files), and the
    database's own pages as a reader sees them (what a checkpoint keeps)."""
    on_disk = sum(path.stat().st_size for path in directory.iterdir())
    with sqlite3.connect(directory / MAILBOX_FILE) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    return on_disk, int(pages) * int(page_size)


def chat_items(channel: PairChannel, count: int) -> list[bytes]:
    """``count`` real text frames (sequence numbers 1..count), sealed now."""
    now_ms = int(time.time() * 1000)
    frames = [
        encode_chat_frame(Text(new_message_id(), q, f"{q:>6} " + "x" * 93, now_ms))
        for q in range(1, count + 1)
    ]
    return [channel.seal_mailbox_item(frame, now_ms) for frame in frames]


async def node_fetch(server: SignalProcess, root: Path, count: int) -> tuple[float, float]:
    """Seconds from starting B's node to its API answering, and to the last of
    ``count`` messages A left in B's mailbox stored."""
    alice = IdentityKeys.generate()
    bob_dir = root / "bob"
    bob_id = make_identity(bob_dir, "bob", server.url)
    add_contact(bob_dir, alice.kith_id, "alice")
    channel = PairChannel(alice, canonical_id(bob_id)[1])
    sender = await Client.ready(server.url, alice)
    await deposit_items(sender, channel, chat_items(channel, count))
    await sender.close()
    started = time.perf_counter()
    bob = NodeProcess(bob_dir)
    ready_s = time.perf_counter() - started
    try:
        wait_for(
            lambda: len(bob.api.messages(alice.kith_id, 1000)) >= count or None,
            f"{count} messages stored",
            timeout=300,
        )
        stored_s = time.perf_counter() - started
        assert {m.via for m in bob.api.messages(alice.kith_id, 1000)} == {"mailbox"}
    finally:
        bob.stop()
    return ready_s, stored_s


async def run(count: int) -> None:
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    to_bob, from_alice = PairChannel(alice, bob.public_key), PairChannel(bob, alice.public_key)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        flags = ("--data-dir", tmp, "--rate", "100000", "--burst", "100000")
        server = SignalProcess(*flags)
        try:
            sender = await Client.ready(server.url, alice)
            deposit_s = await deposit_all(sender, to_bob, count)
            on_disk, size = stored_bytes(data)
            await sender.close()
            receiver = await Client.ready(server.url, bob)
            got, fetch_s = await fetch_all(receiver, from_alice)
            await receiver.close()
            ready_s, stored_s = await node_fetch(server, data, min(count, 1000))
        finally:
            server.stop()
    assert got == count, (got, count)
    rows = [
        {
            "measure": "deposit",
            "items": count,
            "seconds": deposit_s,
            "items_per_s": count / deposit_s,
        },
        {
            "measure": "fetch+open+ack",
            "items": got,
            "seconds": fetch_s,
            "items_per_s": got / fetch_s,
        },
        {
            "measure": "node: B's start to the last waiting message stored",
            "items": min(count, 1000),
            "seconds": stored_s,
            "items_per_s": min(count, 1000) / stored_s,
            "node_ready_s": ready_s,
        },
    ]
    extra = {
        "sealed_item_bytes": len(to_bob.seal_mailbox_item(TEXT, now_ms=0)),
        "server_bytes_per_message": size / count,
        "server_bytes_per_message_with_wal": on_disk / count,
    }
    print(
        f"server bytes per stored 100-character message: {size / count:.0f} "
        f"(database pages; {on_disk / count:.0f} with the WAL on disk)"
    )
    print(
        f"B's node: API up after {ready_s:.2f} s, last of {min(count, 1000)} waiting "
        f"messages stored after {stored_s:.2f} s"
    )
    report("bench_mailbox", rows, extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    asyncio.run(run(parser.parse_args().items))


if __name__ == "__main__":
    main()
