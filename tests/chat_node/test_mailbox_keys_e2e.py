"""Forward secrecy of the sealed offline mailbox between real nodes: a real
``kith-signal --data-dir``, real ``kith run`` processes; what is asserted is
read from the server's items and the nodes' SQLCipher databases."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from kith.account import open_store
from kith.chat.frames import encode_mailbox_key
from kith.datadir import DataDir
from kith.node import Node, NodeOptions
from kith.passphrases import FixedPassphrase
from kith.store.store import Store
from kith_proto.mailbox_seal import ROTATING_PUBLIC_SIZE, Kem, item_key
from kith_testkit.chat_world import ChatWorld
from kith_testkit.nodes import PASSPHRASE, NodeProcess, kith, ok
from kith_testkit.polling import wait_for

pytestmark = pytest.mark.slow
T = TypeVar("T")
DAY = 86_400.0


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ChatWorld]:
    w = ChatWorld(tmp_path, server_flags=("--data-dir", str(tmp_path / "server")))
    yield w
    w.close()


def _items(tmp_path: Path) -> list[tuple[int, bytes, bytes, bytes]]:
    """The server's items: id, topic, digest, payload."""
    with sqlite3.connect(tmp_path / "server" / "mailbox.sqlite3") as db:
        rows = db.execute("SELECT id, topic, digest, payload FROM items ORDER BY id").fetchall()
    return [(int(r[0]), bytes(r[1]), bytes(r[2]), bytes(r[3])) for r in rows]


def _in_db(world: ChatWorld, name: str, work: Callable[[Store], T]) -> T:
    """Run ``work`` on the (stopped) node's own database."""
    with open_store(DataDir(world.dirs[name]), FixedPassphrase(PASSPHRASE)) as store:
        return store.call(work)


def _own_key_ids(world: ChatWorld, name: str, of: str) -> list[bytes]:
    contact = world.ids[of]
    return _in_db(world, name, lambda s: [k.key_id for k in s.mailbox_keys.own(contact)])


def _took_keys(node: NodeProcess, count: int) -> None:
    def probe() -> bool | None:
        return sum("took a new mailbox key" in line for line in node.lines) >= count or None

    wait_for(probe, f"{count} mailbox keys taken")


def _connect_directly(world: ChatWorld, text: str) -> None:
    """a and b online, a message from a to b over a direct channel (so both
    announce their mailbox keys), and a has taken b's key."""
    world.online("a", "b")
    ok(kith(world.dirs["a"], "send", "b", text))
    got = world.wait_history("b", "a", lambda ms: any(m.text == text for m in ms), "direct")
    assert [m.via for m in got if m.text == text] == ["direct"]


def _send_while_b_is_offline(world: ChatWorld, tmp_path: Path, *texts: str) -> None:
    world.nodes["a"].sees(world.ids["b"], "offline")
    before = len(_items(tmp_path))
    for text in texts:
        ok(kith(world.dirs["a"], "send", "b", text))
    wait_for(lambda: len(_items(tmp_path)) >= before + len(texts) or None, "items deposited")


def test_after_one_direct_channel_items_are_sealed_to_the_recipients_rotating_key(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    _connect_directly(world, "hello")
    _took_keys(a, 1)
    assert b.stop() == 0
    _send_while_b_is_offline(world, tmp_path, "m1", "m2")
    assert a.stop() == 0
    kems = {item_key(payload) for _, _, _, payload in _items(tmp_path)}
    # sealed to b's X-Wing key for a, the one b holds (and only b's DB has it)
    assert kems == {(Kem.ROTATING, key_id) for key_id in _own_key_ids(world, "b", "a")}
    assert len(kems) == 1
    assert _own_key_ids(world, "a", "b") != _own_key_ids(world, "b", "a")
    world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 3, "b to get m1 and m2")
    assert [(m.text, m.via) for m in got] == [
        ("hello", "direct"),
        ("m1", "mailbox"),
        ("m2", "mailbox"),
    ]


def test_before_any_direct_channel_items_fall_back_to_the_identity_key(
    world: ChatWorld, tmp_path: Path
) -> None:
    (a,) = world.start("a")
    _send_while_b_is_offline(world, tmp_path, "first")
    assert a.stop() == 0
    assert [item_key(p) for _, _, _, p in _items(tmp_path)] == [(Kem.IDENTITY, bytes(8))]
    world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 1, "b to get it")
    assert [(m.text, m.via) for m in got] == [("first", "mailbox")]


