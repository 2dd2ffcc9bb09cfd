"""Pair keys, blinded topics and the presence envelope (pure crypto).

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
import enum
import hashlib
import os
from dataclasses import dataclass
from typing import ClassVar, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from nacl.exceptions import CryptoError

from kith_proto.keys import IdentityKeys

__all__ = [
    "ENVELOPE_SIZE",
    "ENVELOPE_VERSION",
    "MAX_STATUS_TEXT",
    "EnvelopeError",
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
    "presence_topic",
    "relay_topic",
]

KEY_SIZE: Final = 32
TOPIC_SIZE: Final = 32
TOPIC_TEXT_LENGTH: Final = 43
MAX_STATUS_TEXT: Final = 140
"""Longest status text, in characters (Unicode code points)."""

ENVELOPE_VERSION: Final = 1
KEY_CHECK_SIZE: Final = 8
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
PADDED_SIZE: Final = 640
"""Size of every padded plaintext: a length prefix, the record, zeros."""
HEADER_SIZE: Final = 1 + KEY_CHECK_SIZE + NONCE_SIZE
ENVELOPE_SIZE: Final = HEADER_SIZE + PADDED_SIZE + TAG_SIZE
"""Every presence envelope is exactly this many bytes (677)."""

_PAIR_SALT: Final = b"kith/v1/pair"
_PAIR_INFO: Final = b"kith/v1/pair-key"
_INTRO_LABEL: Final = b"kith/v1/intro-topic\x00"
_AAD_LABEL: Final = b"kith/v1/presence-envelope\x00"
_MAX_U63: Final = 2**63


# -- errors -----------------------------------------------------------------


class PairError(ValueError):
    """Base of every error raised here.

    Attributes:
        code: A stable machine-readable code; the message is for people and
            never contains key material.
    """

    code: ClassVar[str] = "pair_error"


class InvalidPeerKeyError(PairError):
    """The peer's public key is not a usable Ed25519 key for key agreement."""

    code = "invalid_key"


class EnvelopeError(PairError):
    """A presence envelope could not be opened."""

    code = "envelope_error"


class MalformedEnvelopeError(EnvelopeError):
    """Wrong size or version, or the authenticated content does not decode."""

    code = "malformed"


class WrongKeyError(EnvelopeError):
    """The envelope was sealed for another direction or another pair."""

    code = "wrong_key"


class TamperedEnvelopeError(EnvelopeError):
    """The envelope names our key but fails authentication: it was altered."""

    code = "tampered"


class ReplayedEnvelopeError(EnvelopeError):
    """The record is authentic but not newer than the last one accepted."""

    code = "replayed"


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


