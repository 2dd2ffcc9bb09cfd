"""The call log in a real (SQLCipher) store: kept per contact, oldest first, refused when bad."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kith.store import Store
from kith.store.call_log import CallRecord
from kith.store.connection import IntegrityError

KEY = os.urandom(32)
ALICE, BOB = "a" * 56, "b" * 56


def record(call_id: str, contact: str, started: float, **kw: object) -> CallRecord:
    fields: dict[str, object] = {
        "direction": "out", "video": False, "outcome": "answered", "reason": "hangup",
        "duration": 12.5, "ended_at": started + 20,
    }  # fmt: skip
    fields.update(kw)
    return CallRecord(call_id, contact, started_at=started, **fields)  # type: ignore[arg-type]


def test_calls_are_kept_per_contact_oldest_first_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    with Store.create(path, KEY) as store, store.transaction():
        store.call_log.add(record("2" * 32, BOB, 200.0, outcome="missed", direction="in"))
        store.call_log.add(record("1" * 32, BOB, 100.0, video=True))
        store.call_log.add(record("3" * 32, ALICE, 150.0))
        store.call_log.add(record("1" * 32, BOB, 999.0))  # the same call again: ignored
    with Store.open(path, KEY) as store:
        calls = store.call_log.list(BOB)
        assert [c.id for c in calls] == ["1" * 32, "2" * 32]
        assert calls[0].video
        assert calls[1].to_json()["outcome"] == "missed"
        assert [c.id for c in store.call_log.list(BOB, limit=1)] == ["2" * 32]
        with store.transaction():
            assert store.call_log.delete_contact(BOB) == 2
        assert store.call_log.list(BOB) == []
        assert len(store.call_log.list(ALICE)) == 1


def test_a_bad_row_is_refused(tmp_path: Path) -> None:
    with Store.create(tmp_path / "kith.db", KEY) as store:
        with pytest.raises(IntegrityError), store.transaction():
            store.call_log.add(record("4" * 32, BOB, 1.0, direction="sideways"))
        with pytest.raises(IntegrityError), store.transaction():
            store.call_log.add(record("5" * 32, BOB, 1.0, duration=-1.0))
        assert store.call_log.list(BOB) == []


def test_an_owed_notice_survives_reopening_until_sent(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    with Store.create(path, KEY) as store, store.transaction():
        unreached = {"outcome": "unanswered", "reason": "not_reachable", "duration": 0.0}
        store.call_log.add(record("5" * 32, BOB, 300.0, **unreached), notice=True)
        store.call_log.add(record("6" * 32, ALICE, 200.0, **unreached), notice=True)
        store.call_log.add(record("7" * 32, BOB, 100.0))  # answered: nothing owed
    with Store.open(path, KEY) as store:
        assert [(c.id, c.contact_id) for c in store.call_log.notices()] == [
            ("6" * 32, ALICE), ("5" * 32, BOB),
        ]  # fmt: skip
        with store.transaction():
            assert store.call_log.notices_sent(["5" * 32, "f" * 32]) == 1
    with Store.open(path, KEY) as store:
        assert [c.id for c in store.call_log.notices()] == ["6" * 32]
        with store.transaction():
            store.call_log.delete_contact(ALICE)
        assert store.call_log.notices() == []