def test_a_rotated_key_is_deleted_after_its_window_and_items_sealed_to_it_no_longer_open(
    world: ChatWorld, tmp_path: Path
) -> None:
    a, b = world.start("a", "b")
    _connect_directly(world, "hello")
    _took_keys(a, 1)
    assert b.stop() == 0
    _send_while_b_is_offline(world, tmp_path, "m1")
    (_, topic, digest, old_item) = _items(tmp_path)[-1]
    (first,) = _own_key_ids(world, "b", "a")
    assert item_key(old_item) == (Kem.ROTATING, first)
    # b's key for a is two days old: the next direct channel replaces it
    with open_store(DataDir(world.dirs["b"]), FixedPassphrase(PASSPHRASE)) as store:
        store._conn.execute("UPDATE mailbox_own_keys SET created_at = created_at - ?", (2 * DAY,))
    (b,) = world.start("b")
    world.wait_history("b", "a", lambda ms: len(ms) == 2, "b to get m1")
    _connect_directly(world, "again")
    _took_keys(a, 2)
    assert b.stop() == 0
    _send_while_b_is_offline(world, tmp_path, "m2")
    assert a.stop() == 0
    second, kept = _own_key_ids(world, "b", "a")
    assert (kept, item_key(_items(tmp_path)[-1][3])) == (first, (Kem.ROTATING, second))
    # 15 days (the items' TTL and a day of grace) after the rotation the first key is
    # deleted; the server (or anyone) replays the old item sealed to it
    with open_store(DataDir(world.dirs["b"]), FixedPassphrase(PASSPHRASE)) as store:
        store._conn.execute(
            "UPDATE mailbox_own_keys SET retired_at = ? WHERE key_id = ?",
            (time.time() - 15 * DAY - 60, first),
        )
    with sqlite3.connect(tmp_path / "server" / "mailbox.sqlite3") as db:
        db.execute(
            "INSERT INTO items (topic, digest, payload, stored_at) VALUES (?, ?, ?, ?)",
            (topic, os.urandom(len(digest)), old_item, time.time()),
        )
    (b,) = world.start("b")
    got = world.wait_history("b", "a", lambda ms: len(ms) == 4, "b to get m2")
    assert [m.text for m in got] == ["hello", "m1", "again", "m2"]

    def dropped() -> str | None:
        return next((line for line in b.lines if "dropped a mailbox item" in line), None)

    line = wait_for(dropped, "the replayed item dropped")
    assert "unknown_key; 1 so far" in line
    assert "no longer holds" in line
    wait_for(lambda: old_item not in {p for *_, p in _items(tmp_path)} or None, "it is acked")
    assert b.stop() == 0
    assert _own_key_ids(world, "b", "a") == [second]
    assert len(_in_db(world, "b", lambda s: s.messages.ids(world.ids["a"]))) == 4


async def test_a_bad_key_announcement_is_refused_and_nothing_else_is_lost(
    world: ChatWorld,
) -> None:
    """Alice runs in this process (a real node), so she can send bad
    announcements on her real channel to Bob's ``kith run``."""
    (b,) = await asyncio.to_thread(world.start, "b")
    a = await Node.start(
        DataDir(world.dirs["a"]),
        FixedPassphrase(PASSPHRASE),
        NodeOptions(heartbeat_interval=0.5, heartbeat_timeout=1.0, api_port=0),
        logging.getLogger("alice"),
    )
    try:
        await asyncio.to_thread(_connect_directly_from, world, a, "hello")
        await asyncio.to_thread(_took_keys, b, 1)  # alice's good key
        peer = a._parts.chat.peer(world.ids["b"])
        good_prefix = encode_mailbox_key(b"")[:-2]
        for bad in (
            encode_mailbox_key(b"\x01" * 100),  # bad length
            encode_mailbox_key(b"\xff" * ROTATING_PUBLIC_SIZE),  # not an ML-KEM key
            good_prefix + b"\xc1",  # does not decode
        ):
            peer.send_frame(peer.secure, bad)

        def refused() -> list[str] | None:
            lines = [line for line in b.lines if "refused a mailbox key" in line]
            return lines if len(lines) == 3 else None

        lines = await asyncio.to_thread(wait_for, refused, "three announcements refused")
        # one bundle carries all three; each is checked on its own, the
        # undecodable one at once and the others after their checks
        assert "bad_mailbox_key; 3 so far" in lines[2]
        assert sum("1216 bytes, not 100" in line for line in lines) == 1
        assert sum("not a valid X-Wing public key" in line for line in lines) == 1
        assert sum("does not decode" in line for line in lines) == 1
        # the channel still carries messages, none of the frames became one
        await asyncio.to_thread(lambda: ok(kith(world.dirs["a"], "send", "b", "after")))
        got = await asyncio.to_thread(
            world.wait_history, "b", "a", lambda ms: len(ms) == 2, "b to get 'after'"
        )
        assert [(m.text, m.via) for m in got] == [("hello", "direct"), ("after", "direct")]
    finally:
        await a.stop()
    assert await asyncio.to_thread(b.stop) == 0
    # b still seals to a's real key: the one a holds
    held = _in_db(world, "b", lambda s: s.mailbox_keys.peer(world.ids["a"]))
    assert held is not None
    assert [held.key_id] == _own_key_ids(world, "a", "b")


def _connect_directly_from(world: ChatWorld, a: Node, text: str) -> None:
    """Like :func:`_connect_directly` with alice in this process."""
    world.nodes["b"].sees(world.ids["a"], "online")
    ok(kith(world.dirs["a"], "send", "b", text))
    got = world.wait_history("b", "a", lambda ms: any(m.text == text for m in ms), "direct")
    assert [m.via for m in got if m.text == text] == ["direct"]
