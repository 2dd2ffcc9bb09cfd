"""Pair keys and blinded topics (pure crypto).

Two contacts derive the same 32-byte *pair key* from X25519 of their identity
keys. From it come opaque 32-byte topics (one presence topic and one relay
inbox per direction) and the direction keys that seal presence records, so
the signaling server routes values it can neither read nor attribute to IDs.
Only the intro topic is derived from one public key alone: anyone who knows
an ID can compute it. ``docs/presence.md`` describes every derivation
byte-exactly and what each party learns.

Nothing here does I/O, reads a clock or awaits; the only side effect is
drawing a random nonce when none is given.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from nacl.exceptions import CryptoError

from kith_proto.envelope import (
    ENVELOPE_SIZE,
    ENVELOPE_VERSION,
    KEY_CHECK_SIZE,
    MAX_STATUS_TEXT,
    NONCE_SIZE,
    DirectionKey,
    EnvelopeError,
    FutureEnvelopeError,
    InvalidPeerKeyError,
    MalformedEnvelopeError,
    PairError,
    PresenceRecord,
    PresenceStatus,
    ReplayedEnvelopeError,
    ReplayGuard,
    TamperedEnvelopeError,
    WrongKeyError,
    open_envelope,
    seal_envelope,
)
from kith_proto.keys import IdentityKeys, x25519_public_from_ed25519
from kith_proto.mailbox_seal import RotatingKeyPair, RotatingPublicKey, open_item, seal_item
from kith_proto.wire import token_topic

__all__ = [
    "ENVELOPE_SIZE",
    "ENVELOPE_VERSION",
    "MAX_STATUS_TEXT",
    "EnvelopeError",
    "FutureEnvelopeError",
    "InvalidPeerKeyError",
    "MalformedEnvelopeError",
    "PairChannel",
    "PairError",
    "PresenceRecord",
    "PresenceStatus",
    "ReplayGuard",
    "ReplayedEnvelopeError",
    "TamperedEnvelopeError",
    "Topic",
    "WrongKeyError",
    "derive_pair_key",
    "intro_topic",
    "mailbox_auth_key",
    "mailbox_token",
    "presence_token",
    "presence_topic",
    "relay_topic",
]

KEY_SIZE: Final = 32
TOPIC_SIZE: Final = 32
TOPIC_TEXT_LENGTH: Final = 43

_PAIR_SALT: Final = b"kith/v1/pair"
_PAIR_INFO: Final = b"kith/v1/pair-key"
_INTRO_LABEL: Final = b"kith/v1/intro-topic\x00"


# -- topics -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topic:
    """An opaque 32-byte routing topic.

    Attributes:
        raw: The 32 bytes.
    """

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != TOPIC_SIZE:
            raise ValueError(f"a topic is {TOPIC_SIZE} bytes")

    @property
    def text(self) -> str:
        """The wire spelling: unpadded base64url, 43 characters."""
        return base64.urlsafe_b64encode(self.raw).rstrip(b"=").decode("ascii")

    @classmethod
    def from_text(cls, text: str) -> Topic:
        """Parse the canonical 43-character spelling.

        Raises:
            ValueError: The text is not a canonical topic.
        """
        try:
            raw = base64.urlsafe_b64decode(text.encode("ascii") + b"=")
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ValueError("not a base64url topic") from None
        topic = cls(raw) if len(raw) == TOPIC_SIZE else None
        if topic is None or len(text) != TOPIC_TEXT_LENGTH or topic.text != text:
            raise ValueError("not a canonical 43-character topic")
        return topic

    def __str__(self) -> str:
        return self.text


# -- key derivation ---------------------------------------------------------


def derive_pair_key(own: IdentityKeys, peer_public: bytes) -> bytes:
    """Derive the 32-byte key shared by ``own`` and the holder of ``peer_public``.

    Both sides get the same key: the HKDF input binds both Ed25519 public keys
    in byte-wise ascending order.

    Raises:
        InvalidPeerKeyError: ``peer_public`` is not 32 bytes, is our own key,
            or is not a valid Ed25519 point (or yields an all-zero secret).
    """
    own_public = own.public_key
    if len(peer_public) != KEY_SIZE or peer_public == own_public:
        raise InvalidPeerKeyError("peer key must be another identity's 32-byte public key")
    try:
        shared = own.agree(peer_public)
    except CryptoError:
        raise InvalidPeerKeyError("peer key is not a usable Ed25519 public key") from None
    low, high = sorted((own_public, peer_public))
    hkdf = HKDF(algorithm=SHA256(), length=KEY_SIZE, salt=_PAIR_SALT, info=_PAIR_INFO + low + high)
    return hkdf.derive(shared)


def _expand(pair_key: bytes, label: bytes, sender: bytes, receiver: bytes) -> bytes:
    info = b"kith/v1/" + label + b"\x00" + sender + receiver
    return HKDFExpand(algorithm=SHA256(), length=KEY_SIZE, info=info).derive(pair_key)


def presence_token(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> bytes:
    """The secret that lets ``sender`` publish and retract its presence topic.

    Only the two holders of the pair key can derive it; the server checks it
    on every ``publish`` and ``retract`` (``wire.token_topic``).
    """
    return _expand(pair_key, b"presence-token", sender_public, receiver_public)


def presence_topic(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> Topic:
    """The topic ``sender`` publishes presence on and ``receiver`` subscribes to:
    the hash of the direction's :func:`presence_token`."""
    return Topic(token_topic(presence_token(pair_key, sender_public, receiver_public)))


