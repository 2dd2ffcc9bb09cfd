"""Repository of end-to-end sessions (table ``sessions``): the latest
``kith.sessions.Session.to_bytes()`` per contact. It holds secrets, which is
why it lives only in the encrypted database."""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["SessionRepository"]


class SessionRepository:
    """The serialised session of each contact."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, contact_id: str, state: bytes, updated_at: float) -> None:
        """Store (or replace) the contact's session."""
        self._conn.execute(
            "INSERT OR REPLACE INTO sessions (contact_id, state, updated_at) VALUES (?, ?, ?)",
            (contact_id, state, updated_at),
        )

    def get(self, contact_id: str) -> bytes | None:
        """The stored session, or None."""
        row = self._conn.execute(
            "SELECT state FROM sessions WHERE contact_id = ?", (contact_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def remove(self, contact_id: str) -> None:
        """Forget the contact's session."""
        self._conn.execute("DELETE FROM sessions WHERE contact_id = ?", (contact_id,))
