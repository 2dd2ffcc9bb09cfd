"""Sealed mailbox items (pure crypto).

An item left on the signaling server for an offline contact is sealed with
HPKE (RFC 9180, base mode, HKDF-SHA256, ChaCha20-Poly1305) to one of two
recipient keys:

- the recipient's **rotating mailbox key** (:data:`Kem.ROTATING`): an X-Wing
  hybrid key pair (ML-KEM-768 + X25519, HPKE's ``MLKEM768_X25519``) the
  recipient made for this one contact, announced over the encrypted P2P
  channel and replaced every day; the recipient deletes its private half
  when items sealed to it can no longer be fetched, which is what gives the
  mailbox forward secrecy (``docs/p2p.md``, "Offline mailbox");
- or, only while the sender has no announced key yet (the two never had a
  direct channel), the X25519 key derived from the recipient's identity
  (:data:`Kem.IDENTITY`, no forward secrecy).

The pair's mailbox authentication key for this direction is in HPKE's
``info``, with the mailbox topic and the item's header. So:

- only the recipient can open it (the HPKE private key is theirs), and
- only the sender could have written it: ``info`` enters HPKE's key
  schedule, and only the two holders of the pair key know it (the same
  guarantee as HPKE's auth mode, which ``cryptography`` does not offer; the
  recipient could forge an item to itself, which gains it nothing).

The header names the KEM and the key the item is sealed to by a short key
ID (a hash of that contact's public mailbox key, so it links nothing across
pairs; zeros for the identity key). The plaintext (send time, frame length,
frame) is padded with zeros so that the sealed item is exactly one of
:data:`BUCKETS` bytes: the server sees a size bucket, never a length.
``docs/p2p.md`` ("Offline mailbox") describes the layout byte-exactly and
what the server learns.

Nothing here does I/O or reads a clock; the caller passes ``now``.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

__all__ = [
    "BUCKETS",
    "ITEM_VERSION",
    "KEY_ID_SIZE",
    "MAX_FRAME",
    "ROTATING_PRIVATE_SIZE",
    "ROTATING_PUBLIC_SIZE",
    "BadMailboxKeyError",
    "ItemTooLargeError",
    "Kem",
    "MailboxItemError",
    "MalformedItemError",
    "RotatingKeyPair",
    "RotatingPublicKey",
    "StaleItemError",
    "TamperedItemError",
    "UnknownKeyError",
    "bucket_for",
    "item_key",
    "open_item",
    "seal_item",
]

BUCKETS: Final = (1536, 4096, 16384, 32768)
"""The only sizes a sealed item may have (bytes); the server refuses others.
The smallest is 1536, not 1024: an X-Wing encapsulation alone is 1120 bytes,
and 1536 still carries a frame of 378 bytes (a message of about 300 characters)."""

ITEM_VERSION: Final = 2
"""Version 2: the header names the KEM and key ID (version 1 had neither)."""
KEY_ID_SIZE: Final = 8
ROTATING_PUBLIC_SIZE: Final = 1216  # ML-KEM-768 (1184) + X25519 (32)
ROTATING_PRIVATE_SIZE: Final = 96  # ML-KEM-768 seed (64) + X25519 (32)
_MLKEM_PUBLIC: Final = 1184
_MLKEM_SEED: Final = 64


class Kem(enum.IntEnum):
    """Which recipient key an item is sealed to (the header's second byte)."""

    IDENTITY = 0
    """The X25519 key derived from the recipient's identity (fallback, no forward secrecy)."""
    ROTATING = 1
    """The recipient's rotating X-Wing mailbox key for this contact."""


_HEADER: Final = struct.Struct(f">BB{KEY_ID_SIZE}s")  # version, KEM, key ID
_INNER: Final = struct.Struct(">QI")  # sent_ms, frame length
_TAG_SIZE: Final = 16
_SUITES: Final = {
    Kem.IDENTITY: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305),
    Kem.ROTATING: hpke.Suite(
        hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305
    ),
}
_OVERHEAD: Final = {
    kem: _HEADER.size + enc + _TAG_SIZE + _INNER.size
    for kem, enc in ((Kem.IDENTITY, 32), (Kem.ROTATING, hpke.KEM.MLKEM768_X25519.enc_length()))
}
MAX_FRAME: Final = BUCKETS[-1] - max(_OVERHEAD.values())
"""The largest frame an item can carry whatever the key (larger ones wait for a direct link)."""
_INFO: Final = b"kith/v2/mailbox-item\x00"
_KEY_ID_LABEL: Final = b"kith/v1/mailbox-key-id\x00"
_IDENTITY_KEY_ID: Final = bytes(KEY_ID_SIZE)


