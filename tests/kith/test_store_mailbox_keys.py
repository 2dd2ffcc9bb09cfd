"""The rotating mailbox keys in the real SQLCipher store: one current key pair
per contact, retired ones purged after their window, contacts' announced keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.store import Store
from kith.store.connection import IntegrityError
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
_A, _B = IdentityKeys.generate(), IdentityKeys.generate()
ALICE, BOB = _A.kith_id, _B.kith_id


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.create(tmp_path / "k.db", KEY) as store:
        for keys in (_A, _B):
            store.contacts.add(keys.kith_id, keys.public_key, None, 1.0)
        yield store


def _add(store: Store, contact: str, n: int, now: float) -> None:
    with store.transaction():
        store.mailbox_keys.add_own(contact, bytes([n]) * 8, bytes([n]) * 96, now)


def test_a_new_key_pair_retires_the_current_one_of_that_contact_only(store: Store) -> None:
    _add(store, ALICE, 1, 100.0)
    _add(store, BOB, 2, 150.0)
    _add(store, ALICE, 3, 200.0)
    keys = store.mailbox_keys.own(ALICE)
    assert [(k.key_id[0], k.created_at, k.retired_at) for k in keys] == [
        (3, 200.0, None),
        (1, 100.0, 200.0),
    ]
    assert [k.retired_at for k in store.mailbox_keys.own(BOB)] == [None]
    assert keys[0].private.hex() not in repr(keys[0])


def test_purge_deletes_only_keys_retired_before_the_bound_and_restores_the_pragma(
    store: Store,
) -> None:
    _add(store, ALICE, 1, 100.0)
    _add(store, ALICE, 2, 200.0)
    _add(store, ALICE, 3, 300.0)  # 1 retired at 200, 2 at 300, 3 current
    assert store.mailbox_keys.purge_own(retired_before=250.0) == 1
    assert [k.key_id[0] for k in store.mailbox_keys.own(ALICE)] == [3, 2]
    assert store.mailbox_keys.purge_own(retired_before=10_000.0) == 1
    assert [k.key_id[0] for k in store.mailbox_keys.own(ALICE)] == [3]  # the current stays
    assert store._conn.execute("PRAGMA secure_delete").fetchone()[0] == 1  # SQLCipher's default


def test_purge_overwrites_even_where_secure_delete_was_off_then_restores_it(
    store: Store,
) -> None:
    conn = store._conn
    conn.execute("PRAGMA secure_delete = OFF")
    _add(store, ALICE, 1, 100.0)
    _add(store, ALICE, 2, 200.0)
    before = conn.execute("PRAGMA secure_delete").fetchone()[0]
    assert store.mailbox_keys.purge_own(retired_before=1_000.0) == 1
    assert (before, conn.execute("PRAGMA secure_delete").fetchone()[0]) == (0, 0)


def test_a_contacts_announced_key_is_replaced_by_the_next(store: Store) -> None:
    assert store.mailbox_keys.peer(ALICE) is None
    store.mailbox_keys.set_peer(ALICE, b"\x01" * 8, b"\x01" * 1216, 1.0)
    store.mailbox_keys.set_peer(ALICE, b"\x02" * 8, b"\x02" * 1216, 2.0)
    key = store.mailbox_keys.peer(ALICE)
    assert key is not None
    assert (key.key_id, key.public, key.received_at) == (b"\x02" * 8, b"\x02" * 1216, 2.0)
    assert store.mailbox_keys.peer(BOB) is None


def test_keys_of_the_wrong_size_are_refused_by_the_schema(store: Store) -> None:
    with pytest.raises(IntegrityError):
        store.mailbox_keys.set_peer(ALICE, b"\x01" * 8, b"\x01" * 32, 1.0)
    with pytest.raises(IntegrityError), store.transaction():
        store.mailbox_keys.add_own(ALICE, b"\x01" * 7, b"\x01" * 96, 1.0)
    assert store.mailbox_keys.own(ALICE) == []


def test_the_keys_of_a_removed_contact_go_at_the_next_purge(store: Store) -> None:
    _add(store, ALICE, 1, 100.0)
    _add(store, BOB, 2, 100.0)
    store.mailbox_keys.set_peer(ALICE, b"\x01" * 8, b"\x01" * 1216, 1.0)
    store.contacts.remove(ALICE)
    assert store.mailbox_keys.purge_own(retired_before=0.0) == 1
    assert store.mailbox_keys.own(ALICE) == []
    assert store.mailbox_keys.peer(ALICE) is None
    assert [k.key_id[0] for k in store.mailbox_keys.own(BOB)] == [2]
