"""Full-text search over history (schema versions 8, 23 and 24) on real SQLCipher files."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kith.chat import Message, MessageState, Party
from kith.errors import KithError
from kith.store import LATEST_VERSION, Store, message_search, migrate
from kith.store.connection import create
from kith.store.message_search import match_expression
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
BOB = IdentityKeys(bytes(range(32))).kith_id
CAROL = IdentityKeys(bytes(range(1, 33))).kith_id


def _message(mid: str, text: str, **changes: object) -> Message:
    base = Message(mid, Party.PEER, text, 1_700_000_000_000, MessageState.RECEIVED, 1)
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "k.db", KEY)


def _found(store: Store, text: str) -> list[str]:
    return [hit.message.id for hit in store.search.search(text)]


@pytest.mark.parametrize("start", range(5, 8))
def test_upgrade_indexes_the_messages_already_stored(tmp_path: Path, start: int) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=start, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    for n, (text, deleted) in enumerate([("the blue boat", 0), ("", 1), ("a red kite", 0)]):
        conn.execute(
            "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq, deleted) "
            "VALUES (?, ?, 'peer', ?, 1, 'received', ?, ?)",
            (BOB, f"m{n}", text, n + 1, deleted),
        )
    conn.close()
    with Store.open(path, KEY) as store:
        assert _found(store, "boat") == ["m0"]
        assert _found(store, "kite") == ["m2"]
        assert _found(store, "BLUE") == ["m0"]
    assert LATEST_VERSION >= 8


@pytest.mark.parametrize("start", range(1, 5))
def test_upgrade_from_before_messaging_searches_an_empty_history(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=start, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    conn.close()
    with Store.open(path, KEY) as store:
        assert store.search.search("anything") == []
        store.messages.put(BOB, _message("m1", "anything at all"))
        assert _found(store, "anything") == ["m1"]


def _waiting(store: Store) -> int:
    return int(store._conn.execute("SELECT count(*) FROM message_search_pending").fetchone()[0])


def test_upgrade_keeps_what_the_index_held_and_indexes_what_comes_after(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=22, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    conn.execute(
        "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq) "
        "VALUES (?, 'old', 'peer', 'indexed at version twenty-two', 1, 'received', 1)",
        (BOB,),
    )
    conn.close()
    with Store.open(path, KEY) as store:
        store.messages.put(BOB, _message("new", "stored after the upgrade"))
        assert _waiting(store) == 1
        assert _found(store, "twenty") == ["old"]
        assert _found(store, "upgrade") == ["new"]
        store.messages.put(BOB, _message("old", "edited after the upgrade", edited_at=5))
        assert _found(store, "twenty") == []
        assert _found(store, "upgrade") == ["new", "old"]  # newest stored first


def test_messages_wait_for_the_index_in_batches_and_a_search_finds_every_one(
    store: Store,
) -> None:
    with store.transaction():
        for n in range(300):
            store.messages.put(BOB, _message(f"m{n}", f"note {n} word{n}"))
    assert _waiting(store) == 300 - 256  # the 256th message indexed all 256 waiting
    assert store.search.waiting() == 300 - 256
    assert _found(store, "word5") == [*(f"m{n}" for n in range(59, 49, -1)), "m5"]
    assert _found(store, "word299") == ["m299"]  # it was waiting: the search indexed it
    assert _waiting(store) == 0
    assert store.search.index_waiting() == 0


def _plan(store: Store, statement: str) -> str:
    rows = store._conn.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall()
    return " | ".join(str(row[3]) for row in rows)


def test_a_batch_looks_the_waiting_messages_up_by_number_and_never_scans_history(
    store: Store,
) -> None:
    """Step 23's trigger scanned every stored message for each batch (its cost
    grew with the history); the trigger and a search's indexing now look up
    only the waiting numbers."""
    trigger = store._conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'message_search_batch'"
    ).fetchone()[0]
    insert = trigger[trigger.index("INSERT INTO") : trigger.index(";")]
    for statement in (insert, message_search._INDEX_WAITING[0]):
        plan = _plan(store, statement)
        assert "SEARCH messages USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN messages" not in plan, plan


def test_step_23s_batch_trigger_scanned_every_message(tmp_path: Path) -> None:
    """The plan the test above guards against, shown on the statement step 23 wrote."""
    conn = create(tmp_path / "k.db", KEY)
    migrate(conn, target=23, allow_empty=True)
    trigger = conn.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'message_search_batch'"
    ).fetchone()[0]
    insert = trigger[trigger.index("INSERT INTO") : trigger.index(";")]
    rows = conn.execute(f"EXPLAIN QUERY PLAN {insert}").fetchall()
    conn.close()
    assert "SCAN m" in [str(row[3]) for row in rows]


def test_upgrade_to_24_indexes_what_waited_at_23(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    migrate(conn, target=23, allow_empty=True)
    conn.execute("INSERT INTO identity VALUES (1, 'x', ?, 'alice', 1.0)", (bytes(32),))
    for n in range(1, 11):
        conn.execute(
            "INSERT INTO messages (contact_id, id, sender, text, sent_at, state, seq) "
            "VALUES (?, ?, 'peer', ?, 1, 'received', ?)",
            (BOB, f"m{n}", f"waited at twenty-three number{n}", n),
        )
    conn.close()
    with Store.open(path, KEY) as store:
        assert _waiting(store) == 10
        with store.transaction():
            for n in range(11, 257):
                store.messages.put(BOB, _message(f"m{n}", f"after the upgrade number{n}"))
        assert _waiting(store) == 0  # the 256th message indexed all 256 waiting, old and new
        assert _found(store, "number3 twenty") == ["m3"]
        assert _found(store, "number256 upgrade") == ["m256"]


def test_a_search_with_unusable_text_indexes_nothing(store: Store) -> None:
    store.messages.put(BOB, _message("a", "waiting for the index"))
    with pytest.raises(KithError):
        store.search.search("!!!")
    assert _waiting(store) == 1
    assert _found(store, "waiting") == ["a"]
    assert _waiting(store) == 0


@pytest.mark.parametrize("indexed_first", [False, True])
def test_an_edit_replaces_the_old_text_whether_indexed_or_waiting(
    store: Store, indexed_first: bool
) -> None:
    store.messages.put(BOB, _message("a", "see you at eight"))
    if indexed_first:
        assert _found(store, "eight") == ["a"]
    store.messages.put(BOB, _message("a", "see you at nine", edited_at=5))
    assert _found(store, "eight") == []
    assert _found(store, "nine") == ["a"]


@pytest.mark.parametrize("indexed_first", [False, True])
def test_a_deleted_message_leaves_the_index_whether_indexed_or_waiting(
    store: Store, indexed_first: bool
) -> None:
    store.messages.put(BOB, _message("a", "secret plan"))
    if indexed_first:
        assert _found(store, "secret") == ["a"]
    store.messages.put(BOB, _message("a", "", deleted=True))
    assert _found(store, "secret") == []
    assert _waiting(store) == 0


def test_search_finds_a_message_among_five_thousand_quickly(store: Store) -> None:
    with store.transaction():
        for n in range(5000):
            store.messages.put(BOB, _message(f"m{n}", f"routine note number {n} about lunch"))
        store.messages.put(CAROL, _message("needle", "the zeppelin lands at noon"))
    started = time.perf_counter()
    hits = store.search.search("zeppelin noon")
    elapsed = time.perf_counter() - started
    assert [(h.contact_id, h.message.id) for h in hits] == [(CAROL, "needle")]
    assert hits[0].message.text == "the zeppelin lands at noon"
    assert elapsed < 0.5


def test_every_word_must_match_and_the_last_is_a_prefix(store: Store) -> None:
    store.messages.put(BOB, _message("a", "meet at the station"))
    store.messages.put(BOB, _message("b", "meet at the harbour"))
    assert _found(store, "meet stat") == ["a"]
    assert _found(store, "meet") == ["b", "a"]
    assert _found(store, "station harbour") == []


def test_accents_and_case_do_not_matter(store: Store) -> None:
    store.messages.put(BOB, _message("a", "Crème brûlée tonight"))
    assert _found(store, "creme brulee") == ["a"]


def test_a_state_change_keeps_the_message_findable(store: Store) -> None:
    store.messages.put(BOB, _message("a", "parcel sent", state=MessageState.QUEUED))
    store.messages.put(BOB, _message("a", "parcel sent", state=MessageState.DELIVERED))
    assert _found(store, "parcel") == ["a"]


def test_search_can_keep_to_one_conversation(store: Store) -> None:
    store.messages.put(BOB, _message("a", "hello bob"))
    store.messages.put(CAROL, _message("b", "hello carol"))
    hits = store.search.search("hello", contact_id=CAROL)
    assert [h.message.id for h in hits] == ["b"]


@pytest.mark.parametrize(
    "typed", ['"unbalanced', "a OR b", "NOT x", "(paren", "col:umn", "x*", "NEAR(a b)", "^start"]
)
def test_query_syntax_in_user_text_is_searched_as_text(store: Store, typed: str) -> None:
    store.messages.put(BOB, _message("a", "unbalanced a OR b NOT x paren col umn start near"))
    store.search.search(typed)  # never an FTS5 syntax error


def test_quotes_in_user_text_are_escaped() -> None:
    assert match_expression('say "hi"') == '"say" AND """hi"""*'


@pytest.mark.parametrize("typed", ["", "   ", "!!! ---", "x" * 201, " ".join(["w"] * 17)])
def test_unusable_search_text_gets_a_clear_error(store: Store, typed: str) -> None:
    with pytest.raises(KithError) as caught:
        store.search.search(typed)
    assert caught.value.code == "bad_search"


def test_an_out_of_range_limit_is_refused(store: Store) -> None:
    with pytest.raises(KithError, match="limit"):
        store.search.search("x", limit=0)
