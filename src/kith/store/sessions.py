"""The ``sessions`` table, kept only to empty it.

Version 5 of the schema added a ``sessions`` table (the latest
``Session.to_bytes()`` per contact) and earlier nodes filled it, but nothing
ever read it back: every channel runs a fresh handshake. Stored ratchet keys
would only let someone who later obtains the database key decrypt recorded
traffic, which defeats forward secrecy. Session state is therefore never
persisted any more, and the node deletes whatever a previous version stored
when it starts (migrations are append-only, so the table itself stays).
"""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["SessionRepository"]


class SessionRepository:
    """The obsolete ``sessions`` table: only emptied."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def clear(self) -> int:
        """Delete every stored session (from an older version); returns how many."""
        return self._conn.execute("DELETE FROM sessions").rowcount
