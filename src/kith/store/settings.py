"""Repository of settings (table ``settings``): JSON values checked by the registry."""

from __future__ import annotations

import json

from kith.errors import DatabaseDamagedError, SettingError
from kith.models import SettingState
from kith.settings import SETTINGS, SettingValue, definition
from kith.store.connection import Connection

__all__ = ["SettingsRepository"]


class SettingsRepository:
    """Typed get/set/reset of the settings in the registry."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _stored(self, key: str) -> SettingValue | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return definition(key).validate(json.loads(row[0]))
        except (ValueError, SettingError):
            raise DatabaseDamagedError(f"the stored value of setting {key} is invalid") from None

    def get(self, key: str) -> SettingValue:
        """The current value (the default when never set)."""
        spec = definition(key)
        stored = self._stored(key)
        return spec.default if stored is None else stored

    def state(self, key: str) -> SettingState:
        """The value with its default and description."""
        spec = definition(key)
        return SettingState(key, self.get(key), spec.default, spec.help, spec.allowed)

    def all(self) -> list[SettingState]:
        """Every known setting, in registry order."""
        return [self.state(key) for key in SETTINGS]

    def set(self, key: str, value: object, updated_at: float) -> SettingState:
        """Validate and store a value (a JSON value, not user text)."""
        canonical = definition(key).validate(value)
        self._conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (key, json.dumps(canonical), updated_at),
        )
        return self.state(key)

    def reset(self, key: str) -> SettingState:
        """Forget the stored value so the default applies."""
        definition(key)
        self._conn.execute("DELETE FROM settings WHERE key = ?", (key,))
        return self.state(key)

    def stored_values(self) -> dict[str, SettingValue]:
        """Only the settings that have been set (for backups)."""
        rows = self._conn.execute("SELECT key FROM settings ORDER BY key").fetchall()
        return {str(r[0]): self.get(str(r[0])) for r in rows if str(r[0]) in SETTINGS}
