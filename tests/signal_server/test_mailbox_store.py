"""The mailbox's SQLite file: durable deposits, exactly-once storage, TTL, quotas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kith_signal.mailbox.backend import MailboxFullError, MailboxLimits, StoreFullError
from kith_signal.mailbox.sqlite_store import MailboxStore

TOPIC = b"t" * 32
OTHER = b"o" * 32


def item(n: int, size: int = 1024) -> bytes:
    return n.to_bytes(4, "big") * (size // 4)


def store(tmp_path: Path, **limits: float) -> MailboxStore:
    return MailboxStore(tmp_path / "mailbox.sqlite3", MailboxLimits(**limits))  # type: ignore[arg-type]


def test_items_come_back_oldest_first_and_go_on_ack(tmp_path: Path) -> None:
    box = store(tmp_path)
    ids = [box.deposit(TOPIC, item(n), now=100.0 + n) for n in range(3)]
    items, more = box.fetch(TOPIC, now=200.0, max_bytes=1 << 20)
    assert [i.payload for i in items] == [item(0), item(1), item(2)]
    assert not more
    assert box.ack(TOPIC, ids[:2]) == 2
    assert [i.id for i in box.fetch(TOPIC, 200.0, 1 << 20)[0]] == [ids[2]]
    assert (box.items, box.bytes) == (1, 1024)


def test_a_fetch_is_bounded_and_says_more_wait(tmp_path: Path) -> None:
    box = store(tmp_path)
    for n in range(5):
        box.deposit(TOPIC, item(n), now=1.0)
    items, more = box.fetch(TOPIC, now=2.0, max_bytes=2048)
    assert len(items) == 2
    assert more


def test_the_same_item_twice_is_stored_once(tmp_path: Path) -> None:
    box = store(tmp_path)
    assert box.deposit(TOPIC, item(1), 1.0) == box.deposit(TOPIC, item(1), 2.0)
    assert box.items == 1


def test_an_ack_of_another_topics_ids_deletes_nothing(tmp_path: Path) -> None:
    box = store(tmp_path)
    held = box.deposit(TOPIC, item(1), 1.0)
    assert box.ack(OTHER, [held, 999]) == 0
    assert box.items == 1


def test_deposits_survive_reopening_the_file(tmp_path: Path) -> None:
    box = store(tmp_path)
    box.deposit(TOPIC, item(7), 1.0)
    box.close()
    again = store(tmp_path)
    assert [i.payload for i in again.fetch(TOPIC, 2.0, 1 << 20)[0]] == [item(7)]
    assert (again.items, again.bytes) == (1, 1024)


def test_expired_items_are_not_returned_and_are_swept(tmp_path: Path) -> None:
    box = store(tmp_path, ttl=10.0)
    box.deposit(TOPIC, item(1), now=0.0)
    box.deposit(TOPIC, item(2), now=5.0)
    assert [i.payload for i in box.fetch(TOPIC, now=12.0, max_bytes=1 << 20)[0]] == [item(2)]
    assert box.expire(now=12.0) == (1, 1024)
    assert box.items == 1


def test_a_topic_over_its_quota_refuses_and_keeps_what_it_holds(tmp_path: Path) -> None:
    box = store(tmp_path, topic_items=2)
    box.deposit(TOPIC, item(1), 1.0)
    box.deposit(TOPIC, item(2), 1.0)
    with pytest.raises(MailboxFullError):
        box.deposit(TOPIC, item(3), 1.0)
    assert box.deposit(OTHER, item(3), 1.0) > 0
    assert len(box.fetch(TOPIC, 2.0, 1 << 20)[0]) == 2


def test_the_whole_store_over_its_quota_refuses(tmp_path: Path) -> None:
    box = store(tmp_path, total_bytes=2048)
    box.deposit(TOPIC, item(1), 1.0)
    box.deposit(OTHER, item(2), 1.0)
    with pytest.raises(StoreFullError):
        box.deposit(TOPIC, item(3), 1.0)
    assert box.items == 2


def test_a_file_of_an_unknown_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mailbox.sqlite3"
    sqlite3.connect(path).execute("PRAGMA user_version=99")
    with pytest.raises(RuntimeError, match="schema 99"):
        MailboxStore(path, MailboxLimits())
