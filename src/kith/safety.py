"""Fingerprints and safety numbers (pure).

Each identity has a 30-digit *fingerprint* computed from its public key by an
iterated SHA-512 (as Signal does). The *safety number* of a pair of contacts is
the two fingerprints sorted and joined: 60 digits, the same on both sides, so
two people can compare it aloud or side by side. A user's own fingerprint is
one half of every safety number they have.
"""

from __future__ import annotations

import hashlib
from typing import Final

__all__ = ["fingerprint", "format_digits", "safety_number"]

_VERSION: Final = b"\x00\x01"
_DOMAIN: Final = b"kith-fingerprint"
_ITERATIONS: Final = 5200
_CHUNKS: Final = 6
_CHUNK_BYTES: Final = 5


def _digest(public_key: bytes) -> bytes:
    digest = _VERSION + _DOMAIN + public_key
    for _ in range(_ITERATIONS):
        digest = hashlib.sha512(digest + public_key).digest()
    return digest


def fingerprint(public_key: bytes) -> str:
    """Return the 30-digit fingerprint of a 32-byte public key (no spaces)."""
    if len(public_key) != 32:
        raise ValueError("public key must be 32 bytes")
    digest = _digest(public_key)
    groups = []
    for i in range(_CHUNKS):
        chunk = digest[i * _CHUNK_BYTES : (i + 1) * _CHUNK_BYTES]
        groups.append(f"{int.from_bytes(chunk, 'big') % 100000:05d}")
    return "".join(groups)


def safety_number(own_public_key: bytes, peer_public_key: bytes) -> str:
    """Return the 60-digit safety number of a pair; symmetric in its arguments."""
    halves = sorted([fingerprint(own_public_key), fingerprint(peer_public_key)])
    return "".join(halves)


def format_digits(digits: str) -> str:
    """Group digits by five for display: ``"12345 67890 ..."``."""
    return " ".join(digits[i : i + 5] for i in range(0, len(digits), 5))