def presence_topic(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> Topic:
    """The topic ``sender`` publishes presence on and ``receiver`` subscribes to."""
    return Topic(_expand(pair_key, b"presence-topic", sender_public, receiver_public))


def relay_topic(pair_key: bytes, sender_public: bytes, receiver_public: bytes) -> Topic:
    """The relay inbox of ``receiver`` for payloads from ``sender``."""
    return Topic(_expand(pair_key, b"relay-topic", sender_public, receiver_public))


def intro_topic(public_key: bytes) -> Topic:
    """The topic where the holder of ``public_key`` receives contact requests.

    Unlike the pair topics it depends on the public key alone, so anyone who
    knows the ID (the server included) can compute it and link it to the ID.
    """
    if len(public_key) != KEY_SIZE:
        raise ValueError(f"public key must be {KEY_SIZE} bytes")
    return Topic(hashlib.sha256(_INTRO_LABEL + public_key).digest())


# -- records ----------------------------------------------------------------


class PresenceStatus(enum.StrEnum):
    """What a contact sees."""

    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


class PresenceRecord(
    msgspec.Struct,
    frozen=True,
    rename={"status": "s", "text": "t", "seq": "q", "sent_at": "at", "has_messages": "m"},
):
    """One presence value, as sealed in an envelope.

    Attributes:
        status: The sender's effective status.
        text: Status text, at most 140 characters.
        seq: Sender's sequence number; receivers accept only increasing values.
        sent_at: Sender's wall clock in milliseconds since the Unix epoch.
        has_messages: Flag reserved for the offline outbox: the sender has
            queued messages for the receiver.
    """

    status: PresenceStatus
    text: str
    seq: int
    sent_at: int
    has_messages: bool = False

    def __post_init__(self) -> None:
        if len(self.text) > MAX_STATUS_TEXT:
            raise ValueError(f"status text is longer than {MAX_STATUS_TEXT} characters")
        try:
            self.text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("status text is not valid Unicode") from None
        if not (0 <= self.seq < _MAX_U63 and 0 <= self.sent_at < _MAX_U63):
            raise ValueError("seq and sent_at must be in [0, 2**63)")


_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(PresenceRecord)


def _pad(record: PresenceRecord) -> bytes:
    body = _ENCODER.encode(record)
    if len(body) > PADDED_SIZE - 2:  # cannot happen for a valid record
        raise ValueError("presence record does not fit the padded size")
    return len(body).to_bytes(2, "big") + body + bytes(PADDED_SIZE - 2 - len(body))


def _unpad(plain: bytes) -> PresenceRecord:
    size = int.from_bytes(plain[:2], "big")
    if size > PADDED_SIZE - 2 or any(plain[2 + size :]):
        raise MalformedEnvelopeError("presence record has a bad length or padding")
    try:
        return _DECODER.decode(plain[2 : 2 + size])
    except msgspec.DecodeError:  # ValidationError is a subclass
        raise MalformedEnvelopeError("presence record does not decode") from None


# -- envelope ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DirectionKey:
    key: bytes
    check: bytes

    @classmethod
    def derive(cls, pair_key: bytes, sender: bytes, receiver: bytes) -> _DirectionKey:
        key = _expand(pair_key, b"presence-key", sender, receiver)
        check = _expand(pair_key, b"presence-key-check", sender, receiver)[:KEY_CHECK_SIZE]
        return cls(key, check)


def _aad(check: bytes, topic: Topic) -> bytes:
    return _AAD_LABEL + bytes([ENVELOPE_VERSION]) + check + topic.raw


def _seal(key: _DirectionKey, topic: Topic, record: PresenceRecord, nonce: bytes) -> bytes:
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    sealed = ChaCha20Poly1305(key.key).encrypt(nonce, _pad(record), _aad(key.check, topic))
    return bytes([ENVELOPE_VERSION]) + key.check + nonce + sealed


def _open(key: _DirectionKey, topic: Topic, payload: bytes) -> PresenceRecord:
    if len(payload) != ENVELOPE_SIZE or payload[0] != ENVELOPE_VERSION:
        raise MalformedEnvelopeError("not a version 1 presence envelope")
    if payload[1 : 1 + KEY_CHECK_SIZE] != key.check:
        raise WrongKeyError("presence envelope was not sealed for this channel")
    nonce = payload[1 + KEY_CHECK_SIZE : HEADER_SIZE]
    try:
        plain = ChaCha20Poly1305(key.key).decrypt(
            nonce, payload[HEADER_SIZE:], _aad(key.check, topic)
        )
    except InvalidTag:
        raise TamperedEnvelopeError("presence envelope failed authentication") from None
    return _unpad(plain)


class ReplayGuard:
    """Receiver state for one sender: accepts only newer records.

    A record is accepted when its ``seq`` is greater than the last accepted
    one, or when it is exactly the last accepted record again (the server
    re-delivers a topic's retained value after a re-subscribe; that tells the
    receiver nothing older than what it already knows).

    Args:
        last_seq: The last accepted sequence number, if the caller persisted it.
    """

    def __init__(self, last_seq: int | None = None) -> None:
        self._last_seq = last_seq
        self._last_record: PresenceRecord | None = None

    @property
    def last_seq(self) -> int | None:
        """The last accepted sequence number, or None before the first."""
        return self._last_seq

    def accept(self, record: PresenceRecord) -> None:
        """Remember ``record`` as the newest, or raise if it is not newer.

        Raises:
            ReplayedEnvelopeError: ``record.seq`` is not greater than the last
                accepted one and ``record`` is not that same record again.
        """
        last = self._last_seq
        if last is not None and record.seq <= last and record != self._last_record:
            raise ReplayedEnvelopeError("presence record is older than one already accepted")
        self._last_seq = record.seq
        self._last_record = record


class PairChannel:
    """Everything one node needs to exchange presence with one contact.

    Args:
        own: Our identity keys.
        peer_public: The contact's raw 32-byte Ed25519 public key.
        last_seq: The last sequence number accepted from this contact, when
            the caller keeps it across restarts.

    Raises:
        InvalidPeerKeyError: ``peer_public`` is unusable (see ``derive_pair_key``).
    """

    def __init__(self, own: IdentityKeys, peer_public: bytes, last_seq: int | None = None) -> None:
        pair_key = derive_pair_key(own, peer_public)
        me = own.public_key
        self.peer_public: Final = peer_public
        self.publish_topic: Final = presence_topic(pair_key, me, peer_public)
        self.subscribe_topic: Final = presence_topic(pair_key, peer_public, me)
        self.relay_out_topic: Final = relay_topic(pair_key, me, peer_public)
        self.relay_in_topic: Final = relay_topic(pair_key, peer_public, me)
        self._out_key = _DirectionKey.derive(pair_key, me, peer_public)
        self._in_key = _DirectionKey.derive(pair_key, peer_public, me)
        self._guard = ReplayGuard(last_seq)

    def __repr__(self) -> str:
        return f"PairChannel(publish_topic={self.publish_topic.text!r})"

    @property
    def last_seq(self) -> int | None:
        """The last sequence number accepted from the contact."""
        return self._guard.last_seq

    def seal(self, record: PresenceRecord, nonce: bytes | None = None) -> bytes:
        """Encrypt ``record`` for ``publish_topic``.

        Args:
            record: The presence value to send.
            nonce: 12 bytes; random when omitted (give one only in tests).

        Returns:
            An envelope of exactly ``ENVELOPE_SIZE`` bytes.
        """
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        return _seal(self._out_key, self.publish_topic, record, nonce)

    def open(self, payload: bytes) -> PresenceRecord:
        """Decrypt an envelope received on ``subscribe_topic``.

        Raises:
            MalformedEnvelopeError: Wrong size, version or content encoding.
            WrongKeyError: Sealed by another pair or for the other direction.
            TamperedEnvelopeError: Altered after sealing.
            ReplayedEnvelopeError: Authentic but older than one already accepted
                (expected now and then; drop it).
        """
        record = _open(self._in_key, self.subscribe_topic, payload)
        self._guard.accept(record)
        return record
