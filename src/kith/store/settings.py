"""Repository of settings (table ``settings``): JSON values checked by the registry.

A stored value the registry refuses (written by an older version with other
bounds, or by hand) reads as the setting's default, so it can never stop the
node; :meth:`SettingsRepository.invalid` names such settings so the node can
warn about them, and setting or resetting the value replaces it.
"""

from __future__ import annotations

import json

from kith.errors import SettingError
from kith.models import SettingState
from kith.settings import SETTINGS, SettingValue, definition
from kith.store.connection import Connection

__all__ = ["SettingsRepository"]


class SettingsRepository:
    """Typed get/set/reset of the settings in the registry."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _row(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _stored(self, key: str) -> SettingValue | None:
        """The stored value if there is a valid one."""
        text = self._row(key)
        if text is None:
            return None
        try:
            return definition(key).validate(json.loads(text))
        except (ValueError, RecursionError, SettingError):
            return None

    def get(self, key: str) -> SettingValue:
        """The current value (the default when never set, or when the stored one is invalid)."""
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

    def invalid(self) -> list[str]:
        """The known settings whose stored value the registry refuses (they read as defaults)."""
        return [k for k in SETTINGS if self._row(k) is not None and self._stored(k) is None]

    def stored_values(self) -> dict[str, SettingValue]:
        """Only the settings that have been set to a valid value (for backups)."""
        rows = self._conn.execute("SELECT key FROM settings ORDER BY key").fetchall()
        keys = [str(r[0]) for r in rows if str(r[0]) in SETTINGS]
        return {k: v for k in keys if (v := self._stored(k)) is not None}
