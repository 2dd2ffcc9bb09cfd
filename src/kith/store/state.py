"""Repository of the node's internal counters (table ``node_state``).

Values here are not user settings: they are bookkeeping the node keeps across
restarts, such as the last presence sequence number it published.
"""

from __future__ import annotations

from kith.store.connection import Connection

__all__ = ["PRESENCE_SEQ", "StateRepository"]

PRESENCE_SEQ = "presence_seq"
"""The last presence sequence number this node used."""


class StateRepository:
    """Integer values by key; absent keys read as a default."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_int(self, key: str, default: int = 0) -> int:
        """The stored value of ``key``, or ``default``."""
        row = self._conn.execute("SELECT value FROM node_state WHERE key = ?", (key,)).fetchone()
        return default if row is None else int(row[0])

    def set_int(self, key: str, value: int) -> None:
        """Store ``value`` under ``key``."""
        self._conn.execute(
            "INSERT INTO node_state (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