class MailboxItemError(ValueError):
    """A mailbox item cannot be sealed or opened."""


class ItemTooLargeError(MailboxItemError):
    """The frame does not fit the largest bucket."""


class MalformedItemError(MailboxItemError):
    """Not a sealed item: wrong size, version, KEM or inner length."""


class TamperedItemError(MailboxItemError):
    """The item does not open: altered, or not sealed for us by this contact."""


class StaleItemError(MailboxItemError):
    """Authentic, but sent longer ago than items are kept (an old item replayed)."""


class UnknownKeyError(MailboxItemError):
    """Sealed to a mailbox key we do not hold: deleted after its window, or never ours."""


class BadMailboxKeyError(ValueError):
    """Bytes that are not a rotating mailbox public key (wrong length or not a key)."""


def _key_id(public: bytes) -> bytes:
    return hashlib.sha256(_KEY_ID_LABEL + public).digest()[:KEY_ID_SIZE]


@dataclass(frozen=True)
class RotatingPublicKey:
    """A contact's rotating mailbox public key (X-Wing), as announced to us
    (its key ID and HPKE form are computed once)."""

    public: bytes = field(repr=False)

    @classmethod
    def parse(cls, public: bytes) -> RotatingPublicKey:
        """Check ``public`` is an X-Wing public key.

        Raises:
            BadMailboxKeyError: Wrong length, or the ML-KEM part is not a valid key.
        """
        if len(public) != ROTATING_PUBLIC_SIZE:
            raise BadMailboxKeyError(
                f"a mailbox key is {ROTATING_PUBLIC_SIZE} bytes, not {len(public)}"
            )
        try:
            MLKEM768PublicKey.from_public_bytes(public[:_MLKEM_PUBLIC])
            X25519PublicKey.from_public_bytes(public[_MLKEM_PUBLIC:])
        except ValueError:
            raise BadMailboxKeyError("the mailbox key is not a valid X-Wing public key") from None
        return cls(public)

    @cached_property
    def key_id(self) -> bytes:
        """The short ID items sealed to this key carry."""
        return _key_id(self.public)

    @cached_property
    def _hpke(self) -> hpke.MLKEM768X25519PublicKey:
        return hpke.MLKEM768X25519PublicKey(
            MLKEM768PublicKey.from_public_bytes(self.public[:_MLKEM_PUBLIC]),
            X25519PublicKey.from_public_bytes(self.public[_MLKEM_PUBLIC:]),
        )


@dataclass(frozen=True)
class RotatingKeyPair:
    """One of our rotating mailbox key pairs (X-Wing); ``private`` is its
    96-byte seed form, as stored (the expanded key is computed once)."""

    private: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> RotatingKeyPair:
        """A new random key pair."""
        seed = MLKEM768PrivateKey.generate().private_bytes_raw()
        return cls(seed + X25519PrivateKey.generate().private_bytes_raw())

    def __post_init__(self) -> None:
        if len(self.private) != ROTATING_PRIVATE_SIZE:
            raise ValueError(f"a mailbox private key is {ROTATING_PRIVATE_SIZE} bytes")

    def _parts(self) -> tuple[MLKEM768PrivateKey, X25519PrivateKey]:
        return (
            MLKEM768PrivateKey.from_seed_bytes(self.private[:_MLKEM_SEED]),
            X25519PrivateKey.from_private_bytes(self.private[_MLKEM_SEED:]),
        )

    def public_key(self) -> RotatingPublicKey:
        """The public half, to announce."""
        mlkem, x25519 = self._parts()
        return RotatingPublicKey(
            mlkem.public_key().public_bytes_raw() + x25519.public_key().public_bytes_raw()
        )

    @cached_property
    def key_id(self) -> bytes:
        """The short ID of items sealed to this key."""
        return self.public_key().key_id

    @cached_property
    def _hpke(self) -> hpke.MLKEM768X25519PrivateKey:
        return hpke.MLKEM768X25519PrivateKey(*self._parts())


def bucket_for(frame_size: int, kem: Kem = Kem.ROTATING) -> int:
    """The sealed size of an item carrying a ``frame_size``-byte frame.

    Raises:
        ItemTooLargeError: Beyond what the largest bucket holds for ``kem``.
    """
    for bucket in BUCKETS:
        if frame_size + _OVERHEAD[kem] <= bucket:
            return bucket
    raise ItemTooLargeError(f"a mailbox item carries at most {MAX_FRAME} bytes")


