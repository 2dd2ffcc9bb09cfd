"""Repository of browser sessions kept across a clean restart (table ``browser_sessions``).

Only the SHA-256 of each session secret is stored (inside the encrypted
database), with when it was last used. The node takes them all at start, so
a node that then stops without a clean shutdown keeps none: a session signed
out during that run can never come back.
"""

from __future__ import annotations

from collections.abc import Iterable

from kith.store.connection import Connection

__all__ = ["BrowserSessionRepository"]


class BrowserSessionRepository:
    """Hashes of live browser-session secrets and their last use (epoch seconds)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def replace_all(self, sessions: Iterable[tuple[bytes, float]]) -> None:
        """Keep exactly ``sessions`` (``(secret_hash, last_used)`` pairs)."""
        self._conn.execute("DELETE FROM browser_sessions")
        self._conn.executemany(
            "INSERT OR REPLACE INTO browser_sessions (secret_hash, last_used) VALUES (?, ?)",
            list(sessions),
        )

    def take_all(self) -> list[tuple[bytes, float]]:
        """Every kept session, removed from the table."""
        rows = self._conn.execute("SELECT secret_hash, last_used FROM browser_sessions")
        sessions = [(bytes(row[0]), float(row[1])) for row in rows]
        self._conn.execute("DELETE FROM browser_sessions")
        return sessions
