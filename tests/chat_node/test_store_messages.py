"""The messaging tables (schema version 5) on real SQLCipher files."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from kith.chat import Message, MessageState, OutboxEntry, Party
from kith.store import LATEST_VERSION, Store, migrate
from kith.store.connection import create
from kith.store.messages import _OWNER
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
BOB = IdentityKeys(bytes(range(32))).kith_id


def _message(mid: str, **changes: object) -> Message:
    base = Message(mid, Party.ME, "hello", 1_700_000_000_000, MessageState.QUEUED, 1)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "k.db", KEY)


@pytest.mark.parametrize("start", range(1, 5))
def test_upgrade_from_every_older_version_adds_the_messaging_tables(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=start, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    conn.close()
    with Store.open(path, KEY) as store:
        assert store.identity.info().name == "alice"
        assert store.messages.all(BOB) == []
        assert store.outbox.entries(BOB) == []
        assert store.cursors.get(BOB) == (1, 1)
        assert store.sessions.clear() == 0
        assert store.key_warnings.contacts() == set()
    assert LATEST_VERSION >= 5


def test_a_message_round_trips_with_reactions_and_edits(store: Store) -> None:
    message = _message(
        "a" * 32,
        reactions=frozenset({(Party.ME, "👍"), (Party.PEER, "🎉")}),
        edited_at=5,
    )
    store.messages.put(BOB, message)
    assert store.messages.get(BOB, "a" * 32) == message
    assert store.messages.owner("a" * 32) == BOB


def test_the_owner_is_found_in_any_conversation_and_the_newest_wins(store: Store) -> None:
    carol, dave = "c" * 52, "d" * 52
    for contact, ids in ((BOB, ["b1", "same"]), (carol, ["c1"]), (dave, ["same", "d1"])):
        for mid in ids:
            store.messages.put(contact, _message(mid.ljust(32, "0")))
    assert store.messages.owner("b1".ljust(32, "0")) == BOB
    assert store.messages.owner("c1".ljust(32, "0")) == carol
    assert store.messages.owner("d1".ljust(32, "0")) == dave
    assert store.messages.owner("same".ljust(32, "0")) == dave  # stored last


def test_an_unknown_message_has_no_owner_even_with_no_messages(store: Store) -> None:
    assert store.messages.owner("f" * 32) is None
    store.messages.put(BOB, _message("a" * 32))
    assert store.messages.owner("f" * 32) is None


def test_the_owner_is_looked_up_by_seeks_and_never_scans_history(store: Store) -> None:
    """Filtering on the ID alone read every stored message (23 ms p50 at 100,000)."""
    conn = store._conn  # the statement's plan is the point
    conn.executemany(
        "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq)"
        " VALUES (?, ?, 'me', 'x', 1, 'sent', ?)",
        [(f"c{n % 7}", f"{n:032x}", n) for n in range(3000)],
    )
    conn.execute("ANALYZE")  # the planner sees a large table with few contacts
    plan = " | ".join(
        str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {_OWNER}", ("0" * 32,)).fetchall()
    )
    assert "SCAN m " not in f"{plan} ", plan
    assert "SCAN messages" not in plan, plan
    assert "SEARCH m USING " in plan, plan
    assert "(contact_id=? AND id=?)" in plan, plan
    assert store.messages.owner(f"{2999:032x}") == f"c{2999 % 7}"


def test_put_replaces_by_id_and_keeps_the_order(store: Store) -> None:
    for i in range(3):
        store.messages.put(BOB, _message(f"{i:032x}"))
    store.messages.put(BOB, _message(f"{0:032x}", state=MessageState.DELIVERED))
    history = store.messages.all(BOB)
    assert [m.id for m in history] == [f"{i:032x}" for i in range(3)]
    assert history[0].state is MessageState.DELIVERED


def test_pages_go_back_from_before(store: Store) -> None:
    ids = [f"{i:032x}" for i in range(10)]
    for mid in ids:
        store.messages.put(BOB, _message(mid))
    assert [m.id for m in store.messages.page(BOB, 3)] == ids[7:]
    assert [m.id for m in store.messages.page(BOB, 3, before=ids[7])] == ids[4:7]
    assert [m.id for m in store.messages.page(BOB, 30, before=ids[2])] == ids[:2]
    assert store.messages.page(BOB, 3, before="f" * 32) == []


def test_outbox_cursors_and_warnings(store: Store) -> None:
    store.outbox.put(BOB, OutboxEntry("b" * 32, 2, b"two"))
    store.outbox.put(BOB, OutboxEntry("a" * 32, 1, b"one"))
    assert [e.seq for e in store.outbox.entries(BOB)] == [1, 2]
    assert store.outbox.pending_contacts() == {BOB}
    store.outbox.drop(BOB, "a" * 32)
    assert [e.id for e in store.outbox.entries(BOB)] == ["b" * 32]
    store.cursors.raise_next_seq(BOB, 5)
    store.cursors.raise_next_seq(BOB, 3)
    store.cursors.set_peer_next_seq(BOB, 9)
    assert store.cursors.get(BOB) == (5, 9)
    store.key_warnings.put(BOB, bytes(32), 1.0)
    assert store.key_warnings.contacts() == {BOB}
    assert store.key_warnings.remove(BOB)
    assert not store.key_warnings.remove(BOB)


def test_sessions_an_older_version_stored_are_cleared(tmp_path: Path) -> None:
    """Nothing writes the ``sessions`` table any more; ``clear`` empties what an
    older version left there (the node runs it at start)."""
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    for n, contact in enumerate((BOB, IdentityKeys(bytes(range(1, 33))).kith_id)):
        conn.execute("INSERT INTO sessions VALUES (?, ?, ?)", (contact, b"ratchet keys", n))
    conn.close()
    with Store.open(path, KEY) as store:
        assert store.sessions.clear() == 2
        assert store.sessions.clear() == 0


def test_a_reply_round_trips_with_the_id_it_names(store: Store) -> None:
    original, reply = "a" * 32, "b" * 32
    store.messages.put(BOB, _message(original))
    store.messages.put(BOB, _message(reply, seq=2, reply_to=original))
    assert [m.reply_to for m in store.messages.all(BOB)] == [None, original]
    assert store.messages.get(BOB, reply) == _message(reply, seq=2, reply_to=original)


@pytest.mark.parametrize("start", range(5, LATEST_VERSION))
def test_messages_stored_before_replies_read_back_as_no_reply(tmp_path: Path, start: int) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=start, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    conn.execute(
        "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq) "
        "VALUES (?, ?, 'peer', 'old', 1, 'received', 1)",
        (BOB, "c" * 32),
    )
    conn.close()
    with Store.open(path, KEY) as store:
        (message,) = store.messages.all(BOB)
    assert (message.text, message.reply_to) == ("old", None)
