"""File frames: the plaintext of one session message about a file transfer (pure).

File frames travel inside the same end-to-end encrypted session as chat
frames, so every chunk is authenticated by the Double Ratchet. They start with
the byte ``0xC1``, which msgpack never uses, so :func:`is_file_frame` tells
them from chat frames without decoding; the rest is a msgpack map tagged by
``t``:

| frame | from | meaning |
|---|---|---|
| ``Offer`` | sender | the file ``id``: name (a label), size, SHA-256, chunk size, ``voice_ms`` |
| ``Accept`` | receiver | it holds the first ``have`` chunks: send the rest (resume point) |
| ``Chunk`` | sender | chunk ``index`` of the file |
| ``Ack`` | receiver | the first ``have`` chunks are stored (opens the sender's window) |
| ``Done`` | receiver | the whole file is stored and its SHA-256 matches |
| ``Cancel`` | either | the transfer ends (``reason``: cancelled, refused, hash_mismatch…) |

An offer whose ``voice_ms`` is set is a voice message of that many
milliseconds (a recording the receiving page plays inline); the field is
optional, so an older node reads such an offer as an ordinary file, and an
offer without it is decoded as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Literal, TypeAlias, TypeVar

import msgspec

from kith.files.errors import MalformedFileFrame

__all__ = [
    "CHUNK_SIZE",
    "FILE_FRAME_MARK",
    "MAX_FILE_SIZE",
    "MAX_NAME_LENGTH",
    "MAX_VOICE_MS",
    "Accept",
    "Ack",
    "Cancel",
    "CancelReason",
    "Chunk",
    "Done",
    "FileFrame",
    "Offer",
    "check_offer",
    "check_transfer_id",
    "check_voice_ms",
    "chunk_count",
    "decode_file_frame",
    "decode_marked",
    "encode_file_frame",
    "is_file_frame",
]

FILE_FRAME_MARK: Final = b"\xc1"
"""First byte of every file frame (never the first byte of msgpack)."""
CHUNK_SIZE: Final = 65_536
"""Bytes per chunk (the last chunk may be shorter)."""
MAX_FILE_SIZE: Final = 2**40
"""Largest file offered or accepted (1 TiB)."""
MAX_NAME_LENGTH: Final = 1_024
"""Longest name in an offer, in characters (sanitised further before use)."""
MAX_VOICE_MS: Final = 3_600_000
"""Longest voice message, in milliseconds (an hour)."""
_ID: Final = re.compile(r"[0-9a-f]{32}")
_SHA256: Final = re.compile(r"[0-9a-f]{64}")

CancelReason: TypeAlias = Literal["cancelled", "refused", "too_large", "hash_mismatch", "failed"]


class Offer(msgspec.Struct, frozen=True, tag_field="t", tag="offer"):
    """The sender offers (or, after a reconnect, offers again) file ``id``."""

    id: str
    name: str
    size: int
    sha256: str
    chunk_size: int
    sent_at: int
    caption: str = ""
    voice_ms: int | None = None
    """Set for a voice message: its length in milliseconds (1 to :data:`MAX_VOICE_MS`)."""


class Accept(msgspec.Struct, frozen=True, tag_field="t", tag="accept"):
    """The receiver holds the first ``have`` chunks and wants the rest (its resume point)."""

    id: str
    have: int


class Chunk(msgspec.Struct, frozen=True, tag_field="t", tag="chunk"):
    """Chunk ``index`` of file ``id``."""

    id: str
    index: int
    data: bytes


class Ack(msgspec.Struct, frozen=True, tag_field="t", tag="ack"):
    """The receiver stored the first ``have`` chunks."""

    id: str
    have: int


class Done(msgspec.Struct, frozen=True, tag_field="t", tag="done"):
    """The receiver stored the whole file and verified its SHA-256."""

    id: str


class Cancel(msgspec.Struct, frozen=True, tag_field="t", tag="cancel"):
    """The transfer ends, for ``reason``."""

    id: str
    reason: CancelReason


FileFrame: TypeAlias = Offer | Accept | Chunk | Ack | Done | Cancel

T = TypeVar("T")

_DECODER: Final = msgspec.msgpack.Decoder(FileFrame)
_ENCODER: Final = msgspec.msgpack.Encoder()
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


def is_file_frame(plaintext: bytes) -> bool:
    """Whether a session plaintext is a file frame (not a chat frame)."""
    return plaintext[:1] == FILE_FRAME_MARK


def encode_file_frame(frame: FileFrame) -> bytes:
    """Encode a file frame for the secure channel."""
    return FILE_FRAME_MARK + _ENCODER.encode(frame)


def chunk_count(size: int, chunk_size: int = CHUNK_SIZE) -> int:
    """How many chunks a file of ``size`` bytes has (0 for an empty file)."""
    return -(-size // chunk_size)


def decode_file_frame(data: bytes) -> FileFrame:
    """Decode and validate a file frame from the peer.

    Raises:
        MalformedFileFrame: not a file frame, undecodable, or a field out of bounds
            (the message says which, never the frame's content).
    """
    return decode_marked(data, _DECODER, "file frame", _problem)


def decode_marked(
    data: bytes,
    decoder: msgspec.msgpack.Decoder[T],
    what: str,
    problem: Callable[[T], str | None],
) -> T:
    """Decode a frame that starts with the file mark, then check it.

    Raises:
        MalformedFileFrame: not a file frame, undecodable, or why ``problem``
            refuses it, naming ``what`` (never the frame's content).
    """
    if not is_file_frame(data):
        raise MalformedFileFrame(f"the {what} is invalid: not a file frame")
    try:
        frame = decoder.decode(memoryview(data)[1:])
    except _UNDECODABLE:
        raise MalformedFileFrame(f"the {what} is invalid: does not decode") from None
    reason = problem(frame)
    if reason is not None:
        raise MalformedFileFrame(f"the {what} is invalid: {reason}")
    return frame


def check_transfer_id(value: str) -> str | None:
    """Why ``value`` is not a transfer ID (32 lowercase hex digits), or ``None``."""
    return None if _ID.fullmatch(value) else "a transfer ID is 32 lowercase hex digits"


def check_offer(offer: Offer) -> str | None:
    """Why ``offer``'s fields are out of bounds, or ``None``."""
    return _problem(offer)


def check_voice_ms(value: object) -> str | None:
    """Why ``value`` is not a voice message's length in milliseconds, or ``None``."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "a voice message's duration is a whole number of milliseconds"
    if not 1 <= value <= MAX_VOICE_MS:
        return f"a voice message lasts 1 to {MAX_VOICE_MS} milliseconds"
    return None


def _problem(frame: FileFrame) -> str | None:
    problem = check_transfer_id(frame.id)
    if problem is not None:
        return problem
    match frame:
        case Offer():
            if not 0 <= frame.size <= MAX_FILE_SIZE:
                return "file size out of range"
            if frame.chunk_size != CHUNK_SIZE:
                return f"the chunk size must be {CHUNK_SIZE}"
            if not _SHA256.fullmatch(frame.sha256):
                return "the SHA-256 is 64 lowercase hex digits"
            if not 1 <= len(frame.name) <= MAX_NAME_LENGTH:
                return f"a file name is 1 to {MAX_NAME_LENGTH} characters"
            if len(frame.caption) > 16_000:
                return "the caption is too long"
            if frame.sent_at < 0:
                return "negative time"
            if frame.voice_ms is not None:
                return check_voice_ms(frame.voice_ms)
        case Accept() | Ack():
            if not 0 <= frame.have <= chunk_count(MAX_FILE_SIZE):
                return "chunk count out of range"
        case Chunk():
            if not 0 <= frame.index < chunk_count(MAX_FILE_SIZE):
                return "chunk index out of range"
            if not 1 <= len(frame.data) <= CHUNK_SIZE:
                return f"a chunk is 1 to {CHUNK_SIZE} bytes"
        case Done() | Cancel():
            pass
    return None
