"""Schema migrations on real SQLCipher files: from every older version up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kith.errors import DatabaseDamagedError, SchemaTooNewError
from kith.store import LATEST_VERSION, Store, migrate, migrations, schema_version
from kith.store.connection import connect, create
from kith_proto.keys import IdentityKeys

KEY = os.urandom(32)
PEER = IdentityKeys(bytes(range(32)))


def _columns(path: Path, table: str) -> set[str]:
    conn = connect(path, KEY)
    try:
        return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    finally:
        conn.close()


def _database_at(path: Path, version: int) -> None:
    """Build a database at ``version`` holding the data that version can hold."""
    conn = create(path, KEY)
    migrate(conn, target=version, allow_empty=True)
    if version >= 1:
        conn.execute(
            "INSERT INTO identity VALUES (1, ?, ?, 'alice', 1.0)",
            (IdentityKeys(bytes(32)).kith_id, bytes(32)),
        )
        conn.execute("INSERT INTO settings VALUES ('user_status', '\"busy\"', 1.0)")
    if version >= 2:
        conn.execute(
            "INSERT INTO contacts (id, public_key, name, added_at) VALUES (?, ?, 'bob', 2.0)",
            (PEER.kith_id, PEER.public_key),
        )
    conn.close()


def test_a_new_database_is_at_the_latest_version(tmp_path: Path) -> None:
    with Store.create(tmp_path / "k.db", KEY) as store:
        assert schema_version(store._conn) == LATEST_VERSION


@pytest.mark.parametrize("start", range(1, LATEST_VERSION))
def test_upgrade_from_every_older_version_keeps_data(tmp_path: Path, start: int) -> None:
    path = tmp_path / "k.db"
    _database_at(path, start)
    with Store.open(path, KEY) as store:
        assert store.identity.info().name == "alice"
        assert store.settings.get("user_status") == "busy"
        if start >= 2:
            contact = store.contacts.get(PEER.kith_id)
            assert (contact.name, contact.status, contact.last_seen) == ("bob", "offline", None)
    assert {"status", "status_text", "last_seen", "presence_seq"} <= _columns(path, "contacts")


@pytest.mark.parametrize("start", range(2, LATEST_VERSION))
def test_upgraded_contacts_have_no_replay_floor_until_one_is_kept(
    tmp_path: Path, start: int
) -> None:
    path = tmp_path / "k.db"
    _database_at(path, start)
    with Store.open(path, KEY) as store:
        assert store.contacts.presence_seqs() == {}
        store.contacts.set_presence_seq(PEER.kith_id, 7)
        store.contacts.set_presence_seq(PEER.kith_id, 5)  # never lowered
        store.contacts.set_presence_seq("gone-contact", 9)  # unknown: ignored
    with Store.open(path, KEY) as store:
        assert store.contacts.presence_seqs() == {PEER.kith_id: 7}


def test_upgrade_from_version_zero_builds_the_whole_schema(tmp_path: Path) -> None:
    conn = create(tmp_path / "k.db", KEY)
    assert migrate(conn, allow_empty=True) == 0
    assert schema_version(conn) == LATEST_VERSION
    conn.close()


def test_an_existing_database_at_version_zero_is_damaged(tmp_path: Path) -> None:
    create(tmp_path / "k.db", KEY).close()
    with pytest.raises(DatabaseDamagedError, match="no Kith schema"):
        Store.open(tmp_path / "k.db", KEY)


def test_a_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    _database_at(path, LATEST_VERSION)
    conn = connect(path, KEY)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaTooNewError, match="newer Kith"):
        Store.open(path, KEY)


def test_a_failing_step_rolls_back_to_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conn: object) -> None:
        conn.execute("CREATE TABLE half_done (x)")  # type: ignore[attr-defined]
        raise RuntimeError("step failed")

    conn = create(tmp_path / "k.db", KEY)
    migrate(conn, target=1, allow_empty=True)
    monkeypatch.setattr(migrations, "STEPS", (migrations.STEPS[0], broken))
    with pytest.raises(RuntimeError):
        migrations.migrate(conn, target=2)
    assert schema_version(conn) == 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables
    conn.close()


def test_sqlcipher_parameters_are_pinned(tmp_path: Path) -> None:
    conn = create(tmp_path / "k.db", KEY)
    settings = {
        "cipher_page_size": "4096",
        "kdf_iter": "256000",
        "cipher_hmac_algorithm": "HMAC_SHA512",
        "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
    }
    for pragma, expected in settings.items():
        assert str(conn.execute(f"PRAGMA {pragma}").fetchone()[0]) == expected
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


def test_every_commit_is_synced_to_disk(tmp_path: Path) -> None:
    """``synchronous = FULL`` (2) on a new and a reopened database: a commit a
    receipt depends on survives an OS crash or power loss."""
    path = tmp_path / "k.db"
    conn = create(path, KEY)
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    conn.close()
    reopened = connect(path, KEY)
    assert reopened.execute("PRAGMA synchronous").fetchone()[0] == 2
    reopened.close()


ADDED_COLUMNS = {
    "contact_requests": {"id", "public_key", "name", "received_at"},  # v7
    "blocked_ids": {"id", "blocked_at"},  # v7
    "contacts": {"own_name"},  # v7
    "messages": {"reply_to", "via"},  # v9, v10
    "file_transfers": {"voice_ms", "source"},  # v16, v21
    "group_messages": {"edited_at", "deleted"},  # v18
}
"""Columns later versions added to a table; an upgrade from anywhere must end with them."""
NEW_TABLES = {
    "browser_sessions": {"secret_hash", "last_used"},  # v11
    "mailbox_own_keys": {"contact_id", "key_id", "private", "created_at", "retired_at"},  # v12
    "mailbox_peer_keys": {"contact_id", "key_id", "public", "received_at"},  # v12
    "call_log": {
        "id",
        "contact_id",
        "direction",
        "video",
        "outcome",
        "reason",
        "duration",
        "started_at",
        "ended_at",
    },  # v14
    "file_transfers": {
        "id",
        "contact_id",
        "direction",
        "name",
        "size",
        "sha256",
        "caption",
        "state",
        "reason",
        "have",
        "sent_at",
        "updated_at",
        "voice_ms",
        "source",
    },  # v13, v16, v21
    "file_vault": {"slot", "key"},  # v13
    "groups": {"id", "name", "version", "state", "active", "updated_at"},  # v15
    "group_sender_keys": {
        "group_id",
        "sender_id",
        "chain_id",
        "own",
        "chain_key",
        "iteration",
        "signing_key",
        "skipped",
        "created_at",
    },  # v15
    "group_messages": {
        "group_id",
        "id",
        "sender_id",
        "body",
        "sent_at",
        "received_at",
        "edited_at",
        "deleted",
    },  # v15, v18
    "group_outbox": {"contact_id", "seq", "frame"},  # v17
    "group_reactions": {"group_id", "message_id", "member_id", "emoji"},  # v18
    "group_receipts": {"group_id", "message_id", "member_id", "delivered_at", "read_at"},  # v18
    "group_change_times": {"group_id", "version", "applied_at"},  # v19
    "group_held_actions": {"id", "group_id", "message_id", "sender_id", "action", "held_at"},  # v20
    "group_held_frames": {"id", "group_id", "sender_id", "frame", "held_at"},  # v22
    "message_search_pending": {"n"},  # v23
}  # exactly these columns
"""Tables later versions created, with exactly their columns."""


@pytest.mark.parametrize("start", range(1, LATEST_VERSION))
def test_upgrade_adds_every_later_table_and_column(tmp_path: Path, start: int) -> None:
    path = tmp_path / "k.db"
    _database_at(path, start)
    Store.open(path, KEY).close()
    for table, columns in ADDED_COLUMNS.items():
        assert columns <= _columns(path, table), table
    for table, columns in NEW_TABLES.items():
        assert _columns(path, table) == columns, table
