"""Opening SQLCipher databases (the only module that talks to sqlcipher3 directly).

The database key is a random 32-byte value passed as a raw key
(``PRAGMA key = "x'..'"``), so SQLCipher skips its own password KDF. The
SQLCipher 4 parameters are pinned explicitly so a future library default
cannot silently make old files unreadable.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import sqlcipher3

from kith.errors import DatabaseDamagedError

__all__ = [
    "KEY_SIZE",
    "Connection",
    "DatabaseError",
    "IntegrityError",
    "connect",
    "create",
    "without_disk_sync",
]

KEY_SIZE: Final = 32
_PAGE_SIZE: Final = 4096
_KDF_ITER: Final = 256000
_HMAC: Final = "HMAC_SHA512"
_KDF: Final = "PBKDF2_HMAC_SHA512"
PLAINTEXT_HEADER: Final = b"SQLite format 3\x00"
_SYNC_AT_COMMIT: Final = "PRAGMA synchronous = FULL"
"""Every commit syncs the WAL (see :func:`_configure`)."""

_CACHED_STATEMENTS: Final = 256
"""Prepared statements kept per connection. With the module's default (about
100), a connection that had just created or upgraded the database (each
step's statements run once) compiled statements of the messaging path again
at every transaction: a receipt's state update and outbox delete, each time."""

Connection = sqlite3.Connection
DatabaseError: Final = sqlcipher3.DatabaseError
IntegrityError: Final = sqlcipher3.IntegrityError


def _apply_key(conn: Connection, key: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"database key must be {KEY_SIZE} bytes")
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    conn.execute(f"PRAGMA cipher_page_size = {_PAGE_SIZE}")
    conn.execute(f"PRAGMA kdf_iter = {_KDF_ITER}")
    conn.execute(f"PRAGMA cipher_hmac_algorithm = {_HMAC}")
    conn.execute(f"PRAGMA cipher_kdf_algorithm = {_KDF}")


def _configure(conn: Connection) -> None:
    conn.execute("PRAGMA journal_mode = WAL")
    # FULL, not NORMAL: in WAL mode NORMAL skips the fsync at each commit, so
    # a commit can roll back after an OS crash or power loss although a
    # delivery receipt already went out. The messaging committer batches
    # commits, so one fsync covers many messages.
    conn.execute(_SYNC_AT_COMMIT)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 5000")


@contextmanager
def without_disk_sync(conn: Connection) -> Iterator[None]:
    """Commit without waiting for the disk (``synchronous = NORMAL``) inside the block.

    For a transaction whose loss to a power cut or an OS crash costs nothing
    (a process crash loses nothing either way: the commit is in the WAL). The
    next synced commit syncs the WAL and with it every frame before it, so no
    later commit can survive one lost this way.
    """
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        conn.execute(_SYNC_AT_COMMIT)


def _open(path: Path, key: bytes, mode: str) -> Connection:
    uri = f"{path.resolve().as_uri()}?mode={mode}"
    conn: Connection = sqlcipher3.connect(
        uri, uri=True, isolation_level=None, cached_statements=_CACHED_STATEMENTS
    )
    try:
        # SQLCipher would print its own diagnostics to stderr; we report errors ourselves.
        conn.execute("PRAGMA cipher_log_level = NONE")
        _apply_key(conn, key)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _configure(conn)
    except sqlcipher3.DatabaseError:
        conn.close()
        raise DatabaseDamagedError(
            f"cannot read the database {path.name}: it is damaged, truncated or not Kith's"
        ) from None
    return conn


def connect(path: Path, key: bytes) -> Connection:
    """Open an existing encrypted database; raise DatabaseDamagedError if unusable."""
    if not path.is_file():
        raise DatabaseDamagedError(f"the database {path.name} is missing from the data directory")
    if path.stat().st_size == 0:
        raise DatabaseDamagedError(f"the database {path.name} is empty (truncated)")
    return _open(path, key, "rw")


def create(path: Path, key: bytes) -> Connection:
    """Create a new encrypted database file at ``path`` (which must not exist)."""
    if path.exists():
        raise FileExistsError(path.name)
    return _open(path, key, "rwc")
