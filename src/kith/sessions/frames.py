"""Session frames on the wire: the handshake messages and the ratchet message.

Every frame is a msgpack array whose first element is a small integer tag
(msgspec ``array_like`` tagged structs), so one decoder reads any of them and
``decode_frame`` returns a typed, validated value or raises
:class:`~kith.sessions.errors.MalformedFrame`. The byte layout is documented in
``docs/sessions.md``.
"""

from __future__ import annotations

import struct
from typing import Final

import msgspec

from kith.sessions.errors import MalformedFrame

__all__ = [
    "HANDSHAKE_VERSION",
    "MAX_CIPHERTEXT_SIZE",
    "MAX_COUNTER",
    "Finish",
    "Frame",
    "Init",
    "Message",
    "Response",
    "decode_frame",
    "encode_frame",
    "pack_header",
]

HANDSHAKE_VERSION: Final = 1
KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
TAG_BYTES: Final = 32
SESSION_ID_BYTES: Final = 16
MAX_COUNTER: Final = 2**32 - 1
MAX_CIPHERTEXT_SIZE: Final = 256 * 1024 + 16
MAX_FRAME_SIZE: Final = MAX_CIPHERTEXT_SIZE + 256
_HEADER: Final = struct.Struct(">32sII")


def _check_size(name: str, value: bytes, size: int) -> None:
    if len(value) != size:
        raise ValueError(f"{name} must be {size} bytes")


def _check_counter(name: str, value: int) -> None:
    if not 0 <= value <= MAX_COUNTER:
        raise ValueError(f"{name} out of range")


class Init(msgspec.Struct, frozen=True, array_like=True, tag=1):
    """Handshake message 1, initiator → responder.

    ``signature`` is the initiator's Ed25519 signature of
    ``b"kith-session-v1/init" || initiator || responder || ephemeral``.
    """

    version: int
    initiator: bytes
    responder: bytes
    ephemeral: bytes
    signature: bytes

    def __post_init__(self) -> None:
        _check_size("initiator", self.initiator, KEY_BYTES)
        _check_size("responder", self.responder, KEY_BYTES)
        _check_size("ephemeral", self.ephemeral, KEY_BYTES)
        _check_size("signature", self.signature, SIGNATURE_BYTES)


class Response(msgspec.Struct, frozen=True, array_like=True, tag=2):
    """Handshake message 2, responder → initiator.

    ``signature`` signs ``b"kith-session-v1/response" || transcript_hash``;
    ``confirm`` is the responder's key-confirmation HMAC.
    """

    version: int
    responder: bytes
    ephemeral: bytes
    signature: bytes
    confirm: bytes

    def __post_init__(self) -> None:
        _check_size("responder", self.responder, KEY_BYTES)
        _check_size("ephemeral", self.ephemeral, KEY_BYTES)
        _check_size("signature", self.signature, SIGNATURE_BYTES)
        _check_size("confirm", self.confirm, TAG_BYTES)


class Finish(msgspec.Struct, frozen=True, array_like=True, tag=3):
    """Handshake message 3, initiator → responder: the initiator's confirmation HMAC."""

    version: int
    confirm: bytes

    def __post_init__(self) -> None:
        _check_size("confirm", self.confirm, TAG_BYTES)


class Message(msgspec.Struct, frozen=True, array_like=True, tag=4):
    """A Double Ratchet message: header fields in the clear, then the AEAD ciphertext."""

    session_id: bytes
    ratchet_key: bytes
    previous_count: int
    number: int
    ciphertext: bytes

    def __post_init__(self) -> None:
        _check_size("session_id", self.session_id, SESSION_ID_BYTES)
        _check_size("ratchet_key", self.ratchet_key, KEY_BYTES)
        _check_counter("previous_count", self.previous_count)
        _check_counter("number", self.number)
        if not 16 <= len(self.ciphertext) <= MAX_CIPHERTEXT_SIZE:
            raise ValueError("ciphertext size out of range")

    def header_bytes(self) -> bytes:
        """The canonical 40-byte header authenticated as associated data."""
        return pack_header(self.ratchet_key, self.previous_count, self.number)


def pack_header(ratchet_key: bytes, previous_count: int, number: int) -> bytes:
    """``ratchet_key (32) || previous_count (u32 BE) || number (u32 BE)``."""
    return _HEADER.pack(ratchet_key, previous_count, number)


Frame = Init | Response | Finish | Message

_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final[msgspec.msgpack.Decoder[Frame]] = msgspec.msgpack.Decoder(Frame)


def encode_frame(frame: Frame) -> bytes:
    """Serialise a frame to bytes."""
    return _ENCODER.encode(frame)


def decode_frame(data: bytes) -> Frame:
    """Parse and validate one frame.

    Raises:
        MalformedFrame: the bytes are not a well-formed frame.
    """
    if len(data) > MAX_FRAME_SIZE:
        raise MalformedFrame("session frame too large")
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError) as exc:
        raise MalformedFrame("malformed session frame") from exc
