"""The mailbox's SQLite file: sealed items by topic, kept until acknowledged
or expired. :class:`MailboxStore` is synchronous and single-threaded;
:class:`MailboxFile` runs it on its one worker thread as a
:class:`~kith_signal.mailbox.backend.MailboxBackend` (the executor boundary).

Every write commits before it returns (WAL, ``synchronous=FULL``), so an
acknowledged deposit survives a crash of the process or the machine. The
file holds topics (hashes of owners' tokens), sealed items (padded to size
buckets) and the time each was stored: no identity, key or address.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final, TypeVar

from kith_signal.mailbox.backend import (
    STORE_FULL_MESSAGE,
    MailboxFullError,
    MailboxLimits,
    StoredItem,
    StoreFullError,
)

__all__ = ["MAILBOX_FILE", "MailboxFile", "MailboxStore"]

MAILBOX_FILE: Final = "mailbox.sqlite3"
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
_T = TypeVar("_T")


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
            raise StoreFullError(STORE_FULL_MESSAGE)
        count, held = self._db.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM items WHERE topic = ?",
            (topic,),
        ).fetchone()
        if count >= limits.topic_items or held + size > limits.topic_bytes:
            raise MailboxFullError(limits.topic_full_message())

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


class MailboxFile:
    """The SQLite file of one process as a mailbox backend: every call runs on
    one worker thread, so the event loop never waits on the disk.

    Args:
        data_dir: The directory holding :data:`MAILBOX_FILE` (made if missing).
        limits: Quotas and TTL.
    """

    def __init__(self, data_dir: Path, limits: MailboxLimits) -> None:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mailbox")
        self._store = MailboxStore(data_dir / MAILBOX_FILE, limits)

    @property
    def held_items(self) -> int:
        return self._store.items

    @property
    def held_bytes(self) -> int:
        return self._store.bytes

    async def deposit(self, topic: bytes, payload: bytes, now: float) -> int:
        return await self._run(self._store.deposit, topic, payload, now)

    async def fetch(
        self, topic: bytes, now: float, max_bytes: int
    ) -> tuple[list[StoredItem], bool]:
        return await self._run(self._store.fetch, topic, now, max_bytes)

    async def ack(self, topic: bytes, ids: Sequence[int]) -> int:
        return await self._run(self._store.ack, topic, ids)

    async def expire(self, now: float) -> tuple[int, int]:
        return await self._run(self._store.expire, now)

    async def aclose(self) -> None:
        await self._run(self._store.close)
        self._executor.shutdown(wait=True)

    async def _run(self, work: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)


class _Transaction:
    """``with``: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error), in autocommit mode."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
