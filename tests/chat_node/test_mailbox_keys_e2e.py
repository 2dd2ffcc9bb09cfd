"""Forward secrecy of the sealed offline mailbox between real nodes: a real
``kith-signal --data-dir``, real ``kith run`` processes; what is asserted is
read from the server's items and the nodes' SQLCipher databases."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from kith.account import open_store
from kith.datadir import DataDir
from kith.passphrases import FixedPassphrase
from kith.store.store import Store
from kith_proto.mailbox_seal import Kem, item_key
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
