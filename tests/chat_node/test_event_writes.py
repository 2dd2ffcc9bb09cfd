"""A committed batch's conversation writes, merged (real SQLCipher files)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kith.chat import (
    ConversationEvent,
    DropOutbox,
    Message,
    MessageState,
    MessageStateChanged,
    OutboxEntry,
    Party,
    SendFrame,
    StoreCursor,
    StoreMessage,
    StoreOutbox,
)
from kith.chat.events import must_reach_disk
from kith.conversation_store import EventsWrite, merge_writes, write_events
from kith.store import Store
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
BOB = IdentityKeys(bytes(range(32))).kith_id
CAROL = IdentityKeys(bytes(range(1, 33))).kith_id


def _message(mid: str, state: MessageState, seq: int = 1) -> Message:
    return Message(mid, Party.ME, "hello", 1_700_000_000_000, state, seq)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "k.db", KEY)


def test_the_last_state_of_a_message_is_the_one_stored(store: Store) -> None:
    a, b = "a" * 32, "b" * 32
    entry = OutboxEntry(a, 1, b"frame")
    events: list[ConversationEvent] = [
        StoreMessage(_message(a, MessageState.QUEUED)),
        StoreOutbox(entry),
        StoreMessage(_message(b, MessageState.QUEUED, 2)),
        StoreMessage(_message(a, MessageState.SENT)),
        DropOutbox(a),
        StoreMessage(_message(a, MessageState.DELIVERED)),
        StoreCursor(4),
        StoreCursor(7),
    ]
    with store.transaction():
        write_events(store, BOB, events)
    assert [(m.id, m.state) for m in store.messages.all(BOB)] == [
        (a, MessageState.DELIVERED),
        (b, MessageState.QUEUED),
    ]
    assert store.outbox.entries(BOB) == []  # written, then dropped
    assert store.cursors.get(BOB) == (2, 7)  # next_seq follows the entry; the last cursor


def _moved(mid: str, state: MessageState, text: str = "hello") -> list[ConversationEvent]:
    """A state move as the conversation makes it: the message, then its new state."""
    moved = Message(mid, Party.ME, text, 1_700_000_000_000, state, 1)
    return [StoreMessage(moved), MessageStateChanged(mid, state)]


def test_a_receipt_sets_only_the_state_of_a_stored_message(store: Store) -> None:
    a, b = "a" * 32, "b" * 32
    with store.transaction():
        write_events(store, BOB, [StoreMessage(_message(a, MessageState.SENT))])
    # the row is not rewritten: a text differing in the event (it never does) stays as stored
    events = [*_moved(a, MessageState.DELIVERED, "not written"), DropOutbox(a)]
    with store.transaction():
        write_events(store, BOB, events)
    stored = store.messages.all(BOB)
    assert [(m.id, m.text, m.state) for m in stored] == [(a, "hello", MessageState.DELIVERED)]
    with store.transaction():  # a state move of a message not stored writes nothing
        write_events(store, BOB, _moved(b, MessageState.DELIVERED))
    assert [m.id for m in store.messages.all(BOB)] == [a]


def test_a_message_written_and_moved_in_one_batch_is_written_whole(store: Store) -> None:
    a, b = "a" * 32, "b" * 32
    events: list[ConversationEvent] = [
        StoreMessage(_message(a, MessageState.QUEUED)),
        *_moved(a, MessageState.SENT),
        *_moved(b, MessageState.SENT),  # moved first, then changed whole (an edit): written
        StoreMessage(Message(b, Party.ME, "edited", 1_700_000_000_000, MessageState.SENT, 2)),
    ]
    with store.transaction():
        write_events(store, BOB, events)
    stored = store.messages.all(BOB)
    assert [(m.id, m.text, m.state) for m in stored] == [
        (a, "hello", MessageState.SENT),
        (b, "edited", MessageState.SENT),
    ]


def test_neighbouring_writes_of_one_contact_become_one(store: Store) -> None:
    a, b, c = "a" * 32, "b" * 32, "c" * 32
    seen: list[str] = []
    writes: list[Callable[[Store], None]] = [
        EventsWrite(BOB, [StoreMessage(_message(a, MessageState.QUEUED))]),
        EventsWrite(BOB, [StoreMessage(_message(b, MessageState.QUEUED, 2))]),
        lambda s: seen.append("read"),
        EventsWrite(BOB, [StoreMessage(_message(a, MessageState.SENT))]),
        EventsWrite(CAROL, [StoreMessage(_message(c, MessageState.QUEUED))]),
    ]
    merged = merge_writes(writes)
    assert len(merged) == 4
    assert merged[0] == EventsWrite(
        BOB,
        [
            StoreMessage(_message(a, MessageState.QUEUED)),
            StoreMessage(_message(b, MessageState.QUEUED, 2)),
        ],
    )
    assert merged[2] is writes[3]
    assert merged[3] is writes[4]
    assert writes[0] == EventsWrite(BOB, [StoreMessage(_message(a, MessageState.QUEUED))])
    with store.transaction():
        for write in merged:
            write(store)
    assert seen == ["read"]
    assert [m.state for m in store.messages.all(BOB)] == [MessageState.SENT, MessageState.QUEUED]
    assert [m.id for m in store.messages.all(CAROL)] == [c]


def test_the_messaging_statements_are_compiled_once_however_many_batches(store: Store) -> None:
    """A new store has run every migration; its statement cache must still
    keep the messaging path's statements (SQLite asks the authorizer only
    while compiling one)."""
    compiled: dict[str, int] = {}

    def authorize(action: int, table: str | None, *_: object) -> int:
        if action in (sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE) and table is not None:
            compiled[table] = compiled.get(table, 0) + 1
        return sqlite3.SQLITE_OK

    def batches(first: int, last: int) -> None:
        for n in range(first, last + 1):
            entry = OutboxEntry(f"m{n}", n, b"frame")
            with store.transaction():
                sent = _message(f"m{n}", MessageState.SENT, seq=n)
                write_events(store, BOB, [StoreMessage(sent), StoreOutbox(entry)])
            with store.transaction(sync=False):
                delivered = _message(f"m{n}", MessageState.DELIVERED, seq=n)
                moved = MessageStateChanged(f"m{n}", MessageState.DELIVERED)
                write_events(store, BOB, [StoreMessage(delivered), moved, DropOutbox(f"m{n}")])

    store._conn.set_authorizer(authorize)
    batches(1, 5)
    after_five = dict(compiled)
    batches(6, 50)
    store._conn.set_authorizer(None)
    assert store.messages.get(BOB, "m50").state is MessageState.DELIVERED  # type: ignore[union-attr]
    assert store.outbox.entries(BOB) == []
    assert after_five["messages"] >= 1  # the authorizer saw them compiled
    assert after_five["outbox"] >= 1
    assert compiled == after_five  # 45 more batches compiled nothing again


def test_nothing_to_merge_leaves_the_writes_as_they_are() -> None:
    assert merge_writes([]) == []
    only = EventsWrite(BOB, [StoreCursor(2)])
    assert merge_writes([only]) == [only]


# -- which writes must reach the disk before the node acts on them -----------------

_DELIVERED = _message("m1", MessageState.DELIVERED)


@pytest.mark.parametrize(
    "events",
    [
        [StoreMessage(_DELIVERED), MessageStateChanged("m1", MessageState.DELIVERED)],
        [
            StoreMessage(_DELIVERED),
            MessageStateChanged("m1", MessageState.DELIVERED),
            DropOutbox("m1"),
        ],
        [DropOutbox("m1")],
        [],
    ],
    ids=["state moved", "receipt applied", "outbox entry dropped", "nothing"],
)
def test_a_receipt_applied_need_not_reach_the_disk(events: list[ConversationEvent]) -> None:
    assert not must_reach_disk(events)


@pytest.mark.parametrize(
    "events",
    [
        [StoreMessage(_message("m1", MessageState.RECEIVED))],
        [StoreMessage(_DELIVERED), MessageStateChanged("m2", MessageState.DELIVERED)],
        [StoreOutbox(OutboxEntry("m1", 1, b"frame")), DropOutbox("m0")],
        [DropOutbox("m1"), StoreCursor(2)],
        [DropOutbox("m1"), SendFrame(b"receipt")],
    ],
    ids=[
        "message stored",
        "a state event of another message",
        "outbox entry queued",
        "peer's cursor moved",
        "frame sent after it",
    ],
)
def test_what_is_promised_must_reach_the_disk(events: list[ConversationEvent]) -> None:
    assert must_reach_disk(events)
