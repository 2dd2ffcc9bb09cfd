"""What a backup holds (pure): identity seed, name, contacts and settings,
and with ``--with-files`` the metadata of the files whose bytes follow it.

Encoded as JSON with msgspec inside the sealed container. Decoding validates
everything (seed size, IDs and their checksums, setting values) before any
byte is written to disk.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from kith.contacts import canonical_id, usable_key
from kith.errors import BackupError, KithError
from kith.files.frames import MAX_FILE_SIZE, check_transfer_id
from kith.settings import SettingValue, definition

__all__ = [
    "PAYLOAD_VERSION",
    "BackupPayload",
    "ContactRecord",
    "FileEntry",
    "decode",
    "encode",
]

PAYLOAD_VERSION: Final = 1


class ContactRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A contact as kept in a backup (presence is not backed up)."""

    id: str
    name: str | None
    verified: bool
    added_at: float


class FileEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A finished file transfer kept in a backup (its bytes follow the payload)."""

    id: str
    contact_id: str
    direction: str
    name: str
    size: int
    sha256: str
    caption: str
    sent_at: int


class BackupPayload(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The decrypted content of a backup."""

    version: int
    seed: bytes = msgspec.field()
    name: str
    created_at: float
    contacts: list[ContactRecord]
    settings: dict[str, Any]
    files: list[FileEntry] = msgspec.field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"BackupPayload(name={self.name!r}, contacts={len(self.contacts)}, "
            f"files={len(self.files)})"
        )


def encode(payload: BackupPayload) -> bytes:
    """Serialise to JSON bytes."""
    return msgspec.json.encode(payload)


def _invalid(detail: str) -> BackupError:
    return BackupError(f"the backup's content is invalid: {detail}", code="backup_damaged")


def _check_contacts(payload: BackupPayload) -> None:
    seen: set[str] = set()
    for record in payload.contacts:
        try:
            canonical, public_key = canonical_id(record.id)
        except KithError:
            raise _invalid("a contact has an invalid ID") from None
        if not usable_key(public_key):
            raise _invalid("a contact ID does not name a usable key")
        if canonical != record.id or canonical in seen:
            raise _invalid("a contact ID is not canonical or appears twice")
        seen.add(canonical)


def _check_files(payload: BackupPayload) -> None:
    seen: set[str] = set()
    for entry in payload.files:
        if check_transfer_id(entry.id) is not None or entry.id in seen:
            raise _invalid("a file has an invalid ID or appears twice")
        seen.add(entry.id)
        try:
            canonical, _ = canonical_id(entry.contact_id)
        except KithError:
            raise _invalid("a file names an invalid contact ID") from None
        if canonical != entry.contact_id or entry.direction not in ("in", "out"):
            raise _invalid("a file's contact or direction is invalid")
        if not 0 <= entry.size <= MAX_FILE_SIZE:
            raise _invalid("a file's size is out of range")
        if len(entry.sha256) != 64 or entry.sha256.strip("0123456789abcdef"):
            raise _invalid("a file's SHA-256 is invalid")
        if not entry.name:
            raise _invalid("a file has no name")


def checked_settings(payload: BackupPayload) -> dict[str, SettingValue]:
    """The settings with every key known and every value valid."""
    try:
        return {key: definition(key).validate(value) for key, value in payload.settings.items()}
    except KithError as exc:
        raise _invalid(exc.message) from None


def decode(data: bytes) -> BackupPayload:
    """Parse and validate a decrypted payload."""
    try:
        payload = msgspec.json.decode(data, type=BackupPayload)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError, RecursionError):
        raise _invalid("it cannot be parsed") from None
    if payload.version != PAYLOAD_VERSION:
        raise _invalid(f"unsupported content version {payload.version}")
    if len(payload.seed) != 32:
        raise _invalid("the identity seed has the wrong size")
    _check_contacts(payload)
    _check_files(payload)
    checked_settings(payload)
    return payload
