"""Shareable Kith IDs.

A Kith ID is the user's Ed25519 public key followed by a 3-byte checksum,
written in lowercase RFC 4648 base32 without padding: 35 bytes, exactly 56
characters. The checksum (BLAKE2b with a Kith personalisation) makes a
mistyped ID fail to parse instead of silently naming another key.

Parsing is forgiving about presentation (case, spaces and dashes are ignored)
and strict about content.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

__all__ = ["ID_LENGTH", "PUBLIC_KEY_SIZE", "InvalidIdError", "format_id", "parse_id"]

PUBLIC_KEY_SIZE: Final = 32
CHECKSUM_SIZE: Final = 3
ID_LENGTH: Final = 56
_PERSON: Final = b"kith-id-v1"
_ALPHABET: Final = frozenset("abcdefghijklmnopqrstuvwxyz234567")


class InvalidIdError(ValueError):
    """The text is not a valid Kith ID.

    Attributes:
        code: ``"malformed"`` (wrong length or characters) or ``"checksum"``
            (well-formed but the checksum does not match: most likely a typo).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _checksum(public_key: bytes) -> bytes:
    return hashlib.blake2b(public_key, digest_size=CHECKSUM_SIZE, person=_PERSON).digest()


def format_id(public_key: bytes) -> str:
    """Return the Kith ID for a raw 32-byte Ed25519 public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    raw = public_key + _checksum(public_key)
    return base64.b32encode(raw).decode("ascii").lower()


def _normalise(text: str) -> str:
    return "".join(ch for ch in text.strip().lower() if ch not in " -\t\n")


def parse_id(text: str) -> bytes:
    """Return the raw public key named by a Kith ID, or raise InvalidIdError."""
    norm = _normalise(text)
    if len(norm) != ID_LENGTH:
        raise InvalidIdError(
            "malformed", f"a Kith ID has {ID_LENGTH} characters, this one has {len(norm)}"
        )
    bad = sorted(set(norm) - _ALPHABET)
    if bad:
        raise InvalidIdError(
            "malformed", f"a Kith ID uses only a-z and 2-7; found {''.join(bad)!r}"
        )
    raw = base64.b32decode(norm.upper())
    key, check = raw[:PUBLIC_KEY_SIZE], raw[PUBLIC_KEY_SIZE:]
    if _checksum(key) != check:
        raise InvalidIdError(
            "checksum", "this Kith ID's checksum does not match: check it for a typo"
        )
    return key
