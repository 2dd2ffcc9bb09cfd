"""Repository of the local identity (table ``identity``, one row)."""

from __future__ import annotations

from kith.errors import NotInitialisedError
from kith.models import IdentityInfo
from kith.store.connection import Connection
from kith_proto.keys import IdentityKeys

__all__ = ["IdentityRepository"]


class IdentityRepository:
    """Reads and writes the single identity row."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def create(self, keys: IdentityKeys, name: str, created_at: float) -> IdentityInfo:
        """Store a new identity; the table must be empty."""
        self._conn.execute(
            "INSERT INTO identity (slot, kith_id, seed, name, created_at) VALUES (1, ?, ?, ?, ?)",
            (keys.kith_id, keys.seed, name, created_at),
        )
        return IdentityInfo(keys.kith_id, keys.public_key, name, created_at)

    def _row(self) -> tuple[str, bytes, str, float]:
        row = self._conn.execute(
            "SELECT kith_id, seed, name, created_at FROM identity WHERE slot = 1"
        ).fetchone()
        if row is None:
            raise NotInitialisedError("the database holds no identity")
        return str(row[0]), bytes(row[1]), str(row[2]), float(row[3])

    def info(self) -> IdentityInfo:
        """The public side of the identity."""
        kith_id, seed, name, created_at = self._row()
        return IdentityInfo(kith_id, IdentityKeys(seed).public_key, name, created_at)

    def keys(self) -> IdentityKeys:
        """The identity key pair (secret: keep it in memory only)."""
        return IdentityKeys(self._row()[1])

    def set_name(self, name: str) -> IdentityInfo:
        """Change the display name."""
        self._conn.execute("UPDATE identity SET name = ? WHERE slot = 1", (name,))
        return self.info()
