"""Sealed WebRTC set-up signals relayed through the signaling server (pure).

An offer or answer (SDP with its ICE candidates and DTLS fingerprint) is
sealed with ChaCha20-Poly1305 under a per-direction key derived from the pair
key, so the server that relays it can neither read it nor change or swap it
without the receiver noticing. Layout (see ``docs/p2p.md``)::

    key(S→R)   = HKDF-SHA256(ikm = pair_key, salt = "kith/v1/p2p-signal",
                             info = "kith/v1/p2p-signal-key" || 0x00 || S || R, L = 32)
    check(S→R) = HKDF-SHA256(same, info = "kith/v1/p2p-signal-check" || 0x00 || S || R)[:8]
    padded     = u32_be(len(record)) || record || zeros   # to a multiple of 512 bytes
    aad        = "kith/v1/p2p-signal" || 0x00 || 0x01 || S || R
    sealed     = 0x01 || check || nonce (12) || ChaCha20-Poly1305(key, nonce, padded, aad)

The record carries a sequence number (strictly increasing per direction,
``max(last + 1, now in ms)``) and the send time, so the receiver refuses a
replayed signal, and one sent more than ``max_age`` seconds ago (a replay
after a restart). aiortc gathers every ICE candidate before it returns the
local description, so the offer and the answer carry their candidates and
no separate candidate signals exist.
"""

from __future__ import annotations

import enum
import os
import struct
from dataclasses import dataclass, field
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kith.p2p.errors import (
    LocalP2PError,
    MalformedSignal,
    ReplayedSignal,
    StaleSignal,
    TamperedSignal,
    WrongDirectionSignal,
)
from kith_proto.keys import IdentityKeys
from kith_proto.pair import derive_pair_key

__all__ = [
    "ATTEMPT_SIZE",
    "DEFAULT_MAX_AGE",
    "MAX_SDP_SIZE",
    "MAX_SIGNAL_SIZE",
    "SIGNAL_VERSION",
    "Signal",
    "SignalBox",
    "SignalKind",
]

SIGNAL_VERSION: Final = 1
ATTEMPT_SIZE: Final = 8
"""Bytes of the random connection-attempt ID an offer names and its answer repeats."""
MAX_SDP_SIZE: Final = 12_000
"""Longest SDP (UTF-8 bytes) a signal may carry."""
PAD_TO: Final = 512
CHECK_SIZE: Final = 8
NONCE_SIZE: Final = 12
TAG_SIZE: Final = 16
HEADER_SIZE: Final = 1 + CHECK_SIZE + NONCE_SIZE
MAX_SIGNAL_SIZE: Final = HEADER_SIZE + 12_800 + TAG_SIZE
"""Largest sealed signal (well under the server's relay payload limit)."""
DEFAULT_MAX_AGE: Final = 600.0
"""Seconds after which a signal is refused as stale (allows for clock skew)."""

_LABEL: Final = b"kith/v1/p2p-signal"
_LENGTH: Final = struct.Struct(">I")
# What msgspec raises on garbage: DecodeError (ValidationError included),
# UnicodeError for invalid UTF-8, RecursionError for deep nesting.
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


class SignalKind(enum.StrEnum):
    """What a signal asks for."""

    OFFER = "offer"
    ANSWER = "answer"


@dataclass(frozen=True, slots=True)
class Signal:
    """A WebRTC session description for the peer.

    Attributes:
        kind: offer or answer.
        attempt: random ID of the connection attempt (an answer repeats its offer's).
        sdp: the session description, ICE candidates included.
    """

    kind: SignalKind
    attempt: bytes
    sdp: str

    def __post_init__(self) -> None:
        if len(self.attempt) != ATTEMPT_SIZE:
            raise ValueError(f"an attempt ID is {ATTEMPT_SIZE} bytes")
        if len(self.sdp.encode()) > MAX_SDP_SIZE:
            raise ValueError(f"an SDP is limited to {MAX_SDP_SIZE} bytes")

    def __repr__(self) -> str:
        sdp = f"<{len(self.sdp)} characters>"
        return f"Signal(kind={self.kind.value}, attempt={self.attempt.hex()}, sdp={sdp})"


