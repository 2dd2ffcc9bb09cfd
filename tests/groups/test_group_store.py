"""Groups in a real (SQLCipher) store: state verified on load, chains and history kept."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from kith.groups.errors import ForgedChange
from kith.groups.keyring import GroupKeyring
from kith.groups.membership import create_group, encode_change, next_change
from kith.store import Store
from kith.store.groups import GroupMessageRecord
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
ALICE, BOB, CAROL = (IdentityKeys(bytes([n]) * 32) for n in (1, 2, 3))


def test_a_group_its_chains_and_history_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    applied, _ = next_change(state, ALICE, "add", subject=CAROL.kith_id)
    bob = GroupKeyring.start(state.group_id, BOB.kith_id)
    alice = GroupKeyring.start(state.group_id, ALICE.kith_id).accept(
        applied.state, bob.own.sender_key(), BOB.kith_id
    )
    bob, m1 = bob.seal(b"one")
    bob, m2 = bob.seal(b"two")
    alice, _ = alice.open(applied.state, m2)  # m1 is skipped: its key is kept
    gid = state.group_id
    with Store.create(path, KEY) as store, store.transaction():
        store.groups.save(applied.state, active=True, now=10.0)
        store.groups.save(state, active=True, now=11.0)  # older version: ignored
        store.groups.save_keyring(gid, alice, now=10.0)
        msg = GroupMessageRecord(gid, "1" * 32, BOB.kith_id, "two", 2000, 10.0)
        assert store.groups.add_message(msg)
        assert not store.groups.add_message(msg)
    with Store.open(path, KEY) as store:
        record = store.groups.get(gid)
        assert record is not None
        assert record.state.version == 2
        assert record.state.members == applied.state.members
        assert store.groups.ids_named("hikers") == [gid]
        assert store.groups.ids_named("Other") == []
        assert [r.state.group_id for r in store.groups.list()] == [gid]
        loaded = store.groups.keyring(gid)
        assert loaded is not None
        assert loaded.own.chain_key == alice.own.chain_key
        _, plain = loaded.open(record.state, m1)
        assert plain == b"one"
        assert [m.body for m in store.groups.messages(gid)] == ["two"]
        assert store.groups.keyring(bytes(16)) is None
        assert store.groups.get(bytes(16)) is None


def test_each_change_keeps_the_time_this_node_applied_it(tmp_path: Path) -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    added, _ = next_change(state, ALICE, "add", subject=CAROL.kith_id)
    renamed, _ = next_change(added.state, ALICE, "rename", name="Walkers")
    gid = state.group_id
    with Store.create(tmp_path / "kith.db", KEY) as store:
        store.groups.save(state, active=True, now=10.0)
        store.groups.save(renamed.state, active=True, now=30.0)  # two changes at once
        assert store.groups.change_times(gid) == {1: 10.0, 2: 30.0, 3: 30.0}
        store.groups.save(renamed.state, active=True, now=40.0)  # again: times stay
        store.groups.save(added.state, active=True, now=50.0)  # older: ignored
        assert store.groups.change_times(gid) == {1: 10.0, 2: 30.0, 3: 30.0}
        assert store.groups.change_times(bytes(16)) == {}


def test_a_group_row_edited_outside_kith_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    state, create = create_group(ALICE, "Hikers", [BOB.kith_id])
    forged = msgspec.structs.replace(create, subjects=(CAROL.kith_id,))
    with Store.create(path, KEY) as store, store.transaction():
        store.groups.save(state, active=True, now=1.0)
        store._conn.execute(
            "UPDATE groups SET state = ? WHERE id = ?",
            (msgspec.msgpack.encode([encode_change(forged)]), state.group_id),
        )
    with Store.open(path, KEY) as store, pytest.raises(ForgedChange):
        store.groups.get(state.group_id)


def test_the_group_outbox_numbers_frames_per_member_until_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    with Store.create(path, KEY) as store, store.transaction():
        rows = store.groups.outbox_put([("b", b"1"), ("c", b"x"), ("b", b"2")])
        assert rows == [("b", 1, b"1"), ("c", 1, b"x"), ("b", 2, b"2")]
        assert store.groups.outbox_put([("b", b"3")]) == [("b", 3, b"3")]
    with Store.open(path, KEY) as store, store.transaction():
        assert store.groups.outbox_contacts() == {"b", "c"}
        assert store.groups.outbox("b") == [(1, b"1"), (2, b"2"), (3, b"3")]
        assert store.groups.outbox_ack("b", 2)  # frame 3 still waits
        assert store.groups.outbox("b") == [(3, b"3")]
        assert not store.groups.outbox_ack("c", 1)
        assert store.groups.outbox_contacts() == {"b"}
        assert store.groups.outbox("nobody") == []


def test_edits_deletes_reactions_and_receipts_are_kept(tmp_path: Path) -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    gid, a, b, c = state.group_id, ALICE.kith_id, BOB.kith_id, CAROL.kith_id
    mine, theirs = "a" * 32, "b" * 32
    with Store.create(tmp_path / "kith.db", KEY) as store, store.transaction():
        store.groups.save(state, active=True, now=1.0)
        store.groups.add_message(GroupMessageRecord(gid, mine, a, "hi", 1000, 1.0))
        store.groups.add_message(GroupMessageRecord(gid, theirs, b, "yo", 2000, 2.0))
        store.groups.edit_message(gid, mine, "hello", 3000)
        store.groups.react(gid, mine, b, "👍", add=True)
        store.groups.react(gid, mine, b, "👍", add=True)  # a repeat changes nothing
        store.groups.react(gid, mine, c, "👍", add=True)
        store.groups.react(gid, mine, c, "🎉", add=True)
        store.groups.react(gid, mine, c, "🎉", add=False)
        store.groups.react(gid, theirs, a, "x", add=True)
        store.groups.record_receipt(gid, a, b, [mine], read=False, now=4.0)
        store.groups.record_receipt(gid, a, c, [mine], read=True, now=4.0)
        store.groups.record_receipt(gid, a, b, [mine], read=False, now=5.0)  # a repeat
        store.groups.record_receipt(gid, a, c, [theirs], read=True, now=4.0)  # not a's: ignored
        store.groups.delete_message(gid, theirs)
        found = {m.id: m for m in store.groups.messages(gid)}
        assert (found[mine].body, found[mine].edited_at) == ("hello", 3000)
        assert found[mine].reactions == {"👍": sorted([b, c])}
        assert (found[theirs].deleted, found[theirs].body, found[theirs].reactions) == (
            True,
            "",
            {},
        )
        assert store.groups.receipt_counts(gid, [mine, theirs], [b, c]) == {mine: (2, 1)}
        assert store.groups.receipt_counts(gid, [mine], [b]) == {mine: (1, 0)}
        assert store.groups.unread(gid, a, [mine, theirs]) == [theirs]
        store.groups.record_receipt(gid, b, a, [theirs], read=True, now=6.0)
        assert store.groups.unread(gid, a, [mine, theirs]) == []
        assert store.groups.message(gid, "c" * 32) is None


def test_held_actions_survive_reopening_and_come_out_once_in_arrival_order(
    tmp_path: Path,
) -> None:
    path, gid = tmp_path / "kith.db", b"\x01" * 16
    with Store.create(path, KEY) as store, store.transaction():
        store.groups.hold_action(gid, "m1", BOB.kith_id, b"first", now=10.0, keep=8)
        store.groups.hold_action(gid, "m2", BOB.kith_id, b"other", now=11.0, keep=8)
        store.groups.hold_action(gid, "m1", CAROL.kith_id, b"second", now=12.0, keep=8)
    with Store.open(path, KEY) as store, store.transaction():
        assert store.groups.held_actions(gid) == 3
        taken = store.groups.take_held_actions(gid, "m1", since=0.0)
        assert taken == [(BOB.kith_id, b"first"), (CAROL.kith_id, b"second")]
        assert store.groups.take_held_actions(gid, "m1", since=0.0) == []
        assert store.groups.held_actions(gid) == 1


def test_held_actions_are_bounded_per_group_and_expire(tmp_path: Path) -> None:
    gid, other = b"\x01" * 16, b"\x02" * 16
    with Store.create(tmp_path / "kith.db", KEY) as store, store.transaction():
        for n in range(5):
            store.groups.hold_action(gid, "m", BOB.kith_id, bytes([n]), now=float(n), keep=3)
        store.groups.hold_action(other, "m", BOB.kith_id, b"x", now=1.0, keep=3)
        assert store.groups.held_actions(gid) == 3  # the oldest two went
        assert store.groups.held_actions(other) == 1  # another group's are its own
        # one held before `since` is dropped, not returned
        assert store.groups.take_held_actions(gid, "m", since=3.0) == [
            (BOB.kith_id, b"\x03"),
            (BOB.kith_id, b"\x04"),
        ]
        assert store.groups.held_actions(gid) == 0
        store.groups.hold_action(gid, "m", BOB.kith_id, b"y", now=9.0, keep=3)
        assert store.groups.expire_held_actions(5.0) == 1  # the other group's, held at 1.0
        assert (store.groups.held_actions(gid), store.groups.held_actions(other)) == (1, 0)
