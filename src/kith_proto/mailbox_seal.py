"""Sealed mailbox items (pure crypto).

An item left on the signaling server for an offline contact is sealed with
HPKE (RFC 9180, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
ChaCha20-Poly1305) to the recipient's X25519 key, with the pair's mailbox
authentication key for this direction in HPKE's ``info``. So:

- only the recipient can open it (the HPKE private key is theirs), and
- only the sender could have written it: ``info`` enters HPKE's key
  schedule, and only the two holders of the pair key know it (the same
  guarantee as HPKE's auth mode, which ``cryptography`` does not offer; the
  recipient could forge an item to itself, which gains it nothing).

The plaintext (send time, frame length, frame) is padded with zeros so that
the sealed item is exactly one of :data:`BUCKETS` bytes: the server sees a
size bucket, never a length. ``docs/p2p.md`` ("Offline mailbox") describes
the layout byte-exactly and what the server learns.

Nothing here does I/O or reads a clock; the caller passes ``now``.
"""

from __future__ import annotations

import struct
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = [
    "BUCKETS",
    "ITEM_VERSION",
    "MAX_FRAME",
    "ItemTooLargeError",
    "MailboxItemError",
    "MalformedItemError",
    "StaleItemError",
    "TamperedItemError",
    "bucket_for",
    "open_item",
    "seal_item",
]

BUCKETS: Final = (1024, 4096, 16384, 32768)
"""The only sizes a sealed item may have (bytes); the server refuses others."""

ITEM_VERSION: Final = 1
_ENC_SIZE: Final = 32  # X25519 encapsulated key
_TAG_SIZE: Final = 16
_HEADER: Final = struct.Struct(">QI")  # sent_ms, frame length
_OVERHEAD: Final = 1 + _ENC_SIZE + _TAG_SIZE + _HEADER.size
MAX_FRAME: Final = BUCKETS[-1] - _OVERHEAD
"""The largest frame an item can carry (larger ones wait for a direct link)."""
_INFO: Final = b"kith/v1/mailbox-item\x00"
_SUITE: Final = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


class MailboxItemError(ValueError):
    """A mailbox item cannot be sealed or opened."""


class ItemTooLargeError(MailboxItemError):
    """The frame does not fit the largest bucket."""


class MalformedItemError(MailboxItemError):
    """Not a sealed item: wrong size, version or inner length."""


class TamperedItemError(MailboxItemError):
    """The item does not open: altered, or not sealed for us by this contact."""


class StaleItemError(MailboxItemError):
    """Authentic, but sent longer ago than items are kept (an old item replayed)."""


def bucket_for(frame_size: int) -> int:
    """The sealed size of an item carrying a ``frame_size``-byte frame.

    Raises:
        ItemTooLargeError: Beyond :data:`MAX_FRAME`.
    """
    for bucket in BUCKETS:
        if frame_size + _OVERHEAD <= bucket:
            return bucket
    raise ItemTooLargeError(f"a mailbox item carries at most {MAX_FRAME} bytes")


def _info(auth_key: bytes, topic: bytes) -> bytes:
    return _INFO + auth_key + topic


def seal_item(
    frame: bytes, *, recipient_x25519: bytes, auth_key: bytes, topic: bytes, now_ms: int
) -> bytes:
    """Seal ``frame`` for the mailbox ``topic``.

    Args:
        frame: The plaintext (a chat frame).
        recipient_x25519: The recipient's 32-byte X25519 public key.
        auth_key: The pair's mailbox key for this direction (sender to recipient).
        topic: The mailbox topic the item goes to (bound into the seal).
        now_ms: The sender's wall clock, epoch milliseconds.

    Returns:
        The item: exactly :func:`bucket_for` bytes.

    Raises:
        ItemTooLargeError: ``frame`` beyond :data:`MAX_FRAME`.
    """
    bucket = bucket_for(len(frame))
    inner = _HEADER.pack(now_ms, len(frame)) + frame
    inner += bytes(bucket - _OVERHEAD - len(frame))
    public = X25519PublicKey.from_public_bytes(recipient_x25519)
    return bytes([ITEM_VERSION]) + _SUITE.encrypt(inner, public, info=_info(auth_key, topic))


def open_item(
    item: bytes,
    *,
    own_x25519_private: bytes,
    auth_key: bytes,
    topic: bytes,
    not_before_ms: int | None = None,
) -> bytes:
    """Open an item fetched from the mailbox ``topic``; return the frame.

    Args:
        item: The sealed item.
        own_x25519_private: Our 32-byte X25519 private key.
        auth_key: The pair's mailbox key for the contact's direction to us.
        topic: The mailbox topic it came from.
        not_before_ms: Refuse items sent before this (epoch ms); None: no bound.

    Raises:
        MalformedItemError: Wrong size, version or inner length.
        TamperedItemError: Altered, sealed for someone else, or by someone else.
        StaleItemError: Sent before ``not_before_ms``.
    """
    if len(item) not in BUCKETS or item[0] != ITEM_VERSION:
        raise MalformedItemError("not a sealed mailbox item (size or version)")
    private = X25519PrivateKey.from_private_bytes(own_x25519_private)
    try:
        inner = _SUITE.decrypt(item[1:], private, info=_info(auth_key, topic))
    except (InvalidTag, ValueError):
        raise TamperedItemError(
            "mailbox item does not open: altered or not from this contact"
        ) from None
    sent_ms, length = _HEADER.unpack_from(inner)
    if length > len(inner) - _HEADER.size:
        raise MalformedItemError("mailbox item's inner length is impossible")
    if not_before_ms is not None and sent_ms < not_before_ms:
        raise StaleItemError("mailbox item is older than items are kept (replayed)")
    return inner[_HEADER.size : _HEADER.size + length]
