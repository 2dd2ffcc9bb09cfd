"""Versioned schema migrations.

The schema version is ``PRAGMA user_version``. ``STEPS[n]`` upgrades a database
from version ``n`` to ``n + 1``; each step runs in its own transaction together
with the version bump, so a failed step leaves the previous version intact.
Later capabilities append steps (messages, outbox, sessions); they never edit
an existing one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from kith.errors import DatabaseDamagedError, SchemaTooNewError
from kith.store.connection import Connection

__all__ = ["LATEST_VERSION", "STEPS", "migrate", "schema_version"]

Step = Callable[[Connection], None]


def _v1_identity_and_settings(conn: Connection) -> None:
    conn.execute(
        """CREATE TABLE identity (
            slot INTEGER PRIMARY KEY CHECK (slot = 1),
            kith_id TEXT NOT NULL,
            seed BLOB NOT NULL CHECK (length(seed) = 32),
            name TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )


def _v2_contacts(conn: Connection) -> None:
    conn.execute(
        """CREATE TABLE contacts (
            id TEXT PRIMARY KEY,
            public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
            name TEXT,
            verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
            added_at REAL NOT NULL
        )"""
    )


def _v3_contact_presence(conn: Connection) -> None:
    conn.execute("ALTER TABLE contacts ADD COLUMN status TEXT NOT NULL DEFAULT 'offline'")
    conn.execute("ALTER TABLE contacts ADD COLUMN status_text TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE contacts ADD COLUMN last_seen REAL")


def _v4_node_state(conn: Connection) -> None:
    conn.execute(
        """CREATE TABLE node_state (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        )"""
    )


def _v5_messaging(conn: Connection) -> None:
    conn.execute(
        """CREATE TABLE messages (
            n INTEGER PRIMARY KEY,
            contact_id TEXT NOT NULL,
            id TEXT NOT NULL,
            sender TEXT NOT NULL CHECK (sender IN ('me', 'peer')),
            text TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            state TEXT NOT NULL,
            seq INTEGER NOT NULL,
            edited_at INTEGER,
            deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
            reactions TEXT NOT NULL DEFAULT '[]',
            UNIQUE (contact_id, id)
        )"""
    )
    conn.execute(
        """CREATE TABLE outbox (
            contact_id TEXT NOT NULL,
            id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            frame BLOB NOT NULL,
            PRIMARY KEY (contact_id, id)
        )"""
    )
    conn.execute(
        """CREATE TABLE chat_cursors (
            contact_id TEXT PRIMARY KEY,
            next_seq INTEGER NOT NULL DEFAULT 1,
            peer_next_seq INTEGER NOT NULL DEFAULT 1
        )"""
    )
    conn.execute(
        """CREATE TABLE sessions (
            contact_id TEXT PRIMARY KEY,
            state BLOB NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE key_warnings (
            contact_id TEXT PRIMARY KEY,
            presented_key BLOB NOT NULL CHECK (length(presented_key) = 32),
            seen_at REAL NOT NULL
        )"""
    )


def _v6_presence_replay_floor(conn: Connection) -> None:
    # Each contact's presence replay floor (lowest seq still accepted): NULL until the first.
    conn.execute("ALTER TABLE contacts ADD COLUMN presence_seq INTEGER")


def _v7_contact_requests(conn: Connection) -> None:
    # The name a contact chose for themselves (from their presence records).
    conn.execute("ALTER TABLE contacts ADD COLUMN own_name TEXT NOT NULL DEFAULT ''")
    conn.execute(
        """CREATE TABLE contact_requests (
            id TEXT PRIMARY KEY,
            public_key BLOB NOT NULL UNIQUE CHECK (length(public_key) = 32),
            name TEXT NOT NULL DEFAULT '',
            received_at REAL NOT NULL
        )"""
    )
    conn.execute(
        """CREATE TABLE blocked_ids (
            id TEXT PRIMARY KEY,
            blocked_at REAL NOT NULL
        )"""
    )


def _v8_message_search(conn: Connection) -> None:
    # A full-text index of the live messages' text, inside the encrypted file; contentless
    # (the text stays in ``messages`` only), kept in step by triggers on every write.
    conn.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5(text, content='', "
        "contentless_delete=1, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute(
        "INSERT INTO message_search (rowid, text) SELECT n, text FROM messages WHERE deleted = 0"
    )
    conn.execute(
        """CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN new.deleted = 0
        BEGIN INSERT INTO message_search (rowid, text) VALUES (new.n, new.text); END"""
    )
    conn.execute(
        """CREATE TRIGGER message_search_update AFTER UPDATE OF text, deleted ON messages
        WHEN old.text IS NOT new.text OR old.deleted IS NOT new.deleted
        BEGIN
            DELETE FROM message_search WHERE rowid = old.n;
            INSERT INTO message_search (rowid, text) SELECT new.n, new.text WHERE new.deleted = 0;
        END"""
    )
    conn.execute(
        """CREATE TRIGGER message_search_delete AFTER DELETE ON messages
        BEGIN DELETE FROM message_search WHERE rowid = old.n; END"""
    )


