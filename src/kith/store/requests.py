"""Repository of contact requests received (table ``contact_requests``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kith.models import ContactRequest
from kith.store.connection import Connection

__all__ = ["RequestRepository"]

_COLUMNS = "id, public_key, name, received_at"


def _request(row: Sequence[Any]) -> ContactRequest:
    return ContactRequest(
        kith_id=str(row[0]), public_key=bytes(row[1]), name=str(row[2]), received_at=float(row[3])
    )


class RequestRepository:
    """The requests waiting for an answer, one per sender."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, kith_id: str, public_key: bytes, name: str, received_at: float) -> bool:
        """Store a request, or refresh the name and time of one from the same
        sender; return True when it is new."""
        known = self.find(kith_id) is not None
        self._conn.execute(
            "INSERT INTO contact_requests (id, public_key, name, received_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET "
            "name = excluded.name, received_at = excluded.received_at",
            (kith_id, public_key, name, received_at),
        )
        return not known

    def find(self, kith_id: str) -> ContactRequest | None:
        """One request, or None."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM contact_requests WHERE id = ?", (kith_id,)
        ).fetchone()
        return None if row is None else _request(row)

    def list(self) -> list[ContactRequest]:
        """Every waiting request, oldest first."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM contact_requests ORDER BY received_at, id"
        ).fetchall()
        return [_request(r) for r in rows]

    def count(self) -> int:
        """How many requests wait."""
        return int(self._conn.execute("SELECT count(*) FROM contact_requests").fetchone()[0])

    def remove(self, kith_id: str) -> bool:
        """Delete a request; return whether there was one."""
        cursor = self._conn.execute("DELETE FROM contact_requests WHERE id = ?", (kith_id,))
        return bool(cursor.rowcount)