def _info(header: bytes, auth_key: bytes, topic: bytes) -> bytes:
    return _INFO + header + auth_key + topic


def seal_item(
    frame: bytes,
    *,
    recipient: RotatingPublicKey | bytes,
    auth_key: bytes,
    topic: bytes,
    now_ms: int,
) -> bytes:
    """Seal ``frame`` for the mailbox ``topic``.

    Args:
        frame: The plaintext (a chat frame).
        recipient: The recipient's rotating mailbox key, or (fallback) the
            32-byte X25519 public key derived from their identity.
        auth_key: The pair's mailbox key for this direction (sender to recipient).
        topic: The mailbox topic the item goes to (bound into the seal).
        now_ms: The sender's wall clock, epoch milliseconds.

    Returns:
        The item: exactly :func:`bucket_for` bytes.

    Raises:
        ItemTooLargeError: ``frame`` beyond :data:`MAX_FRAME`.
    """
    if len(frame) > MAX_FRAME:
        raise ItemTooLargeError(f"a mailbox item carries at most {MAX_FRAME} bytes")
    if isinstance(recipient, RotatingPublicKey):
        kem, key_id = Kem.ROTATING, recipient.key_id
        public: X25519PublicKey | hpke.MLKEM768X25519PublicKey = recipient._hpke
    else:
        kem, key_id = Kem.IDENTITY, _IDENTITY_KEY_ID
        public = X25519PublicKey.from_public_bytes(recipient)
    bucket = bucket_for(len(frame), kem)
    inner = _INNER.pack(now_ms, len(frame)) + frame
    inner += bytes(bucket - _OVERHEAD[kem] - len(frame))
    header = _HEADER.pack(ITEM_VERSION, kem, key_id)
    return header + _SUITES[kem].encrypt(inner, public, info=_info(header, auth_key, topic))


def item_key(item: bytes) -> tuple[Kem, bytes]:
    """Which key ``item`` says it is sealed to: its KEM and key ID (not verified
    until it opens).

    Raises:
        MalformedItemError: Wrong size, version or KEM.
    """
    if len(item) not in BUCKETS or item[0] != ITEM_VERSION:
        raise MalformedItemError("not a sealed mailbox item (size or version)")
    _, kem, key_id = _HEADER.unpack_from(item)
    if kem not in _SUITES:
        raise MalformedItemError("mailbox item names an unknown KEM")
    return Kem(kem), key_id


def open_item(
    item: bytes,
    *,
    own_x25519_private: bytes,
    rotating: Mapping[bytes, RotatingKeyPair],
    auth_key: bytes,
    topic: bytes,
    not_before_ms: int | None = None,
) -> bytes:
    """Open an item fetched from the mailbox ``topic``; return the frame.

    Args:
        item: The sealed item.
        own_x25519_private: Our 32-byte X25519 private key (identity-derived).
        rotating: Our rotating mailbox key pairs for this contact, by key ID.
        auth_key: The pair's mailbox key for the contact's direction to us.
        topic: The mailbox topic it came from.
        not_before_ms: Refuse items sent before this (epoch ms); None: no bound.

    Raises:
        MalformedItemError: Wrong size, version, KEM or inner length.
        UnknownKeyError: Sealed to a rotating key not in ``rotating``.
        TamperedItemError: Altered, sealed for someone else, or by someone else.
        StaleItemError: Sent before ``not_before_ms``.
    """
    kem, key_id = item_key(item)
    private: X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
    if kem is Kem.ROTATING:
        pair = rotating.get(key_id)
        if pair is None:
            raise UnknownKeyError(
                "mailbox item is sealed to a mailbox key this node no longer holds "
                "(deleted after its window) or never had"
            )
        private = pair._hpke
    else:
        if key_id != _IDENTITY_KEY_ID:
            raise MalformedItemError("mailbox item names a key ID for the identity key")
        private = X25519PrivateKey.from_private_bytes(own_x25519_private)
    header = item[: _HEADER.size]
    try:
        inner = _SUITES[kem].decrypt(
            item[_HEADER.size :], private, info=_info(header, auth_key, topic)
        )
    except (InvalidTag, ValueError):
        raise TamperedItemError(
            "mailbox item does not open: altered or not from this contact"
        ) from None
    sent_ms, length = _INNER.unpack_from(inner)
    if length > len(inner) - _INNER.size:
        raise MalformedItemError("mailbox item's inner length is impossible")
    if not_before_ms is not None and sent_ms < not_before_ms:
        raise StaleItemError("mailbox item is older than items are kept (replayed)")
    return inner[_INNER.size : _INNER.size + length]
