"""Value objects shared by the store, the backends and the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kith.safety import fingerprint
from kith.settings import SettingValue

__all__ = ["Contact", "ContactRequest", "IdentityInfo", "SettingState"]


@dataclass(frozen=True)
class IdentityInfo:
    """The public side of the local identity (no secret)."""

    kith_id: str
    public_key: bytes = field(repr=False)
    name: str
    created_at: float

    @property
    def fingerprint(self) -> str:
        """The 30-digit fingerprint of the public key."""
        return fingerprint(self.public_key)

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith id --json``."""
        return {
            "id": self.kith_id,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class Contact:
    """One contact with its last known presence."""

    kith_id: str
    public_key: bytes = field(repr=False)
    name: str | None
    verified: bool
    added_at: float
    status: str = "offline"
    status_text: str = ""
    last_seen: float | None = None
    own_name: str = ""

    @property
    def display_name(self) -> str:
        """The nickname, else the name the contact chose, else the start of the ID."""
        return self.name or self.own_name or self.kith_id[:12] + "…"

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith contacts list --json``."""
        return {
            "id": self.kith_id,
            "name": self.name,
            "verified": self.verified,
            "added_at": self.added_at,
            "status": self.status,
            "status_text": self.status_text,
            "last_seen": self.last_seen,
            "own_name": self.own_name,
            "display_name": self.display_name,
        }


@dataclass(frozen=True)
class ContactRequest:
    """A contact request received and not answered yet.

    Attributes:
        kith_id: The sender's ID.
        public_key: The sender's identity key.
        name: The display name the sender chose (may be empty).
        received_at: When the (latest) request arrived, epoch seconds.
    """

    kith_id: str
    public_key: bytes = field(repr=False)
    name: str
    received_at: float

    def to_json(self, safety_number: str) -> dict[str, Any]:
        """The object printed by ``kith contacts requests --json``."""
        return {
            "id": self.kith_id,
            "name": self.name,
            "received_at": self.received_at,
            "safety_number": safety_number,
        }


@dataclass(frozen=True)
class SettingState:
    """A setting's current value and whether it is the default."""

    key: str
    value: SettingValue
    default: SettingValue
    help: str
    allowed: str

    @property
    def is_default(self) -> bool:
        """True when no value has been set."""
        return self.value == self.default

    def to_json(self) -> dict[str, Any]:
        """The object printed by ``kith settings ... --json``."""
        return {
            "key": self.key,
            "value": self.value,
            "default": self.default,
            "is_default": self.is_default,
            "help": self.help,
            "allowed": self.allowed,
        }
