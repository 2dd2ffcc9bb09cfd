"""Repository of rotating mailbox keys (tables ``mailbox_own_keys`` and ``mailbox_peer_keys``).

``mailbox_own_keys`` holds our X-Wing key pairs, per contact: the current one
(``retired_at`` NULL), announced to the contact, and the ones it replaced,
kept until items sealed to them can no longer be fetched (or until the
contact is removed), then deleted with ``PRAGMA secure_delete`` on, so
SQLite overwrites the freed cells instead of leaving the private key in a
free page. ``mailbox_peer_keys`` holds the newest
public key each contact announced to us (what we seal their items to).
See ``docs/p2p.md``, "Offline mailbox".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kith.store.connection import Connection

__all__ = ["MailboxKeyRepository", "OwnMailboxKey", "PeerMailboxKey"]


@dataclass(frozen=True)
class OwnMailboxKey:
    """One of our mailbox key pairs for a contact (``private``: 96-byte seed form)."""

    key_id: bytes
    private: bytes = field(repr=False)
    created_at: float
    retired_at: float | None


@dataclass(frozen=True)
class PeerMailboxKey:
    """The newest mailbox public key a contact announced."""

    key_id: bytes
    public: bytes = field(repr=False)
    received_at: float


class MailboxKeyRepository:
    """Our rotating mailbox key pairs and the keys contacts announced."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def own(self, contact_id: str) -> list[OwnMailboxKey]:
        """Our key pairs for the contact, newest first (the current one, if
        any, is the first with ``retired_at`` None)."""
        rows = self._conn.execute(
            "SELECT key_id, private, created_at, retired_at FROM mailbox_own_keys "
            "WHERE contact_id = ? ORDER BY created_at DESC",
            (contact_id,),
        ).fetchall()
        return [OwnMailboxKey(bytes(r[0]), bytes(r[1]), r[2], r[3]) for r in rows]

    def add_own(self, contact_id: str, key_id: bytes, private: bytes, now: float) -> None:
        """Make a new key pair current for the contact; the one it replaces is
        retired ``now`` (kept until :meth:`purge_own`). Run it in a transaction."""
        self._conn.execute(
            "UPDATE mailbox_own_keys SET retired_at = ? "
            "WHERE contact_id = ? AND retired_at IS NULL",
            (now, contact_id),
        )
        self._conn.execute(
            "INSERT INTO mailbox_own_keys (contact_id, key_id, private, created_at) "
            "VALUES (?, ?, ?, ?)",
            (contact_id, key_id, private, now),
        )

    def purge_own(self, retired_before: float) -> int:
        """Delete every key pair retired before ``retired_before``, and every
        key (ours and theirs) of someone who is no longer a contact,
        overwriting the freed space; how many of our key pairs were deleted."""
        previous = self._conn.execute("PRAGMA secure_delete").fetchone()[0]
        self._conn.execute("PRAGMA secure_delete = ON")
        try:
            cursor = self._conn.execute(
                "DELETE FROM mailbox_own_keys WHERE (retired_at IS NOT NULL AND retired_at < ?) "
                "OR contact_id NOT IN (SELECT id FROM contacts)",
                (retired_before,),
            )
            self._conn.execute(
                "DELETE FROM mailbox_peer_keys WHERE contact_id NOT IN (SELECT id FROM contacts)"
            )
        finally:
            self._conn.execute(f"PRAGMA secure_delete = {int(previous)}")
        return cursor.rowcount

    def peer(self, contact_id: str) -> PeerMailboxKey | None:
        """The newest key the contact announced, if any."""
        row = self._conn.execute(
            "SELECT key_id, public, received_at FROM mailbox_peer_keys WHERE contact_id = ?",
            (contact_id,),
        ).fetchone()
        return None if row is None else PeerMailboxKey(bytes(row[0]), bytes(row[1]), row[2])

    def set_peer(self, contact_id: str, key_id: bytes, public: bytes, now: float) -> None:
        """Remember the key the contact announced (replacing the one before)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO mailbox_peer_keys (contact_id, key_id, public, received_at) "
            "VALUES (?, ?, ?, ?)",
            (contact_id, key_id, public, now),
        )
