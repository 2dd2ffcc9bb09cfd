"""The synchronous store: one SQLCipher connection and its repositories.

A :class:`Store` belongs to the thread that opened it (sqlite's default
same-thread check stays on). Async code uses :class:`kith.store.AsyncStore`,
which owns a store on a dedicated worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import TypeVar

from kith.errors import DatabaseDamagedError, KithError
from kith.store.blocked import BlockedRepository
from kith.store.browser_sessions import BrowserSessionRepository
from kith.store.call_log import CallLogRepository
from kith.store.connection import Connection, DatabaseError, connect, create, without_disk_sync
from kith.store.contacts import ContactRepository
from kith.store.cursors import CursorRepository
from kith.store.files import FileRepository
from kith.store.groups import GroupRepository
from kith.store.identity import IdentityRepository
from kith.store.key_warnings import KeyWarningRepository
from kith.store.mailbox_keys import MailboxKeyRepository
from kith.store.message_search import SearchRepository
from kith.store.messages import MessageRepository
from kith.store.migrations import migrate
from kith.store.outbox import OutboxRepository
from kith.store.requests import RequestRepository
from kith.store.sessions import SessionRepository
from kith.store.settings import SettingsRepository
from kith.store.state import StateRepository

__all__ = ["Store"]

T = TypeVar("T")


class Store:
    """An open, migrated database with one repository per table."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.identity = IdentityRepository(conn)
        self.contacts = ContactRepository(conn)
        self.requests = RequestRepository(conn)
        self.blocked = BlockedRepository(conn)
        self.settings = SettingsRepository(conn)
        self.state = StateRepository(conn)
        self.messages = MessageRepository(conn)
        self.search = SearchRepository(conn)
        self.outbox = OutboxRepository(conn)
        self.cursors = CursorRepository(conn)
        self.sessions = SessionRepository(conn)
        self.key_warnings = KeyWarningRepository(conn)
        self.browser_sessions = BrowserSessionRepository(conn)
        self.files = FileRepository(conn)
        self.mailbox_keys = MailboxKeyRepository(conn)
        self.call_log = CallLogRepository(conn)
        self.groups = GroupRepository(conn)

    @classmethod
    def open(cls, path: Path, key: bytes) -> Store:
        """Open an existing database and bring its schema up to date."""
        conn = connect(path, key)
        try:
            with _damage_guard():
                migrate(conn)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @classmethod
    def create(cls, path: Path, key: bytes) -> Store:
        """Create a new database file with the latest schema."""
        conn = create(path, key)
        try:
            migrate(conn, allow_empty=True)
        except BaseException:
            conn.close()
            raise
        return cls(conn)

    @contextmanager
    def transaction(self, *, sync: bool = True) -> Iterator[None]:
        """Run the body in one write transaction (commit, or roll back on error).

        The commit waits for the disk (``synchronous = FULL``) unless ``sync``
        is false: only for writes whose loss to a power cut costs nothing
        (:func:`~kith.store.connection.without_disk_sync`).
        """
        with nullcontext() if sync else without_disk_sync(self._conn):
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def call(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn(self)``, turning SQLCipher I/O failures into DatabaseDamagedError."""
        with _damage_guard():
            return fn(self)

    def close(self) -> None:
        """Checkpoint the WAL and close the connection."""
        # closing anyway if this fails: the WAL is replayed on the next open
        with suppress(DatabaseError):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _damage_guard() -> Iterator[None]:
    from kith.store.connection import IntegrityError

    try:
        yield
    except IntegrityError:
        raise
    except DatabaseError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise KithError(
                "the database is busy (another Kith process holds it); try again",
                code="database_busy",
            ) from None
        raise DatabaseDamagedError(f"the database is damaged: {exc}") from None
