"""The runtime file: how the CLI finds the running node (``node.json``).

The node writes it into the data directory once its local API listens, with
owner-only permissions (it holds the per-run API token), and removes it on a
clean stop. A file left by a crash is *stale*: its process is gone or does not
answer, and the CLI falls back to the database.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from kith.private_files import write_private

__all__ = [
    "RUNTIME_FILE",
    "RuntimeInfo",
    "new_token",
    "read_runtime",
    "remove_runtime",
    "write_runtime",
]

RUNTIME_FILE: Final = "node.json"
_FORMAT: Final = 1


def new_token() -> str:
    """A fresh random secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class RuntimeInfo:
    """Where the running node's API listens and the token it requires."""

    pid: int
    host: str
    port: int
    token: str
    started_at: float

    def __repr__(self) -> str:
        return f"RuntimeInfo(pid={self.pid}, host={self.host!r}, port={self.port})"

    @property
    def base_url(self) -> str:
        """The API's origin, e.g. ``http://127.0.0.1:43211``."""
        return f"http://{self.host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        """The file's content."""
        return {
            "format": _FORMAT,
            "pid": self.pid,
            "host": self.host,
            "port": self.port,
            "url": self.base_url,
            "token": self.token,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, value: object) -> RuntimeInfo | None:
        """Parse the file's content; None when it is not a runtime file we understand."""
        if not isinstance(value, dict) or value.get("format") != _FORMAT:
            return None
        pid, host, port = value.get("pid"), value.get("host"), value.get("port")
        token, started = value.get("token"), value.get("started_at")
        if not (isinstance(pid, int) and isinstance(port, int) and isinstance(host, str)):
            return None
        if not isinstance(token, str) or not isinstance(started, int | float):
            return None
        return cls(pid, host, port, token, float(started))


def write_runtime(data_dir: Path, info: RuntimeInfo) -> Path:
    """Write ``node.json`` atomically with mode 0600; return its path."""
    path = data_dir / RUNTIME_FILE
    write_private(path, json.dumps(info.to_json()).encode("utf-8"))
    return path


def read_runtime(data_dir: Path) -> RuntimeInfo | None:
    """The runtime file's content, or None when absent or unreadable."""
    try:
        text = (data_dir / RUNTIME_FILE).read_text(encoding="utf-8")
        return RuntimeInfo.from_json(json.loads(text))
    except (OSError, ValueError):
        return None


def remove_runtime(data_dir: Path, info: RuntimeInfo) -> None:
    """Remove ``node.json`` if it is still ours (another node may have replaced it)."""
    current = read_runtime(data_dir)
    if current is not None and current.token == info.token:
        (data_dir / RUNTIME_FILE).unlink(missing_ok=True)