def _v9_message_replies(conn: Connection) -> None:
    # The ID of the message a message replies to (same conversation), NULL for none.
    conn.execute("ALTER TABLE messages ADD COLUMN reply_to TEXT")


def _v10_message_via(conn: Connection) -> None:
    # How a received message reached us: 'direct' (data channel) or 'mailbox'.
    conn.execute("ALTER TABLE messages ADD COLUMN via TEXT NOT NULL DEFAULT 'direct'")


def _v11_browser_sessions(conn: Connection) -> None:
    # Browser sessions kept across a clean restart: only a hash of each secret.
    conn.execute(
        "CREATE TABLE browser_sessions ("
        " secret_hash BLOB PRIMARY KEY, last_used REAL NOT NULL) WITHOUT ROWID"
    )


def _v12_mailbox_keys(conn: Connection) -> None:
    # Rotating mailbox keys (docs/p2p.md, "Offline mailbox"): our X-Wing key pairs, one
    # current per contact (retired_at NULL), kept until the mailbox TTL + grace after
    # retirement; and the newest public key each contact announced to us.
    conn.execute(
        """CREATE TABLE mailbox_own_keys (
            contact_id TEXT NOT NULL,
            key_id BLOB NOT NULL CHECK (length(key_id) = 8),
            private BLOB NOT NULL CHECK (length(private) = 96),
            created_at REAL NOT NULL,
            retired_at REAL,
            PRIMARY KEY (contact_id, key_id)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE mailbox_peer_keys (
            contact_id TEXT PRIMARY KEY,
            key_id BLOB NOT NULL CHECK (length(key_id) = 8),
            public BLOB NOT NULL CHECK (length(public) = 1216),
            received_at REAL NOT NULL
        )"""
    )