def relay_topic(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> Topic:
    """The relay inbox of ``receiver`` for payloads from ``sender``."""
    return Topic(_expand(pair_key, b"relay-topic", sender_public, receiver_public))


def mailbox_token(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> bytes:
    """The secret that lets its owner fetch and acknowledge ``receiver``'s mailbox
    for items from ``sender``; the mailbox topic is its hash (``wire.token_topic``)."""
    return _expand(pair_key, b"mailbox-token", sender_public, receiver_public)


def mailbox_auth_key(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> bytes:
    """The key in every mailbox item's HPKE ``info`` from ``sender`` to ``receiver``:
    only the pair can seal an item that opens (``kith_proto.mailbox_seal``)."""
    return _expand(pair_key, b"mailbox-auth", sender_public, receiver_public)


def _direction_key(pair_key: bytes, sender: bytes, receiver: bytes) -> DirectionKey:
    key = _expand(pair_key, b"presence-key", sender, receiver)
    check = _expand(pair_key, b"presence-key-check", sender, receiver)[:KEY_CHECK_SIZE]
    return DirectionKey(key, check)


def intro_topic(public_key: bytes) -> Topic:
    """The topic where the holder of ``public_key`` receives contact requests.

    Unlike the pair topics it depends on the public key alone, so anyone who
    knows the ID (the server included) can compute it and link it to the ID.
    """
    if len(public_key) != KEY_SIZE:
        raise ValueError(f"public key must be {KEY_SIZE} bytes")
    return Topic(hashlib.sha256(_INTRO_LABEL + public_key).digest())


class PairChannel:
    """Everything one node needs to exchange presence with one contact.

    Args:
        own: Our identity keys.
        peer_public: The contact's raw 32-byte Ed25519 public key.
        floor: The replay floor kept across restarts (``floor_to_keep`` of
            the previous run): older records from the contact are refused.

    Raises:
        InvalidPeerKeyError: ``peer_public`` is unusable (see ``derive_pair_key``).
    """

    def __init__(self, own: IdentityKeys, peer_public: bytes, floor: int | None = None) -> None:
        pair_key = derive_pair_key(own, peer_public)
        me = own.public_key
        self.peer_public: Final = peer_public
        self.publish_token: Final = presence_token(pair_key, me, peer_public)
        self.publish_topic: Final = Topic(token_topic(self.publish_token))
        self.subscribe_topic: Final = presence_topic(pair_key, peer_public, me)
        self.relay_out_topic: Final = relay_topic(pair_key, me, peer_public)
        self.relay_in_topic: Final = relay_topic(pair_key, peer_public, me)
        self.mailbox_in_token: Final = mailbox_token(pair_key, peer_public, me)
        self.mailbox_in_topic: Final = Topic(token_topic(self.mailbox_in_token))
        self.mailbox_out_topic: Final = Topic(token_topic(mailbox_token(pair_key, me, peer_public)))
        self._mailbox_out_key = mailbox_auth_key(pair_key, me, peer_public)
        self._mailbox_in_key = mailbox_auth_key(pair_key, peer_public, me)
        self._own_x25519 = own.x25519_private()
        self._peer_x25519 = x25519_public_from_ed25519(peer_public)
        self._out_key = _direction_key(pair_key, me, peer_public)
        self._in_key = _direction_key(pair_key, peer_public, me)
        self._guard = ReplayGuard(floor)

    def __repr__(self) -> str:
        return f"PairChannel(publish_topic={self.publish_topic.text!r})"

    @property
    def last_seq(self) -> int | None:
        """The last sequence number accepted from the contact."""
        return self._guard.last_seq

    @property
    def floor_to_keep(self) -> int | None:
        """What to persist so that a restart refuses old records (``ReplayGuard``)."""
        return self._guard.floor_to_keep

    def ended(self) -> None:
        """The contact's presence value is gone (retracted or disconnected)."""
        self._guard.ended()

    def seal(self, record: PresenceRecord, nonce: bytes | None = None) -> bytes:
        """Encrypt ``record`` for ``publish_topic``.

        Args:
            record: The presence value to send.
            nonce: 12 bytes; random when omitted (give one only in tests).

        Returns:
            An envelope of exactly ``ENVELOPE_SIZE`` bytes.
        """
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        return seal_envelope(self._out_key, self.publish_topic.raw, record, nonce)

    def open(self, payload: bytes, now: float | None = None) -> PresenceRecord:
        """Decrypt an envelope received on ``subscribe_topic``.

        Args:
            payload: The envelope.
            now: The receiver's wall clock (epoch seconds), to refuse a record
                dated far ahead of it; None skips that check.

        Raises:
            MalformedEnvelopeError: Wrong size, version or content encoding.
            WrongKeyError: Sealed by another pair or for the other direction.
            TamperedEnvelopeError: Altered after sealing.
            ReplayedEnvelopeError: Authentic but older than one already accepted
                (expected now and then; drop it).
            FutureEnvelopeError: Authentic but ``seq`` more than a day ahead of ``now``.
        """
        record = open_envelope(self._in_key, self.subscribe_topic.raw, payload)
        self._guard.accept(record, None if now is None else int(now * 1000))
        return record

    def seal_mailbox_item(
        self, frame: bytes, now_ms: int, recipient: RotatingPublicKey | None = None
    ) -> bytes:
        """Seal ``frame`` for the contact's mailbox (``mailbox_out_topic``), to
        their rotating mailbox key ``recipient``, or without one to the key
        derived from their identity (no forward secrecy).

        Raises:
            ItemTooLargeError: The frame does not fit the largest bucket.
        """
        return seal_item(
            frame,
            recipient=self._peer_x25519 if recipient is None else recipient,
            auth_key=self._mailbox_out_key,
            topic=self.mailbox_out_topic.raw,
            now_ms=now_ms,
        )

    def open_mailbox_item(
        self,
        item: bytes,
        not_before_ms: int | None = None,
        rotating: Mapping[bytes, RotatingKeyPair] | None = None,
    ) -> bytes:
        """Open an item fetched from our mailbox for this contact
        (``mailbox_in_topic``), with our rotating mailbox keys for them
        (``rotating``, by key ID) or the identity-derived key.

        Raises:
            MailboxItemError: Malformed, tampered, sealed to a key not in
                ``rotating``, or older than ``not_before_ms``.
        """
        return open_item(
            item,
            own_x25519_private=self._own_x25519,
            rotating={} if rotating is None else rotating,
            auth_key=self._mailbox_in_key,
            topic=self.mailbox_in_topic.raw,
            not_before_ms=not_before_ms,
        )
