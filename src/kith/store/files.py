"""Repository of file transfers (tables ``file_transfers`` and ``file_vault``).

One row per transfer, ours or a contact's: what was offered (the name is
already sanitised), where the transfer is and how many leading chunks the
receiver holds. The bytes are not here: :mod:`kith.store.file_vault` keeps
them encrypted under the data directory, under the key :meth:`vault_key`
keeps in this (encrypted) database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kith.files.transfer import TransferState
from kith.store.connection import Connection

__all__ = ["FileRecord", "FileRepository"]

Direction = Literal["out", "in"]

_COLUMNS = (
    "id, contact_id, direction, name, size, sha256, caption, state, reason, have, sent_at, "
    "voice_ms, source"
)
_UNFINISHED = ("queued", "sending", "paused")


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One stored transfer."""

    id: str
    contact_id: str
    direction: Direction
    name: str
    size: int
    sha256: str
    caption: str
    state: TransferState
    reason: str | None
    have: int
    sent_at: int
    voice_ms: int | None = None
    """A voice message's length in milliseconds; ``None`` for any other file."""
    source: str | None = None
    """The vault file holding the bytes when it is not the transfer's own (a group
    file: stored once, under the group message's ID); ``None``: under :attr:`id`."""

    @property
    def vault_id(self) -> str:
        """The vault file that holds this transfer's bytes."""
        return self.source or self.id


def _record(row: Sequence[Any]) -> FileRecord:
    return FileRecord(
        id=str(row[0]),
        contact_id=str(row[1]),
        direction="out" if row[2] == "out" else "in",
        name=str(row[3]),
        size=int(row[4]),
        sha256=str(row[5]),
        caption=str(row[6]),
        state=TransferState(row[7]),
        reason=None if row[8] is None else str(row[8]),
        have=int(row[9]),
        sent_at=int(row[10]),
        voice_ms=None if row[11] is None else int(row[11]),
        source=None if row[12] is None else str(row[12]),
    )


class FileRepository:
    """File transfers by ID and by contact."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, record: FileRecord) -> None:
        """Store a new transfer (an existing ID is left as it is)."""
        self._conn.execute(
            f"INSERT OR IGNORE INTO file_transfers ({_COLUMNS}, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.contact_id,
                record.direction,
                record.name,
                record.size,
                record.sha256,
                record.caption,
                record.state.value,
                record.reason,
                record.have,
                record.sent_at,
                record.voice_ms,
                record.source,
                time.time(),
            ),
        )

    def update(self, file_id: str, state: TransferState, reason: str | None, have: int) -> None:
        """Record where a transfer is."""
        self._conn.execute(
            "UPDATE file_transfers SET state = ?, reason = ?, have = ?, updated_at = ? "
            "WHERE id = ?",
            (state.value, reason, have, time.time(), file_id),
        )

    def get(self, file_id: str) -> FileRecord | None:
        """The transfer ``file_id``, if stored."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM file_transfers WHERE id = ?", (file_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def for_contact(self, contact_id: str) -> list[FileRecord]:
        """Every transfer with a contact, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM file_transfers WHERE contact_id = ? ORDER BY sent_at, rowid",
            (contact_id,),
        ).fetchall()
        return [_record(r) for r in rows]

    def from_source(self, source: str) -> list[FileRecord]:
        """Every transfer of the bytes stored under ``source`` (a group file's, one per
        member), oldest first."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM file_transfers WHERE source = ? ORDER BY rowid", (source,)
        ).fetchall()
        return [_record(r) for r in rows]

    def unfinished(self) -> list[FileRecord]:
        """Every transfer still queued, sending or paused (to resume at start)."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM file_transfers WHERE state IN (?, ?, ?) ORDER BY rowid",
            _UNFINISHED,
        ).fetchall()
        return [_record(r) for r in rows]

    def delete(self, file_id: str) -> None:
        """Forget a transfer (its bytes are the vault's to delete)."""
        self._conn.execute("DELETE FROM file_transfers WHERE id = ?", (file_id,))

    def vault_key(self) -> bytes:
        """The key of the file vault, made on first use (32 random bytes)."""
        row = self._conn.execute("SELECT key FROM file_vault WHERE slot = 1").fetchone()
        if row is not None:
            return bytes(row[0])
        key = os.urandom(32)
        self._conn.execute("INSERT INTO file_vault (slot, key) VALUES (1, ?)", (key,))
        return key
