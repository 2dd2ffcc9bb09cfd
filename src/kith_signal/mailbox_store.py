"""The mailbox's SQLite file: sealed items by topic, kept until acknowledged
or expired. Synchronous and single-threaded: :class:`~kith_signal.mailbox.Mailbox`
calls it from its one worker thread.

Every write commits before it returns (WAL, ``synchronous=FULL``), so an
acknowledged deposit survives a crash of the process or the machine. The
file holds topics (hashes of owners' tokens), sealed items (padded to size
buckets) and the time each was stored: no identity, key or address.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["MailboxFullError", "MailboxLimits", "MailboxStore", "StoreFullError", "StoredItem"]

SCHEMA_VERSION: Final = 1
_SCHEMA: Final = """
CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic BLOB NOT NULL,
    digest BLOB NOT NULL,
    payload BLOB NOT NULL,
    stored_at REAL NOT NULL,
    UNIQUE (topic, digest)
);
CREATE INDEX items_by_age ON items (stored_at);
"""


class MailboxFullError(Exception):
    """The topic holds its quota of items or bytes."""


class StoreFullError(Exception):
    """The whole mailbox holds its quota of bytes."""


@dataclass(frozen=True)
class MailboxLimits:
    """Quotas and time to live of the mailbox (defaults as documented)."""

    ttl: float = 14 * 86400.0
    topic_items: int = 10_000
    topic_bytes: int = 64 * 1024 * 1024
    total_bytes: int = 1024 * 1024 * 1024

    def __post_init__(self) -> None:
        if min(self.ttl, self.topic_items, self.topic_bytes, self.total_bytes) <= 0:
            raise ValueError("mailbox limits must be positive")


@dataclass(frozen=True)
class StoredItem:
    """One item as stored: its id and sealed bytes."""

    id: int
    payload: bytes


class MailboxStore:
    """The SQLite file of the mailbox.

    Args:
        path: The database file (created with its schema when missing).
        limits: Quotas and TTL.
    """

    def __init__(self, path: Path, limits: MailboxLimits) -> None:
        self._limits = limits
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()
        self.items, self.bytes = self._totals()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version != 0:
            raise RuntimeError(f"mailbox file has schema {version}, expected {SCHEMA_VERSION}")
        script = f"BEGIN IMMEDIATE;{_SCHEMA}PRAGMA user_version={SCHEMA_VERSION};COMMIT;"
        self._db.executescript(script)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _totals(self) -> tuple[int, int]:
        row = self._db.execute("SELECT count(*), coalesce(sum(length(payload)), 0) FROM items")
        items, size = row.fetchone()
        return int(items), int(size)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def deposit(self, topic: bytes, payload: bytes, now: float) -> int:
        """Store an item durably; return its id. The same item twice is stored once.

        Raises:
            MailboxFullError: The topic's quota is reached.
            StoreFullError: The whole mailbox's quota is reached.
        """
        digest = hashlib.sha256(payload).digest()[:16]
        known = self._db.execute(
            "SELECT id FROM items WHERE topic = ? AND digest = ?", (topic, digest)
        ).fetchone()
        if known is not None:
            return int(known[0])
        self._check_quota(topic, len(payload))
        cursor = self._db.execute(
            "INSERT INTO items (topic, digest, payload, stored_at) VALUES (?, ?, ?, ?)",
            (topic, digest, payload, now),
        )
        self.items += 1
        self.bytes += len(payload)
        return int(cursor.lastrowid or 0)

    def _check_quota(self, topic: bytes, size: int) -> None:
        limits = self._limits
        if self.bytes + size > limits.total_bytes:
            raise StoreFullError("the mailbox server is full; try again later")
        count, held = self._db.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM items WHERE topic = ?",
            (topic,),
        ).fetchone()
        if count >= limits.topic_items or held + size > limits.topic_bytes:
            raise MailboxFullError(
                f"this mailbox holds its quota ({limits.topic_items} items, "
                f"{limits.topic_bytes} bytes) until its owner fetches"
            )

    def fetch(self, topic: bytes, now: float, max_bytes: int) -> tuple[list[StoredItem], bool]:
        """The oldest live items of ``topic`` within ``max_bytes`` (at least one),
        and whether more wait."""
        rows = self._db.execute(
            "SELECT id, payload FROM items WHERE topic = ? AND stored_at > ? ORDER BY id",
            (topic, now - self._limits.ttl),
        )
        items: list[StoredItem] = []
        taken = 0
        for item_id, payload in rows:
            if items and taken + len(payload) > max_bytes:
                return items, True
            items.append(StoredItem(int(item_id), bytes(payload)))
            taken += len(payload)
        return items, False

    def ack(self, topic: bytes, ids: Sequence[int]) -> int:
        """Delete the items ``ids`` of ``topic``; return how many were held."""
        removed = size = 0
        with self._transaction():
            for item_id in ids:
                row = self._db.execute(
                    "DELETE FROM items WHERE topic = ? AND id = ? RETURNING length(payload)",
                    (topic, item_id),
                ).fetchone()
                if row is not None:
                    removed += 1
                    size += int(row[0])
        self.items -= removed
        self.bytes -= size
        return removed

    def expire(self, now: float) -> tuple[int, int]:
        """Delete items older than the TTL; return (items, bytes) removed."""
        with self._transaction():
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(length(payload)), 0) FROM items"
                " WHERE stored_at <= ?",
                (now - self._limits.ttl,),
            ).fetchone()
            self._db.execute("DELETE FROM items WHERE stored_at <= ?", (now - self._limits.ttl,))
        count, size = int(row[0]), int(row[1])
        self.items -= count
        self.bytes -= size
        return count, size


class _Transaction:
    """``with``: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), in autocommit mode."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
