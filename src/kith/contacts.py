"""Rules for contact IDs and names (pure)."""

from __future__ import annotations

import hashlib
from typing import Final

from nacl.bindings import crypto_scalarmult
from nacl.exceptions import CryptoError

from kith.errors import ContactError, KithError
from kith_proto.envelope import MAX_DISPLAY_NAME_BYTES
from kith_proto.ids import InvalidIdError, format_id, parse_id
from kith_proto.keys import x25519_public_from_ed25519

__all__ = [
    "LABEL_LENGTH",
    "MAX_NAME_LENGTH",
    "canonical_id",
    "clean_display_name",
    "clean_name",
    "contact_label",
    "new_contact_id",
    "usable_key",
]

MAX_NAME_LENGTH: Final = 64
#: Characters of an ID in a contact's label (40 bits: enough to tell contacts apart).
LABEL_LENGTH: Final = 8

# Any fixed scalar will do: the trial agreement only shows whether the key
# yields a non-zero shared secret, the way every real pair agreement must.
_PROBE_SCALAR: Final = hashlib.sha256(b"kith/v1/contact-key-probe").digest()


def canonical_id(text: str) -> tuple[str, bytes]:
    """Parse a typed ID into (canonical ID, public key) or raise ContactError."""
    try:
        public_key = parse_id(text)
    except InvalidIdError as exc:
        code = "id_checksum" if exc.code == "checksum" else "malformed_id"
        raise ContactError(f"invalid Kith ID: {exc}", code=code) from None
    return format_id(public_key), public_key


def contact_label(kith_id: str) -> str:
    """A short label for a contact in the node's log: the start of the ID, never all of it.

    A log names who the user talks to; the full ID would let whoever reads
    it look the contact up. The first characters still match what
    ``kith contacts list`` shows, so the user can tell who is meant.
    """
    return kith_id[:LABEL_LENGTH] + "…"


def new_contact_id(text: str, own_id: str) -> tuple[str, bytes]:
    """Like :func:`canonical_id`, also refusing the user's own ID and unusable keys."""
    kith_id, public_key = canonical_id(text)
    if kith_id == own_id:
        raise ContactError("that is your own ID: you cannot add yourself", code="own_id")
    if not usable_key(public_key):
        raise ContactError(
            "that ID does not name a usable key: no Kith identity has it", code="invalid_key"
        )
    return kith_id, public_key


def usable_key(public_key: bytes) -> bool:
    """True when ``public_key`` is an Ed25519 key that key agreement can use.

    Refuses what libsodium refuses: encodings that are not curve points, and
    low-order or mixed-order points (the all-zero key among them), which
    would give a predictable or all-zero shared secret.
    """
    try:
        crypto_scalarmult(_PROBE_SCALAR, x25519_public_from_ed25519(public_key))
    except CryptoError:
        return False
    return True


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


def clean_display_name(name: str) -> str:
    """:func:`clean_name` for the name the user shows contacts: it is sealed
    into every presence envelope, so it is also at most 96 bytes of UTF-8."""
    trimmed = clean_name(name)
    size = len(trimmed.encode("utf-8"))
    if size > MAX_DISPLAY_NAME_BYTES:
        raise KithError(
            f"the name is too long ({size} bytes of UTF-8, at most {MAX_DISPLAY_NAME_BYTES}: "
            "64 Latin, 48 Cyrillic or Greek, 32 CJK characters or 24 emoji)",
            code="invalid_name",
        )
    return trimmed
