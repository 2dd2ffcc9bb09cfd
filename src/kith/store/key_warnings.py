"""Repository of identity-key warnings (table ``key_warnings``).

A row means the peer at the other end of a channel proved an identity key
other than the contact's: nothing is sent to the contact until the user
accepts (which removes the row).
"""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["KeyWarningRepository"]


class KeyWarningRepository:
    """Contacts whose channel presented an unexpected identity key."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, contact_id: str, presented_key: bytes, seen_at: float) -> None:
        """Record the key the peer presented."""
        self._conn.execute(
            "INSERT OR REPLACE INTO key_warnings (contact_id, presented_key, seen_at) "
            "VALUES (?, ?, ?)",
            (contact_id, presented_key, seen_at),
        )

    def remove(self, contact_id: str) -> bool:
        """The user accepted; True if there was a warning."""
        cursor = self._conn.execute("DELETE FROM key_warnings WHERE contact_id = ?", (contact_id,))
        return cursor.rowcount > 0

    def contacts(self) -> set[str]:
        """Every contact with a warning."""
        rows = self._conn.execute("SELECT contact_id FROM key_warnings").fetchall()
        return {str(r[0]) for r in rows}
