"""Repository of contacts (table ``contacts``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kith.errors import ContactError
from kith.models import Contact
from kith.store.connection import Connection, IntegrityError

__all__ = ["ContactRepository"]

_COLUMNS = "id, public_key, name, verified, added_at, status, status_text, last_seen, own_name"


def _contact(row: Sequence[Any]) -> Contact:
    return Contact(
        kith_id=str(row[0]),
        public_key=bytes(row[1]),
        name=row[2],
        verified=bool(row[3]),
        added_at=float(row[4]),
        status=str(row[5]),
        status_text=str(row[6]),
        last_seen=None if row[7] is None else float(row[7]),
        own_name=str(row[8]),
    )


def _unknown(kith_id: str) -> ContactError:
    return ContactError(f"{kith_id} is not one of your contacts", code="unknown_contact")


class ContactRepository:
    """CRUD on contacts plus the presence update used by the presence component."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, kith_id: str, public_key: bytes, name: str | None, added_at: float) -> Contact:
        """Insert a contact; raise ContactError(code="duplicate") if already there."""
        try:
            self._conn.execute(
                "INSERT INTO contacts (id, public_key, name, added_at) VALUES (?, ?, ?, ?)",
                (kith_id, public_key, name, added_at),
            )
        except IntegrityError:
            raise ContactError(
                f"{kith_id} is already one of your contacts", code="duplicate_contact"
            ) from None
        return self.get(kith_id)

    def get(self, kith_id: str) -> Contact:
        """Return one contact or raise ContactError(code="unknown_contact")."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM contacts WHERE id = ?", (kith_id,)
        ).fetchone()
        if row is None:
            raise _unknown(kith_id)
        return _contact(row)

    def find(self, kith_id: str) -> Contact | None:
        """Return one contact, or None."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM contacts WHERE id = ?", (kith_id,)
        ).fetchone()
        return None if row is None else _contact(row)

    def list(self) -> list[Contact]:
        """All contacts, by name then ID."""
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM contacts ORDER BY name IS NULL, name COLLATE NOCASE, id"
        ).fetchall()
        return [_contact(r) for r in rows]

    def _update(self, kith_id: str, sql: str, params: tuple[Any, ...]) -> Contact:
        cursor = self._conn.execute(sql, (*params, kith_id))
        if cursor.rowcount == 0:
            raise _unknown(kith_id)
        return self.get(kith_id)

    def remove(self, kith_id: str) -> None:
        """Delete a contact."""
        cursor = self._conn.execute("DELETE FROM contacts WHERE id = ?", (kith_id,))
        if cursor.rowcount == 0:
            raise _unknown(kith_id)

    def rename(self, kith_id: str, name: str | None) -> Contact:
        """Set (or clear, with None) the contact's nickname."""
        return self._update(kith_id, "UPDATE contacts SET name = ? WHERE id = ?", (name,))

    def set_own_name(self, kith_id: str, name: str) -> None:
        """Record the display name the contact chose (a removed contact is ignored)."""
        self._conn.execute("UPDATE contacts SET own_name = ? WHERE id = ?", (name, kith_id))

    def set_verified(self, kith_id: str, verified: bool) -> Contact:
        """Mark the contact's safety number as compared (or not)."""
        return self._update(
            kith_id, "UPDATE contacts SET verified = ? WHERE id = ?", (int(verified),)
        )

    def presence_seqs(self) -> dict[str, int]:
        """Each contact's presence replay floor: the lowest sequence number
        still accepted from them (contacts without one are absent)."""
        rows = self._conn.execute(
            "SELECT id, presence_seq FROM contacts WHERE presence_seq IS NOT NULL"
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def set_presence_seq(self, kith_id: str, seq: int) -> None:
        """Raise the stored presence replay floor of ``kith_id`` to ``seq``
        (never lowers it; a removed contact is ignored)."""
        self._conn.execute(
            "UPDATE contacts SET presence_seq = max(coalesce(presence_seq, -1), ?) WHERE id = ?",
            (seq, kith_id),
        )

    def update_presence(
        self, kith_id: str, status: str, status_text: str, last_seen: float | None
    ) -> Contact:
        """Record a contact's presence as the presence component last learnt it.

        ``last_seen`` None keeps the stored value (it is never cleared once seen).
        """
        return self._update(
            kith_id,
            "UPDATE contacts SET status = ?, status_text = ?, "
            "last_seen = coalesce(?, last_seen) WHERE id = ?",
            (status, status_text, last_seen),
        )
