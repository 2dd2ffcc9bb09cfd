"""The data directory: where it is and what is in it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["DB_FILE", "ENV_HOME", "KEY_FILE", "DataDir"]

ENV_HOME: Final = "KITH_HOME"
DB_FILE: Final = "kith.db"
KEY_FILE: Final = "key.json"


@dataclass(frozen=True)
class DataDir:
    """A Kith data directory (it may not exist yet)."""

    path: Path

    @classmethod
    def resolve(cls, explicit: str | os.PathLike[str] | None = None) -> DataDir:
        """``explicit`` if given, else ``$KITH_HOME``, else the platform's user data dir."""
        if explicit:
            return cls(Path(explicit).expanduser())
        env = os.environ.get(ENV_HOME)
        if env:
            return cls(Path(env).expanduser())
        import platformdirs

        return cls(Path(platformdirs.user_data_dir("kith")))

    @property
    def db_path(self) -> Path:
        """The SQLCipher database."""
        return self.path / DB_FILE

    @property
    def key_path(self) -> Path:
        """The wrapped database key."""
        return self.path / KEY_FILE

    def is_initialised(self) -> bool:
        """True when an identity lives (or partly lives) here."""
        return self.key_path.exists() or self.db_path.exists()

    def is_empty(self) -> bool:
        """True when the directory does not exist or has no entries."""
        if not self.path.exists():
            return True
        return self.path.is_dir() and not any(self.path.iterdir())
