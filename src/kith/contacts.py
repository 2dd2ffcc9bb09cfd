"""Rules for contact IDs and names (pure)."""

from __future__ import annotations

from typing import Final

from kith.errors import ContactError, KithError
from kith_proto.ids import InvalidIdError, format_id, parse_id

__all__ = ["MAX_NAME_LENGTH", "canonical_id", "clean_name", "new_contact_id"]

MAX_NAME_LENGTH: Final = 64


def canonical_id(text: str) -> tuple[str, bytes]:
    """Parse a typed ID into (canonical ID, public key) or raise ContactError."""
    try:
        public_key = parse_id(text)
    except InvalidIdError as exc:
        code = "id_checksum" if exc.code == "checksum" else "malformed_id"
        raise ContactError(f"invalid Kith ID: {exc}", code=code) from None
    return format_id(public_key), public_key


def new_contact_id(text: str, own_id: str) -> tuple[str, bytes]:
    """Like :func:`canonical_id`, also refusing the user's own ID."""
    kith_id, public_key = canonical_id(text)
    if kith_id == own_id:
        raise ContactError("that is your own ID: you cannot add yourself", code="own_id")
    return kith_id, public_key


def clean_name(name: str, what: str = "name") -> str:
    """Trim a display name or nickname and check it is printable and short."""
    trimmed = name.strip()
    if not trimmed:
        raise KithError(f"the {what} must not be empty", code="invalid_name")
    if len(trimmed) > MAX_NAME_LENGTH:
        raise KithError(
            f"the {what} is too long ({len(trimmed)} characters, at most {MAX_NAME_LENGTH})",
            code="invalid_name",
        )
    if not trimmed.isprintable():
        raise KithError(f"the {what} must not contain control characters", code="invalid_name")
    return trimmed
