"""Repositories and damage handling on real SQLCipher files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.errors import ContactError, DatabaseDamagedError, SettingError
from kith.store import Store
from kith.store.connection import PLAINTEXT_HEADER, connect
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
ME = IdentityKeys(bytes(32))
PEER = IdentityKeys(bytes(range(32)))


def _read_everything(path: Path) -> None:
    with Store.open(path, KEY) as store:
        store.call(lambda s: (s.identity.info(), s.contacts.list(), s.settings.all()))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "kith.db"
    with Store.create(path, KEY) as store:
        store.identity.create(ME, "alice", 1.0)
    return path


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path, KEY) as opened:
        yield opened


def test_identity_round_trip(store: Store) -> None:
    info = store.identity.info()
    assert (info.kith_id, info.name) == (ME.kith_id, "alice")
    assert store.identity.keys().seed == ME.seed


def test_identity_repr_has_no_secret(store: Store) -> None:
    assert ME.seed.hex() not in repr(store.identity.keys())
    assert ME.seed.hex() not in repr(store.identity.info())


def test_set_name(store: Store) -> None:
    assert store.identity.set_name("Alice A.").name == "Alice A."


def test_contact_defaults_to_offline_and_never_seen(store: Store) -> None:
    contact = store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    assert (contact.status, contact.status_text, contact.last_seen) == ("offline", "", None)
    assert contact.verified is False


def test_duplicate_contact_is_refused(store: Store) -> None:
    store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    with pytest.raises(ContactError, match="already") as info:
        store.contacts.add(PEER.kith_id, PEER.public_key, None, 6.0)
    assert info.value.code == "duplicate_contact"


def test_rename_verify_remove(store: Store) -> None:
    store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    assert store.contacts.rename(PEER.kith_id, "robert").name == "robert"
    assert store.contacts.set_verified(PEER.kith_id, True).verified is True
    store.contacts.remove(PEER.kith_id)
    assert store.contacts.list() == []


def test_operations_on_unknown_contacts_are_refused(store: Store) -> None:
    with pytest.raises(ContactError, match="not one of your contacts"):
        store.contacts.remove(PEER.kith_id)
    with pytest.raises(ContactError):
        store.contacts.rename(PEER.kith_id, "x")


def test_update_presence_records_status_and_last_seen(store: Store) -> None:
    store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    store.contacts.update_presence(PEER.kith_id, "busy", "in a meeting", 100.0)
    after = store.contacts.update_presence(PEER.kith_id, "offline", "", None)
    assert (after.status, after.status_text, after.last_seen) == ("offline", "", 100.0)


def test_settings_default_set_reset(store: Store) -> None:
    assert store.settings.get("auto_away_minutes") == 10
    store.settings.set("auto_away_minutes", 0, 1.0)
    assert store.settings.state("auto_away_minutes").is_default is False
    assert store.settings.reset("auto_away_minutes").value == 10


def test_settings_reject_invalid_values(store: Store) -> None:
    with pytest.raises(SettingError):
        store.settings.set("notifications", "loud", 1.0)


def test_values_persist_across_reopen(db_path: Path) -> None:
    with Store.open(db_path, KEY) as store:
        store.settings.set("stun_servers", ["stun:a"], 1.0)
        store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    with Store.open(db_path, KEY) as store:
        assert store.settings.get("stun_servers") == ["stun:a"]
        assert [c.name for c in store.contacts.list()] == ["bob"]


def _store_raw_setting(path: Path, key: str, json_text: str) -> Store:
    """What an older version (other bounds) or a hand edit could have left in the table."""
    conn = connect(path, KEY)
    try:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, 1.0)", (key, json_text)
        )
    finally:
        conn.close()
    return Store.open(path, KEY)


@pytest.mark.parametrize(
    ("key", "json_text"),
    [
        ("auto_away_minutes", "1" + "0" * 300),
        ("auto_away_minutes", "not json"),
        ("status_text", '"ring\\u0007 \\u202e"'),
        ("stun_servers", '["ftp://x"]'),
    ],
)
def test_an_invalid_stored_setting_reads_as_its_default(
    db_path: Path, key: str, json_text: str
) -> None:
    with _store_raw_setting(db_path, key, json_text) as store:
        assert store.settings.get(key) == store.settings.state(key).default
        assert store.settings.invalid() == [key]
        assert key not in store.settings.stored_values()


def test_setting_a_value_replaces_an_invalid_stored_one(db_path: Path) -> None:
    with _store_raw_setting(db_path, "auto_away_minutes", "1" + "0" * 300) as store:
        store.settings.set("auto_away_minutes", 5, 2.0)
        assert store.settings.get("auto_away_minutes") == 5
        assert store.settings.invalid() == []


def test_transaction_rolls_back_on_error(store: Store) -> None:
    def add_twice() -> None:
        with store.transaction():
            store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
            store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)

    with pytest.raises(ContactError):
        add_twice()
    assert store.contacts.list() == []


def _synchronous(store: Store) -> int:
    return int(store._conn.execute("PRAGMA synchronous").fetchone()[0])


def test_a_transaction_without_sync_commits_and_the_next_one_syncs_again(
    store: Store, db_path: Path
) -> None:
    with store.transaction(sync=False):
        assert _synchronous(store) == 1  # NORMAL: no fsync at this commit
        store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
    assert _synchronous(store) == 2  # FULL again
    store.close()
    with Store.open(db_path, KEY) as again:
        assert [c.name for c in again.contacts.list()] == ["bob"]


def test_a_failed_transaction_without_sync_rolls_back_and_syncs_again(store: Store) -> None:
    def add_twice() -> None:
        with store.transaction(sync=False):
            store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)
            store.contacts.add(PEER.kith_id, PEER.public_key, "bob", 5.0)

    with pytest.raises(ContactError):
        add_twice()
    assert store.contacts.list() == []
    assert _synchronous(store) == 2


def test_the_file_is_not_plaintext_sqlite(db_path: Path) -> None:
    assert not db_path.read_bytes().startswith(PLAINTEXT_HEADER)
    assert ME.seed not in db_path.read_bytes()


def test_wrong_key_is_reported_as_unreadable(db_path: Path) -> None:
    with pytest.raises(DatabaseDamagedError):
        Store.open(db_path, os.urandom(32))


def test_missing_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseDamagedError, match="missing"):
        Store.open(tmp_path / "nope.db", KEY)


def test_empty_database_file(tmp_path: Path) -> None:
    (tmp_path / "k.db").write_bytes(b"")
    with pytest.raises(DatabaseDamagedError, match="empty"):
        Store.open(tmp_path / "k.db", KEY)


@pytest.mark.parametrize("keep", [100, 4096, 5000])
def test_truncated_database(db_path: Path, keep: int) -> None:
    data = db_path.read_bytes()
    db_path.write_bytes(data[:keep])
    with pytest.raises(DatabaseDamagedError):
        _read_everything(db_path)


def test_corrupted_database(db_path: Path) -> None:
    data = bytearray(db_path.read_bytes())
    for i in range(0, len(data), 512):
        data[i] ^= 0xFF
    db_path.write_bytes(bytes(data))
    with pytest.raises(DatabaseDamagedError):
        _read_everything(db_path)
