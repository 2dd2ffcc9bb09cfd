"""Frames on the data channel (pure).

The data channel keeps message boundaries (SCTP), so one frame is one
data-channel message. Every frame starts with a five-byte header, a type and
the payload length, so a truncated or padded message is told apart from a
valid one::

    frame = type (u8) || length (u32, big-endian) || payload (length bytes)

| type | name | payload |
|---|---|---|
| 1 | ``HANDSHAKE`` | one ``kith.sessions`` handshake frame (Init, Response, Finish) |
| 2 | ``SESSION`` | one ``kith.sessions`` message frame (Double Ratchet ciphertext) |
| 3 | ``KEEPALIVE`` | empty |
| 4 | ``CLOSE`` | one byte, the :class:`CloseReason` |
| 5 | ``FEATURES`` | 1 to 8 bytes, a big-endian bit set of :class:`Feature` |
| 6 | ``BUNDLE`` | one ``kith.sessions`` message frame whose plaintext is a bundle
  (:mod:`kith.p2p.bundle`) |

``FEATURES`` is sent once by each side when the session is established; a
peer that does not know the type drops it (a malformed frame does not close
the channel), so it never hears of a feature and never gets a ``BUNDLE``.

A whole frame is at most :data:`MAX_FRAME_SIZE` bytes, the largest message
aiortc accepts. See ``docs/p2p.md``.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

from kith.p2p.errors import FrameTooLarge, MalformedFrame

__all__ = [
    "HEADER_SIZE",
    "MAX_FRAME_SIZE",
    "MAX_PAYLOAD_SIZE",
    "ChannelFrame",
    "CloseReason",
    "Feature",
    "FrameType",
    "close_frame",
    "features_frame",
    "keepalive_frame",
    "pack_frame",
    "unpack_frame",
]

_HEADER: Final = struct.Struct(">BI")
HEADER_SIZE: Final = _HEADER.size
MAX_FRAME_SIZE: Final = 262_144
"""Largest frame on the wire: aiortc's limit for one data-channel message."""
MAX_PAYLOAD_SIZE: Final = MAX_FRAME_SIZE - HEADER_SIZE


class FrameType(enum.IntEnum):
    """What a frame carries."""

    HANDSHAKE = 1
    SESSION = 2
    KEEPALIVE = 3
    CLOSE = 4
    FEATURES = 5
    BUNDLE = 6


class Feature(enum.IntFlag):
    """What a peer announces it understands (payload of a ``FEATURES`` frame)."""

    NONE = 0
    BUNDLE = 1
    """``BUNDLE`` frames: several messages in one encrypted frame."""


MAX_FEATURES_SIZE: Final = 8


class CloseReason(enum.IntEnum):
    """Why a peer closes the channel (payload of a ``CLOSE`` frame)."""

    NORMAL = 0
    IDLE = 1
    PROTOCOL_ERROR = 2
    HANDSHAKE_FAILED = 3


@dataclass(frozen=True, slots=True)
class ChannelFrame:
    """One decoded frame.

    Attributes:
        type: what the payload is.
        payload: the payload bytes (validated for ``KEEPALIVE`` and ``CLOSE``).
    """

    type: FrameType
    payload: bytes = b""

    @property
    def close_reason(self) -> CloseReason:
        """The reason carried by a ``CLOSE`` frame."""
        if self.type is not FrameType.CLOSE:
            raise ValueError("only CLOSE frames carry a reason")
        return CloseReason(self.payload[0])

    @property
    def features(self) -> Feature:
        """The features a ``FEATURES`` frame announces (bits this side does
        not know are left out)."""
        if self.type is not FrameType.FEATURES:
            raise ValueError("only FEATURES frames announce features")
        return Feature(int.from_bytes(self.payload, "big") & _KNOWN_FEATURES)


def pack_frame(frame_type: FrameType, payload: bytes = b"") -> bytes:
    """Encode one frame.

    Raises:
        FrameTooLarge: the payload exceeds :data:`MAX_PAYLOAD_SIZE`.
    """
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise FrameTooLarge(f"a frame payload is limited to {MAX_PAYLOAD_SIZE} bytes")
    return _HEADER.pack(frame_type, len(payload)) + payload


def keepalive_frame() -> bytes:
    """A ``KEEPALIVE`` frame."""
    return pack_frame(FrameType.KEEPALIVE)


def close_frame(reason: CloseReason) -> bytes:
    """A ``CLOSE`` frame carrying ``reason``."""
    return pack_frame(FrameType.CLOSE, bytes([reason]))


def features_frame(features: Feature) -> bytes:
    """A ``FEATURES`` frame announcing ``features``."""
    value = int(features)
    size = max(1, (value.bit_length() + 7) // 8)
    return pack_frame(FrameType.FEATURES, value.to_bytes(size, "big"))


def unpack_frame(data: bytes) -> ChannelFrame:
    """Decode one frame received from the peer.

    Raises:
        MalformedFrame: too short, too long, a length that disagrees with the
            message size, an unknown type, or a bad control payload.
    """
    if len(data) < HEADER_SIZE:
        raise MalformedFrame("the frame is shorter than its header")
    if len(data) > MAX_FRAME_SIZE:
        raise MalformedFrame(f"frames are limited to {MAX_FRAME_SIZE} bytes")
    type_value, length = _HEADER.unpack_from(data)
    if length != len(data) - HEADER_SIZE:
        raise MalformedFrame("the frame length does not match its size")
    try:
        frame_type = FrameType(type_value)
    except ValueError:
        raise MalformedFrame(f"unknown frame type {type_value}") from None
    payload = bytes(data[HEADER_SIZE:])
    _check_control(frame_type, payload)
    return ChannelFrame(frame_type, payload)


def _check_control(frame_type: FrameType, payload: bytes) -> None:
    if frame_type is FrameType.KEEPALIVE and payload:
        raise MalformedFrame("a keepalive frame has no payload")
    bad_reason = len(payload) != 1 or payload[0] not in set(CloseReason)
    if frame_type is FrameType.CLOSE and bad_reason:
        raise MalformedFrame("a close frame carries one known reason byte")
    if frame_type is FrameType.FEATURES and not 0 < len(payload) <= MAX_FEATURES_SIZE:
        raise MalformedFrame(f"a features frame carries 1 to {MAX_FEATURES_SIZE} bytes")
    encrypted = (FrameType.HANDSHAKE, FrameType.SESSION, FrameType.BUNDLE)
    if frame_type in encrypted and not payload:
        raise MalformedFrame("handshake, session and bundle frames are never empty")


_KNOWN_FEATURES: Final = sum(int(feature) for feature in Feature)
