"""Repository of per-contact sequence numbers (table ``chat_cursors``).

``next_seq`` is one above the highest sequence number we ever used towards
the contact; ``peer_next_seq`` is the next one we expect from them (the last
``StoreCursor``). Both start at 1.
"""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["CursorRepository"]


class CursorRepository:
    """Both sequence cursors of every conversation."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, contact_id: str) -> tuple[int, int]:
        """``(next_seq, peer_next_seq)``; ``(1, 1)`` for a new conversation."""
        row = self._conn.execute(
            "SELECT next_seq, peer_next_seq FROM chat_cursors WHERE contact_id = ?",
            (contact_id,),
        ).fetchone()
        return (1, 1) if row is None else (int(row[0]), int(row[1]))

    def raise_next_seq(self, contact_id: str, next_seq: int) -> None:
        """Make our ``next_seq`` at least ``next_seq`` (it never goes back)."""
        self._conn.execute(
            "INSERT INTO chat_cursors (contact_id, next_seq) VALUES (?, ?) "
            "ON CONFLICT (contact_id) DO UPDATE SET next_seq = max(next_seq, excluded.next_seq)",
            (contact_id, next_seq),
        )

    def set_peer_next_seq(self, contact_id: str, peer_next_seq: int) -> None:
        """Record the next sequence number expected from the contact."""
        self._conn.execute(
            "INSERT INTO chat_cursors (contact_id, peer_next_seq) VALUES (?, ?) "
            "ON CONFLICT (contact_id) DO UPDATE SET peer_next_seq = excluded.peer_next_seq",
            (contact_id, peer_next_seq),
        )
