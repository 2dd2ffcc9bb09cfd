"""Repository of blocked IDs (table ``blocked_ids``): their requests are dropped unseen."""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["BlockedRepository"]


class BlockedRepository:
    """The IDs whose contact requests are refused silently."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, kith_id: str, blocked_at: float) -> None:
        """Block ``kith_id`` (blocking twice keeps the first time)."""
        self._conn.execute(
            "INSERT OR IGNORE INTO blocked_ids (id, blocked_at) VALUES (?, ?)",
            (kith_id, blocked_at),
        )

    def remove(self, kith_id: str) -> bool:
        """Unblock ``kith_id``; return whether it was blocked."""
        cursor = self._conn.execute("DELETE FROM blocked_ids WHERE id = ?", (kith_id,))
        return bool(cursor.rowcount)

    def contains(self, kith_id: str) -> bool:
        """Whether ``kith_id`` is blocked."""
        row = self._conn.execute("SELECT 1 FROM blocked_ids WHERE id = ?", (kith_id,)).fetchone()
        return row is not None

    def list(self) -> list[str]:
        """Every blocked ID, in the order they were blocked."""
        rows = self._conn.execute("SELECT id FROM blocked_ids ORDER BY blocked_at, id")
        return [str(row[0]) for row in rows]
