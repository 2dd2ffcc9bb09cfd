"""A small file whole in one frame, for the sealed offline mailbox (pure).

A contact who is offline cannot take a data channel, but the signaling
server keeps sealed mailbox items for them (``docs/p2p.md``, "Offline
mailbox"). A file of at most :data:`PARCEL_MAX_SIZE` bytes travels there as
one :class:`Parcel`: the offer's fields and the bytes, in one item, so it
arrives whole or not at all. The receiver answers through the sender's
mailbox with the usual :class:`~kith.files.frames.Done`, or with
:class:`~kith.files.frames.Cancel` (``too_large``) when the file would not
leave its disk reserve free. These three are the only file frames the
mailbox carries (:func:`decode_mailbox_file_frame`).

A parcel is a file frame (it starts with
:data:`~kith.files.frames.FILE_FRAME_MARK`) tagged ``parcel``. Decoding
checks every field as an offer's, that ``size`` is the length of ``data``,
and that the bytes hash to ``sha256``: a parcel that decodes is the file the
sender sent.
"""

from __future__ import annotations

import hashlib
from typing import Final, TypeAlias

import msgspec

from kith.files.errors import MalformedFileFrame
from kith.files.frames import (
    CHUNK_SIZE,
    FILE_FRAME_MARK,
    Cancel,
    Done,
    Offer,
    check_offer,
    check_transfer_id,
    decode_marked,
)
from kith_proto.mailbox_seal import MAX_FRAME

__all__ = [
    "PARCEL_MAX_SIZE",
    "MailboxFileFrame",
    "Parcel",
    "ParcelMismatch",
    "decode_mailbox_file_frame",
    "encode_parcel",
]

PARCEL_MAX_SIZE: Final = 24 * 1024
"""The largest file that goes through the mailbox (bytes). With its name (at
most 200 bytes once sanitised), SHA-256 and a caption of up to about 6,000
bytes, its parcel fits the largest mailbox item (:data:`MAX_FRAME`, 31,610
bytes); a larger file, or a parcel that does not fit, waits for a direct
channel."""


class Parcel(msgspec.Struct, frozen=True, tag_field="t", tag="parcel"):
    """A whole small file: what an offer says of it, and its bytes."""

    id: str
    name: str
    size: int
    sha256: str
    sent_at: int
    data: bytes
    caption: str = ""
    voice_ms: int | None = None

    @property
    def offer(self) -> Offer:
        """The offer this parcel stands for (what the receiver stores)."""
        return Offer(
            self.id, self.name, self.size, self.sha256, CHUNK_SIZE, self.sent_at,
            self.caption, self.voice_ms,
        )  # fmt: skip


MailboxFileFrame: TypeAlias = Parcel | Done | Cancel

_DECODER: Final = msgspec.msgpack.Decoder(MailboxFileFrame)
_ENCODER: Final = msgspec.msgpack.Encoder()


class ParcelMismatch(MalformedFileFrame):
    """A parcel whose bytes are not the file it names (length or SHA-256)."""

    code = "hash_mismatch"


def encode_parcel(offer: Offer, data: bytes) -> bytes | None:
    """The parcel frame of a file, or None when it does not go through the
    mailbox (over :data:`PARCEL_MAX_SIZE`, or too large with its metadata)."""
    if len(data) != offer.size or offer.size > PARCEL_MAX_SIZE:
        return None
    parcel = Parcel(
        offer.id, offer.name, offer.size, offer.sha256, offer.sent_at, data,
        offer.caption, offer.voice_ms,
    )  # fmt: skip
    frame = FILE_FRAME_MARK + _ENCODER.encode(parcel)
    return frame if len(frame) <= MAX_FRAME else None


def decode_mailbox_file_frame(data: bytes) -> MailboxFileFrame:
    """Decode and check a file frame that came through the mailbox.

    Raises:
        ParcelMismatch: a parcel whose bytes are not the file it names.
        MalformedFileFrame: anything else that is not a good parcel, ``done``
            or ``cancel`` (the message says which, never the frame's content).
    """
    frame = decode_marked(data, _DECODER, "mailbox file frame", _mailbox_problem)
    if isinstance(frame, Parcel):
        _check_bytes(frame)
    return frame


def _mailbox_problem(frame: MailboxFileFrame) -> str | None:
    if isinstance(frame, Done | Cancel):
        return check_transfer_id(frame.id)
    return _parcel_problem(frame)


def _parcel_problem(parcel: Parcel) -> str | None:
    if not 0 <= parcel.size <= PARCEL_MAX_SIZE:
        return f"a parcel holds at most {PARCEL_MAX_SIZE} bytes"
    return check_offer(parcel.offer)


def _check_bytes(parcel: Parcel) -> None:
    if len(parcel.data) != parcel.size:
        raise ParcelMismatch("the parcel's bytes are not the size it names")
    if hashlib.sha256(parcel.data).hexdigest() != parcel.sha256:
        raise ParcelMismatch("the parcel's bytes do not match its SHA-256")
