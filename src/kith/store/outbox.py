"""Repository of the outbox (table ``outbox``): sequenced chat frames waiting
for the contact's delivery receipt. A row is written in the same transaction
as the message it carries, so a queued message survives a crash."""

from __future__ import annotations

from collections.abc import Sequence

from kith.chat.model import OutboxEntry
from kith.store.connection import Connection

__all__ = ["OutboxRepository"]


class OutboxRepository:
    """Outbox entries per contact, lowest sequence number first."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, contact_id: str, entry: OutboxEntry) -> None:
        """Store an entry (a repeat of the same ID replaces it)."""
        self.put_many(contact_id, [entry])

    def put_many(self, contact_id: str, entries: Sequence[OutboxEntry]) -> None:
        """:meth:`put` each entry, in order."""
        self._conn.executemany(
            "INSERT OR REPLACE INTO outbox (contact_id, id, seq, frame) VALUES (?, ?, ?, ?)",
            [(contact_id, e.id, e.seq, e.frame) for e in entries],
        )

    def drop(self, contact_id: str, entry_id: str) -> None:
        """Remove an entry the contact stored."""
        self.drop_many(contact_id, [entry_id])

    def drop_many(self, contact_id: str, entry_ids: Sequence[str]) -> None:
        """Remove entries the contact stored."""
        self._conn.executemany(
            "DELETE FROM outbox WHERE contact_id = ? AND id = ?",
            [(contact_id, each) for each in entry_ids],
        )

    def entries(self, contact_id: str) -> list[OutboxEntry]:
        """Every waiting entry for the contact, in sequence order."""
        rows = self._conn.execute(
            "SELECT id, seq, frame FROM outbox WHERE contact_id = ? ORDER BY seq", (contact_id,)
        ).fetchall()
        return [OutboxEntry(str(r[0]), int(r[1]), bytes(r[2])) for r in rows]

    def pending_contacts(self) -> set[str]:
        """Contacts something waits for."""
        rows = self._conn.execute("SELECT DISTINCT contact_id FROM outbox").fetchall()
        return {str(r[0]) for r in rows}