class _Record(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    k: str
    a: bytes
    q: int
    at: int
    d: str


@dataclass(frozen=True, slots=True)
class _DirectionKey:
    key: bytes = field(repr=False)
    check: bytes
    aad: bytes

    @classmethod
    def derive(cls, pair_key: bytes, sender: bytes, receiver: bytes) -> _DirectionKey:
        ends = b"\x00" + sender + receiver
        key = _hkdf(pair_key, b"kith/v1/p2p-signal-key" + ends, 32)
        check = _hkdf(pair_key, b"kith/v1/p2p-signal-check" + ends, 32)[:CHECK_SIZE]
        aad = _LABEL + b"\x00" + bytes([SIGNAL_VERSION]) + sender + receiver
        return cls(key, check, aad)


def _hkdf(pair_key: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=SHA256(), length=length, salt=_LABEL, info=info).derive(pair_key)


class SignalBox:
    """Seals our signals to one contact and opens theirs.

    Args:
        own: our identity keys.
        peer_public: the contact's Ed25519 public key.
        max_age: seconds after which a received signal is stale (None: never).

    Raises:
        InvalidPeerKeyError: ``peer_public`` is not a usable contact key.
    """

    def __init__(
        self, own: IdentityKeys, peer_public: bytes, *, max_age: float | None = DEFAULT_MAX_AGE
    ) -> None:
        pair_key = derive_pair_key(own, peer_public)
        self._out = _DirectionKey.derive(pair_key, own.public_key, peer_public)
        self._in = _DirectionKey.derive(pair_key, peer_public, own.public_key)
        self._max_age = max_age
        self._last_out = -1
        self._last_in = -1

    def __repr__(self) -> str:
        return f"SignalBox(last_out={self._last_out}, last_in={self._last_in})"

    def seal(self, signal: Signal, now: float, nonce: bytes | None = None) -> bytes:
        """Seal ``signal`` for the peer; ``now`` is wall-clock seconds."""
        at = int(now * 1000)
        self._last_out = max(self._last_out + 1, at)
        record = _Record(signal.kind.value, signal.attempt, self._last_out, at, signal.sdp)
        body = msgspec.msgpack.encode(record)
        padded = _LENGTH.pack(len(body)) + body
        padded += bytes(-len(padded) % PAD_TO)
        nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
        if len(nonce) != NONCE_SIZE:
            raise LocalP2PError("a nonce is 12 bytes")
        sealed = ChaCha20Poly1305(self._out.key).encrypt(nonce, padded, self._out.aad)
        return bytes([SIGNAL_VERSION]) + self._out.check + nonce + sealed

    def open(self, payload: bytes, now: float) -> Signal:
        """Open a signal from the peer; ``now`` is wall-clock seconds.

        Raises:
            MalformedSignal: wrong size or version, or undecodable content.
            WrongDirectionSignal: sealed for another direction or pair.
            TamperedSignal: altered or forged.
            ReplayedSignal: not newer than the last signal accepted.
            StaleSignal: sent more than ``max_age`` seconds from ``now``.
        """
        padded = self._decrypt(payload)
        record = _decode(padded)
        self._check_fresh(record, now)
        self._last_in = record.q
        return _to_signal(record)

    def _decrypt(self, payload: bytes) -> bytes:
        size_ok = HEADER_SIZE + TAG_SIZE < len(payload) <= MAX_SIGNAL_SIZE
        if not size_ok or payload[0] != SIGNAL_VERSION:
            raise MalformedSignal("not a sealed signal of a known version")
        if payload[1 : 1 + CHECK_SIZE] != self._in.check:
            raise WrongDirectionSignal("the signal was sealed for another direction")
        nonce = payload[1 + CHECK_SIZE : HEADER_SIZE]
        try:
            aead = ChaCha20Poly1305(self._in.key)
            return aead.decrypt(nonce, payload[HEADER_SIZE:], self._in.aad)
        except InvalidTag:
            raise TamperedSignal("the signal failed authentication") from None

    def _check_fresh(self, record: _Record, now: float) -> None:
        if record.q <= self._last_in:
            raise ReplayedSignal("the signal is not newer than the last one")
        if self._max_age is not None and abs(now - record.at / 1000) > self._max_age:
            raise StaleSignal("the signal was sent too long ago (or the clocks disagree)")


def _decode(padded: bytes) -> _Record:
    if len(padded) < _LENGTH.size or len(padded) % PAD_TO:
        raise MalformedSignal("the signal padding is wrong")
    (length,) = _LENGTH.unpack_from(padded)
    end = _LENGTH.size + length
    if end > len(padded) or any(padded[end:]):
        raise MalformedSignal("the signal padding is wrong")
    try:
        return msgspec.msgpack.decode(padded[_LENGTH.size : end], type=_Record)
    except _UNDECODABLE:
        raise MalformedSignal("the signal content does not decode") from None


def _to_signal(record: _Record) -> Signal:
    try:
        return Signal(SignalKind(record.k), record.a, record.d)
    except ValueError:
        raise MalformedSignal("the signal content is invalid") from None
