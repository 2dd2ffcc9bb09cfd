"""Offline mailbox of a real ``kith-signal --data-dir``: deposit and fetch rates
(items/s, sealed 100-character messages, one connection pipelining) and the
server's bytes per stored message (the SQLite file and its WAL over the items),
for items sealed to the recipient's rotating X-Wing mailbox key and, as the
anchor measured in the same run, to their identity-derived X25519 key (the
fallback, and what every item was before rotating keys); then the node: the
time from starting B's ``kith run`` to the last of 1,000 waiting messages
sealed to its rotating key stored (read back through B's local API).

Usage: python bench/bench_mailbox.py [--items N] [--rounds R]  (server figures: medians)
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import TypeVar

from benchlib import report
from kith.account import open_store
from kith.chat import Text, encode_chat_frame, new_message_id
from kith.contacts import canonical_id
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith_proto import IdentityKeys
from kith_proto.client_core import MailboxFetched, RequestAcked
from kith_proto.mailbox_seal import RotatingKeyPair
from kith_proto.pair import PairChannel
from kith_signal.mailbox.service import MAILBOX_FILE
from kith_testkit.nodes import PASSPHRASE, NodeProcess, add_contact, make_identity
from kith_testkit.polling import wait_for
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import SignalProcess

E = TypeVar("E", MailboxFetched, RequestAcked)
TEXT = b'{"t":"text","id":"0123456789abcdef","q":1,"text":"' + b"x" * 100 + b'"}'


async def deposit_all(
    client: Client, channel: PairChannel, count: int, key: RotatingKeyPair | None
) -> tuple[float, float]:
    """Seconds to seal ``count`` items, and to deposit them (to ``key``, or
    to the identity key if None)."""
    recipient = None if key is None else key.public_key()
    started = time.perf_counter()
    items = [channel.seal_mailbox_item(TEXT, n, recipient) for n in range(count)]
    seal_s = time.perf_counter() - started
    return seal_s, await deposit_items(client, channel, items)


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


async def fetch_all(
    client: Client, channel: PairChannel, key: RotatingKeyPair | None
) -> tuple[int, float]:
    token, got = channel.mailbox_in_token, 0
    own = {} if key is None else {key.key_id: key}
    started = time.perf_counter()
    while True:
        ref = await client.call(client.core.mailbox_fetch, token)
        batch = await answer(client, MailboxFetched, ref)
        for _, item in batch.items:
            channel.open_mailbox_item(item, rotating=own)
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


def chat_items(channel: PairChannel, count: int, key: RotatingKeyPair) -> list[bytes]:
    """``count`` real text frames (sequence numbers 1..count), sealed now to ``key``."""
    now_ms = int(time.time() * 1000)
    frames = [
        encode_chat_frame(Text(new_message_id(), q, f"{q:>6} " + "x" * 93, now_ms))
        for q in range(1, count + 1)
    ]
    return [channel.seal_mailbox_item(frame, now_ms, key.public_key()) for frame in frames]


async def node_fetch(server: SignalProcess, root: Path, count: int) -> tuple[float, float]:
    """Seconds from starting B's node to its API answering, and to the last of
    ``count`` messages A left in B's mailbox (sealed to B's rotating key for A,
    as after one direct channel) stored."""
    alice = IdentityKeys.generate()
    bob_dir = root / "bob"
    bob_id = make_identity(bob_dir, "bob", server.url)
    add_contact(bob_dir, alice.kith_id, "alice")
    key = RotatingKeyPair.generate()
    with open_store(DataDir(bob_dir), FixedPassphrase(PASSPHRASE)) as store, store.transaction():
        store.mailbox_keys.add_own(alice.kith_id, key.key_id, key.private, time.time())
    channel = PairChannel(alice, canonical_id(bob_id)[1])
    sender = await Client.ready(server.url, alice)
    await deposit_items(sender, channel, chat_items(channel, count, key))
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


async def server_run(count: int, key: RotatingKeyPair | None) -> dict[str, float]:
    """Deposit then fetch ``count`` items on a fresh server (sealed to ``key``,
    or to the identity key if None)."""
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    to_bob, from_alice = PairChannel(alice, bob.public_key), PairChannel(bob, alice.public_key)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        flags = ("--data-dir", tmp, "--rate", "100000", "--burst", "100000")
        server = SignalProcess(*flags)
        try:
            sender = await Client.ready(server.url, alice)
            seal_s, deposit_s = await deposit_all(sender, to_bob, count, key)
            on_disk, size = stored_bytes(data)
            await sender.close()
            receiver = await Client.ready(server.url, bob)
            got, fetch_s = await fetch_all(receiver, from_alice, key)
            await receiver.close()
        finally:
            server.stop()
    assert got == count, (got, count)
    recipient = None if key is None else key.public_key()
    return {
        "seal_s": seal_s,
        "deposit_s": deposit_s,
        "fetch_s": fetch_s,
        "item_bytes": len(to_bob.seal_mailbox_item(TEXT, 0, recipient)),
        "server_bytes": size / count,
        "server_bytes_with_wal": on_disk / count,
    }


def median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


async def run(count: int, rounds: int) -> None:
    anchors, xwings = [], []
    for _ in range(rounds):  # alternated, so both see the same load on the machine
        anchors.append(await server_run(count, None))
        xwings.append(await server_run(count, RotatingKeyPair.generate()))
    anchor, xwing = median_run(anchors), median_run(xwings)
    with tempfile.TemporaryDirectory() as tmp:
        server = SignalProcess("--data-dir", tmp, "--rate", "100000", "--burst", "100000")
        try:
            ready_s, stored_s = await node_fetch(server, Path(tmp), min(count, 1000))
        finally:
            server.stop()
    rows: list[dict[str, object]] = []
    for name, figures in (("identity key (anchor)", anchor), ("x-wing rotating key", xwing)):
        rows += [
            {
                "key": name,
                "measure": "seal",
                "items_per_s": count / figures["seal_s"],
                "vs_anchor": anchor["seal_s"] / figures["seal_s"],
            },
            {
                "key": name,
                "measure": "deposit",
                "items_per_s": count / figures["deposit_s"],
                "vs_anchor": anchor["deposit_s"] / figures["deposit_s"],
            },
            {
                "key": name,
                "measure": "fetch+open+ack",
                "items_per_s": count / figures["fetch_s"],
                "vs_anchor": anchor["fetch_s"] / figures["fetch_s"],
            },
            {
                "key": name,
                "measure": "server bytes per 100-char message",
                "bytes": figures["server_bytes"],
                "item_bytes": figures["item_bytes"],
                "vs_anchor": figures["server_bytes"] / anchor["server_bytes"],
            },
        ]
    rows.append(
        {
            "key": "x-wing rotating key",
            "measure": "node: B's start to the last waiting message stored",
            "items_per_s": min(count, 1000) / stored_s,
            "seconds": stored_s,
            "node_ready_s": ready_s,
        }
    )
    print(
        f"server bytes per stored 100-character message: {anchor['server_bytes']:.0f} "
        f"(identity key, {anchor['item_bytes']:.0f}-byte items), {xwing['server_bytes']:.0f} "
        f"(x-wing, {xwing['item_bytes']:.0f}-byte items); database pages, "
        f"{anchor['server_bytes_with_wal']:.0f} / {xwing['server_bytes_with_wal']:.0f} "
        "with the WAL on disk"
    )
    print(
        f"B's node: API up after {ready_s:.2f} s, last of {min(count, 1000)} waiting "
        f"messages stored after {stored_s:.2f} s"
    )
    report("bench_mailbox", rows, {"rounds": rounds, "identity_key": anchor, "xwing_key": xwing})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many rounds")
    args = parser.parse_args()
    asyncio.run(run(args.items, args.rounds))


if __name__ == "__main__":
    main()
