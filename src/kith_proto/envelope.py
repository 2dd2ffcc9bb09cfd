"""The presence envelope: records, padding, sealing and replay protection.

A presence record is padded to a fixed size and sealed with ChaCha20-Poly1305
under a direction key of the pair (derived in :mod:`kith_proto.pair`), with
the topic it travels on bound as associated data, so every envelope is
exactly ``ENVELOPE_SIZE`` bytes and the server learns nothing from it. Also
the errors of pair crypto, shared with :mod:`kith_proto.pair`.

Pure: no I/O, no clock, no awaits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import ClassVar, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

__all__ = [
    "ENVELOPE_SIZE",
    "ENVELOPE_VERSION",
    "KEY_CHECK_SIZE",
    "MAX_AHEAD_MS",
    "MAX_DISPLAY_NAME",
    "MAX_DISPLAY_NAME_BYTES",
    "MAX_STATUS_TEXT",
    "MAX_STATUS_TEXT_BYTES",
    "NONCE_SIZE",
    "DirectionKey",
    "EnvelopeError",
    "FutureEnvelopeError",
    "InvalidPeerKeyError",
    "MalformedEnvelopeError",
    "PairError",
    "PresenceRecord",
    "PresenceStatus",
    "ReplayGuard",
    "ReplayedEnvelopeError",
    "TamperedEnvelopeError",
    "WrongKeyError",
    "fit_utf8",
    "open_envelope",
    "seal_envelope",
]

MAX_STATUS_TEXT: Final = 140
"""Longest status text, in characters (Unicode code points)."""

MAX_STATUS_TEXT_BYTES: Final = 200
"""Longest status text in UTF-8 bytes: all 140 characters of a Latin-script
text, 100 of a Cyrillic or Greek one, 66 of a CJK one, 50 emoji."""

MAX_DISPLAY_NAME: Final = 64
"""Longest display name a person may choose, in characters (code points)."""

MAX_DISPLAY_NAME_BYTES: Final = 96
"""Longest display name in UTF-8 bytes (sealed into every presence record):
64 Latin characters, 48 Cyrillic, 32 CJK, 24 emoji."""

ENVELOPE_VERSION: Final = 2
"""Version 2: records bounded in bytes, encoded as a msgpack array, 367-byte
envelopes (version 1 bounded them in characters only: 933 bytes)."""
KEY_CHECK_SIZE: Final = 8
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
PADDED_SIZE: Final = 330
"""Size of every padded plaintext: a length prefix, the record, zeros (room
for the longest record: ``_LONGEST_RECORD`` bytes)."""
HEADER_SIZE: Final = 1 + KEY_CHECK_SIZE + NONCE_SIZE
ENVELOPE_SIZE: Final = HEADER_SIZE + PADDED_SIZE + TAG_SIZE
"""Every presence envelope is exactly this many bytes (367)."""

MAX_AHEAD_MS: Final = 24 * 3600 * 1000
"""How far a record's ``seq`` may run ahead of the receiver's clock (ms)."""

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


class FutureEnvelopeError(EnvelopeError):
    """The record's ``seq`` is more than a day ahead of the receiver's clock:
    accepting it would raise the replay floor past every later record."""

    code = "future"


# -- records ----------------------------------------------------------------


class PresenceStatus(enum.StrEnum):
    """What a contact sees."""

    ONLINE = "online"
    AWAY = "away"
    BUSY = "busy"
    OFFLINE = "offline"


def fit_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 at a character boundary
    (for values stored before a byte limit existed; new ones are refused)."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def _utf8_size(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("status text or display name is not valid Unicode") from None


class PresenceRecord(msgspec.Struct, frozen=True, array_like=True):
    """One presence value, as sealed in an envelope (a msgpack array, in
    field order; a later field may be appended within the padding).

    Attributes:
        status: The sender's effective status.
        text: Status text, at most 140 characters and 200 bytes of UTF-8.
        seq: Sender's sequence number; receivers accept only increasing values.
        sent_at: Sender's wall clock in milliseconds since the Unix epoch.
        has_messages: Flag reserved for the offline outbox: the sender has
            queued messages for the receiver.
        name: The display name the sender chose, at most 64 characters and
            96 bytes of UTF-8 (empty: none chosen).
    """

    status: PresenceStatus
    text: str
    seq: int
    sent_at: int
    has_messages: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if len(self.text) > MAX_STATUS_TEXT:
            raise ValueError(f"status text is longer than {MAX_STATUS_TEXT} characters")
        if len(self.name) > MAX_DISPLAY_NAME:
            raise ValueError(f"display name is longer than {MAX_DISPLAY_NAME} characters")
        if _utf8_size(self.text) > MAX_STATUS_TEXT_BYTES:
            raise ValueError(f"status text is longer than {MAX_STATUS_TEXT_BYTES} bytes of UTF-8")
        if _utf8_size(self.name) > MAX_DISPLAY_NAME_BYTES:
            raise ValueError(f"display name is longer than {MAX_DISPLAY_NAME_BYTES} bytes of UTF-8")
        if not (0 <= self.seq < _MAX_U63 and 0 <= self.sent_at < _MAX_U63):
            raise ValueError("seq and sent_at must be in [0, 2**63)")


_LONGEST_RECORD: Final = (
    1  # array header
    + 1 + len(max(PresenceStatus, key=len))  # status
    + 2 + MAX_STATUS_TEXT_BYTES  # str8 header and text
    + 9 + 9  # seq and sent_at as uint64
    + 1  # has_messages
    + 2 + MAX_DISPLAY_NAME_BYTES  # str8 header and name
)  # fmt: skip
assert PADDED_SIZE == 2 + _LONGEST_RECORD
_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(PresenceRecord)
# What msgspec raises on garbage: DecodeError (ValidationError included),
# UnicodeError for invalid UTF-8, RecursionError for deep nesting.
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


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
    except _UNDECODABLE:
        raise MalformedEnvelopeError("presence record does not decode") from None


# -- envelope ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DirectionKey:
    """The key that seals one direction of a pair, and its public 8-byte check.

    Attributes:
        key: 32-byte ChaCha20-Poly1305 key.
        check: Identifies the key in the envelope header (not secret).
    """

    key: bytes = field(repr=False)
    check: bytes


def _aad(check: bytes, topic: bytes) -> bytes:
    return _AAD_LABEL + bytes([ENVELOPE_VERSION]) + check + topic


def seal_envelope(key: DirectionKey, topic: bytes, record: PresenceRecord, nonce: bytes) -> bytes:
    """Seal ``record`` for the raw ``topic`` it is published on (exactly ENVELOPE_SIZE bytes)."""
    if len(nonce) != NONCE_SIZE:
        raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
    sealed = ChaCha20Poly1305(key.key).encrypt(nonce, _pad(record), _aad(key.check, topic))
    return bytes([ENVELOPE_VERSION]) + key.check + nonce + sealed


def open_envelope(key: DirectionKey, topic: bytes, payload: bytes) -> PresenceRecord:
    """Open an envelope received on the raw ``topic``.

    Raises:
        MalformedEnvelopeError, WrongKeyError, TamperedEnvelopeError.
    """
    if len(payload) != ENVELOPE_SIZE or payload[0] != ENVELOPE_VERSION:
        raise MalformedEnvelopeError(f"not a version {ENVELOPE_VERSION} presence envelope")
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

    A record is accepted when its ``seq`` is at least the *floor* (one more
    than the last accepted ``seq``), or when it is exactly the last accepted
    record again: the server re-delivers a topic's retained value after a
    re-subscribe, which tells the receiver nothing older than what it knows.
    Once the sender's value is gone (:meth:`ended`) that record cannot come
    back legitimately, so it is refused too.

    What the caller persists is :attr:`floor_to_keep`; a guard restored from
    it accepts the still-retained last record after a restart, and nothing
    older.

    Args:
        floor: The lowest ``seq`` to accept, as persisted (None: accept any).
    """

    def __init__(self, floor: int | None = None) -> None:
        self._floor = floor
        self._last: PresenceRecord | None = None

    @property
    def last_seq(self) -> int | None:
        """The last accepted sequence number, or None before the first."""
        if self._last is not None:
            return self._last.seq
        return None if self._floor is None else self._floor - 1

    @property
    def floor_to_keep(self) -> int | None:
        """The floor to persist: a restored guard then refuses every record
        older than the last accepted one, and that one too once it ended."""
        return self._last.seq if self._last is not None else self._floor

    def ended(self) -> None:
        """The sender's value is gone: its last record may not come back."""
        self._last = None

    def accept(self, record: PresenceRecord, now_ms: int | None = None) -> None:
        """Remember ``record`` as the newest, or raise if it is not newer.

        Args:
            record: An authentic record.
            now_ms: The receiver's wall clock in ms since the epoch, to bound
                how far ahead ``seq`` may be (``MAX_AHEAD_MS``); None skips it.

        Raises:
            ReplayedEnvelopeError: ``record.seq`` is below the floor and
                ``record`` is not the last accepted record again.
            FutureEnvelopeError: ``record.seq`` is more than ``MAX_AHEAD_MS``
                ahead of ``now_ms``.
        """
        if record == self._last:
            return
        if self._floor is not None and record.seq < self._floor:
            raise ReplayedEnvelopeError("presence record is older than one already accepted")
        if now_ms is not None and record.seq > now_ms + MAX_AHEAD_MS:
            raise FutureEnvelopeError("presence record is dated more than a day ahead of us")
        self._last = record
        self._floor = record.seq + 1