def _v13_file_transfers(conn: Connection) -> None:
    # File transfers (kith.files): metadata only; the bytes are encrypted files under the
    # data directory, under a key kept here (file_vault) so they are as safe as the database.
    # `have` is how many leading chunks the receiver holds, as far as this node knows.
    conn.execute(
        """CREATE TABLE file_transfers (
            id TEXT PRIMARY KEY,
            contact_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
            name TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size >= 0),
            sha256 TEXT NOT NULL,
            caption TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            reason TEXT,
            have INTEGER NOT NULL DEFAULT 0,
            sent_at INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX file_transfers_by_contact ON file_transfers (contact_id)")
    conn.execute(
        """CREATE TABLE file_vault (
            slot INTEGER PRIMARY KEY CHECK (slot = 1),
            key BLOB NOT NULL CHECK (length(key) = 32)
        )"""
    )


def _v14_call_log(conn: Connection) -> None:
    # Calls (kith.calls) as the chat history shows them: one row per ended call. No media,
    # no session descriptions or candidates: only who, which way, how it ended and how long.
    conn.execute(
        """CREATE TABLE call_log (
            id TEXT PRIMARY KEY,
            contact_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('out', 'in')),
            video INTEGER NOT NULL CHECK (video IN (0, 1)),
            outcome TEXT NOT NULL,
            reason TEXT NOT NULL,
            duration REAL NOT NULL CHECK (duration >= 0),
            started_at REAL NOT NULL,
            ended_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX call_log_by_contact ON call_log (contact_id, started_at)")


def _v15_groups(conn: Connection) -> None:
    # Private groups (kith.groups, docs/groups.md): the signed group state as this node
    # accepted it (`state` is its canonical encoding), each member's sender chain as far
    # as we have advanced it, and the group's messages. `own` marks our own chain, whose
    # `signing_key` is then the private seed instead of the public key.
    conn.execute(
        """CREATE TABLE groups (
            id BLOB PRIMARY KEY CHECK (length(id) = 16),
            name TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            state BLOB NOT NULL,
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            updated_at REAL NOT NULL
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE group_sender_keys (
            group_id BLOB NOT NULL,
            sender_id TEXT NOT NULL,
            chain_id BLOB NOT NULL CHECK (length(chain_id) = 8),
            own INTEGER NOT NULL CHECK (own IN (0, 1)),
            chain_key BLOB NOT NULL CHECK (length(chain_key) = 32),
            iteration INTEGER NOT NULL CHECK (iteration >= 0),
            signing_key BLOB NOT NULL CHECK (length(signing_key) = 32),
            skipped BLOB NOT NULL DEFAULT x'',
            created_at REAL NOT NULL,
            PRIMARY KEY (group_id, sender_id, chain_id)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE group_messages (
            group_id BLOB NOT NULL,
            id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            body TEXT NOT NULL,
            sent_at INTEGER NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (group_id, id)
        ) WITHOUT ROWID"""
    )
    conn.execute("CREATE INDEX group_messages_by_time ON group_messages (group_id, sent_at)")


def _v16_voice_messages(conn: Connection) -> None:
    # A file transfer that is a voice message carries its length in milliseconds (from the
    # offer, kith.files.frames.Offer.voice_ms); NULL for any other file.
    conn.execute("ALTER TABLE file_transfers ADD COLUMN voice_ms INTEGER")


def _v17_group_outbox(conn: Connection) -> None:
    # Group frames waiting for a member's acknowledgement (kith.runtime.groups.hub): each
    # member's own sequence, resent on every session with them until acknowledged.
    conn.execute(
        """CREATE TABLE group_outbox (
            contact_id TEXT NOT NULL,
            seq INTEGER NOT NULL CHECK (seq >= 1),
            frame BLOB NOT NULL,
            PRIMARY KEY (contact_id, seq)
        ) WITHOUT ROWID"""
    )


def _v18_group_message_features(conn: Connection) -> None:
    # Edits, deletes, reactions and receipts of group messages (kith.groups.content):
    # an edited message keeps its new text in `body` and the edit time in `edited_at`;
    # a deleted one has an empty body. `group_receipts` holds, per message and member,
    # when the member had it (`delivered_at`) and read it (`read_at`, where the member's
    # read receipts are on); our own row for a member's message records our reading it.
    conn.execute("ALTER TABLE group_messages ADD COLUMN edited_at INTEGER")
    conn.execute(
        "ALTER TABLE group_messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 "
        "CHECK (deleted IN (0, 1))"
    )
    conn.execute(
        """CREATE TABLE group_reactions (
            group_id BLOB NOT NULL,
            message_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            emoji TEXT NOT NULL,
            PRIMARY KEY (group_id, message_id, member_id, emoji)
        ) WITHOUT ROWID"""
    )
    conn.execute(
        """CREATE TABLE group_receipts (
            group_id BLOB NOT NULL,
            message_id TEXT NOT NULL,
            member_id TEXT NOT NULL,
            delivered_at REAL,
            read_at REAL,
            PRIMARY KEY (group_id, message_id, member_id)
        ) WITHOUT ROWID"""
    )


def _v19_group_change_times(conn: Connection) -> None:
    # When this node applied each membership change of a group (kith.store.groups): the
    # signed changes carry no time, so the page places its system lines among the
    # messages by this one. Changes applied before this version have no row.
    conn.execute(
        """CREATE TABLE group_change_times (
            group_id BLOB NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            applied_at REAL NOT NULL,
            PRIMARY KEY (group_id, version)
        ) WITHOUT ROWID"""
    )


def _v20_group_held_actions(conn: Connection) -> None:
    # Edits, deletes and reactions of a group message that arrived before the message
    # they name (kith.runtime.groups.hub): kept, in arrival order (`id`), until the
    # message arrives or they expire (docs/groups.md); `action` is the sealed content
    # as the sender wrote it (kith.groups.content.encode_content).
    conn.execute(
        """CREATE TABLE group_held_actions (
            id INTEGER PRIMARY KEY,
            group_id BLOB NOT NULL,
            message_id TEXT NOT NULL,
            sender_id TEXT NOT NULL,
            action BLOB NOT NULL,
            held_at REAL NOT NULL
        )"""
    )
    conn.execute(
        "CREATE INDEX group_held_actions_by_message ON group_held_actions (group_id, message_id)"
    )


def _v21_file_sources(conn: Connection) -> None:
    # A transfer whose bytes are another vault file's (kith.runtime.files): a group file
    # is stored once, under the group message's ID, and each member's transfer names it
    # in `source`; NULL: the bytes are under the transfer's own ID (every 1:1 file).
    conn.execute("ALTER TABLE file_transfers ADD COLUMN source TEXT")
    conn.execute("CREATE INDEX file_transfers_by_source ON file_transfers (source)")


def _v22_group_held_frames(conn: Connection) -> None:
    # A member's sender key or sealed group message that arrived before the change or
    # key it needs (kith.runtime.groups.hub): kept, in arrival order (`id`), until that
    # arrives or it expires (docs/groups.md), so a restart loses none; `frame` is the
    # group frame as the member sent it (kith.groups.frames.encode_group_frame).
    conn.execute(
        """CREATE TABLE group_held_frames (
            id INTEGER PRIMARY KEY,
            group_id BLOB NOT NULL,
            sender_id TEXT NOT NULL,
            frame BLOB NOT NULL,
            held_at REAL NOT NULL
        )"""
    )
    conn.execute("CREATE INDEX group_held_frames_by_group ON group_held_frames (group_id, id)")


def _v23_search_in_batches(conn: Connection) -> None:
    # The search index takes new and edited messages in batches instead of at every
    # commit (a commit that flushed FTS5 wrote several pages for one message): a message
    # waits in `message_search_pending` (one small row) until a search runs or a waiting
    # message's number is a multiple of 256; then every waiting one is indexed at once
    # (kith.store.message_search). A message deleted or edited leaves the index at once.
    # (No OR IGNORE in these triggers: an outer upsert's conflict handling would override it.)
    conn.execute("CREATE TABLE message_search_pending (n INTEGER PRIMARY KEY)")
    for name in ("insert", "update", "delete"):
        conn.execute(f"DROP TRIGGER message_search_{name}")
    conn.execute(
        """CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN new.deleted = 0
        BEGIN INSERT INTO message_search_pending (n) VALUES (new.n); END"""
    )
    conn.execute(
        """CREATE TRIGGER message_search_update AFTER UPDATE OF text, deleted ON messages
        WHEN old.text IS NOT new.text OR old.deleted IS NOT new.deleted
        BEGIN
            DELETE FROM message_search WHERE rowid = old.n;
            INSERT INTO message_search_pending (n) SELECT new.n WHERE new.deleted = 0
                AND NOT EXISTS (SELECT 1 FROM message_search_pending WHERE n = new.n);
        END"""
    )
    conn.execute(
        """CREATE TRIGGER message_search_delete AFTER DELETE ON messages
        BEGIN
            DELETE FROM message_search WHERE rowid = old.n;
            DELETE FROM message_search_pending WHERE n = old.n;
        END"""
    )
    conn.execute(
        """CREATE TRIGGER message_search_batch AFTER INSERT ON message_search_pending
        WHEN new.n % 256 = 0
        BEGIN
            INSERT INTO message_search (rowid, text) SELECT m.n, m.text
                FROM message_search_pending p JOIN messages m ON m.n = p.n WHERE m.deleted = 0;
            DELETE FROM message_search_pending;
        END"""
    )


def _v24_search_batch_by_number(conn: Connection) -> None:
    # Step 23's batch trigger joined the waiting numbers to `messages` in an order the
    # planner may choose, and it chose to scan every message for each batch: the cost of
    # a batch grew with the whole history. This one looks the waiting messages up by
    # number (`n IN (...)` on the INTEGER PRIMARY KEY).
    conn.execute("DROP TRIGGER message_search_batch")
    conn.execute(
        """CREATE TRIGGER message_search_batch AFTER INSERT ON message_search_pending
        WHEN new.n % 256 = 0
        BEGIN
            INSERT INTO message_search (rowid, text) SELECT n, text FROM messages
                WHERE n IN (SELECT n FROM message_search_pending) AND deleted = 0;
            DELETE FROM message_search_pending;
        END"""
    )


STEPS: Final[Sequence[Step]] = (
    _v1_identity_and_settings,
    _v2_contacts,
    _v3_contact_presence,
    _v4_node_state,
    _v5_messaging,
    _v6_presence_replay_floor,
    _v7_contact_requests,
    _v8_message_search,
    _v9_message_replies,
    _v10_message_via,
    _v11_browser_sessions,
    _v12_mailbox_keys,
    _v13_file_transfers,
    _v14_call_log,
    _v15_groups,
    _v16_voice_messages,
    _v17_group_outbox,
    _v18_group_message_features,
    _v19_group_change_times,
    _v20_group_held_actions,
    _v21_file_sources,
    _v22_group_held_frames,
    _v23_search_in_batches,
    _v24_search_batch_by_number,
)
LATEST_VERSION: Final = len(STEPS)


def schema_version(conn: Connection) -> int:
    """Return the database's ``user_version``."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _run_step(conn: Connection, index: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        STEPS[index](conn)
        conn.execute(f"PRAGMA user_version = {index + 1}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: Connection, *, target: int = LATEST_VERSION, allow_empty: bool = False) -> int:
    """Upgrade ``conn`` to ``target``; return the version it was at before.

    Raises:
        SchemaTooNewError: the database is newer than this Kith understands.
        DatabaseDamagedError: the database has no schema and ``allow_empty`` is false
            (an existing Kith database is never at version 0).
    """
    current = schema_version(conn)
    if current > LATEST_VERSION:
        raise SchemaTooNewError(
            f"the database has schema version {current}, but this Kith knows only up to "
            f"{LATEST_VERSION}: it was written by a newer Kith; upgrade Kith to open it"
        )
    if current == 0 and not allow_empty:
        raise DatabaseDamagedError("the database has no Kith schema (empty or truncated)")
    for index in range(current, target):
        _run_step(conn, index)
    return current
