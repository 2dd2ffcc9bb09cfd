"""The mailbox's file frames (pure): a parcel fits an item or is not made, and
one that decodes is the file it names."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from kith.files import CHUNK_SIZE, Cancel, Done, MalformedFileFrame, Offer, encode_file_frame
from kith.files.frames import FILE_FRAME_MARK
from kith.files.parcel import (
    PARCEL_MAX_SIZE,
    Parcel,
    ParcelMismatch,
    decode_mailbox_file_frame,
    encode_parcel,
)
from kith_proto.mailbox_seal import MAX_FRAME

ID = "ab" * 16


def _offer(data: bytes, name: str = "note.txt", caption: str = "") -> Offer:
    digest = hashlib.sha256(data).hexdigest()
    return Offer(ID, name, len(data), digest, CHUNK_SIZE, 1_700_000_000, caption)


def test_a_small_file_round_trips_as_a_parcel() -> None:
    data = b"hello, offline world"
    frame = encode_parcel(_offer(data, caption="hi"), data)
    assert frame is not None
    parcel = decode_mailbox_file_frame(frame)
    assert isinstance(parcel, Parcel)
    assert (parcel.data, parcel.name, parcel.caption) == (data, "note.txt", "hi")
    assert parcel.offer == _offer(data, caption="hi")


def test_the_largest_parcel_fits_one_mailbox_item_with_a_long_name_and_caption() -> None:
    data = bytes(PARCEL_MAX_SIZE)
    frame = encode_parcel(_offer(data, name="n" * 200, caption="c" * 6_000), data)
    assert frame is not None
    assert len(frame) <= MAX_FRAME


def test_a_file_over_the_limit_makes_no_parcel() -> None:
    data = bytes(PARCEL_MAX_SIZE + 1)
    assert encode_parcel(_offer(data), data) is None


def test_a_parcel_too_large_with_its_caption_is_not_made() -> None:
    data = bytes(PARCEL_MAX_SIZE)
    assert encode_parcel(_offer(data, caption="c" * 10_000), data) is None


def test_an_empty_file_is_a_parcel() -> None:
    frame = encode_parcel(_offer(b""), b"")
    assert frame is not None
    parcel = decode_mailbox_file_frame(frame)
    assert isinstance(parcel, Parcel)
    assert parcel.size == 0


def test_done_comes_through_the_mailbox() -> None:
    assert decode_mailbox_file_frame(encode_file_frame(Done(ID))) == Done(ID)


def test_a_refusal_comes_through_the_mailbox() -> None:
    refusal = Cancel(ID, "too_large")
    assert decode_mailbox_file_frame(encode_file_frame(refusal)) == refusal


def _raw(parcel: Parcel) -> bytes:
    return FILE_FRAME_MARK + msgspec.msgpack.encode(parcel)


def test_bytes_that_do_not_match_the_sha256_are_refused() -> None:
    data = b"the real file"
    offer = _offer(data)
    forged = Parcel(ID, "note.txt", len(data), offer.sha256, 1, b"the fake file")
    with pytest.raises(ParcelMismatch) as caught:
        decode_mailbox_file_frame(_raw(forged))
    assert caught.value.code == "hash_mismatch"


def test_bytes_of_another_length_are_refused() -> None:
    data = b"abc"
    forged = Parcel(ID, "note.txt", 4, hashlib.sha256(data).hexdigest(), 1, data)
    with pytest.raises(ParcelMismatch):
        decode_mailbox_file_frame(_raw(forged))


def test_a_parcel_claiming_more_than_the_limit_is_malformed() -> None:
    data = bytes(PARCEL_MAX_SIZE + 1)
    big = Parcel(ID, "x", len(data), hashlib.sha256(data).hexdigest(), 1, data)
    with pytest.raises(MalformedFileFrame) as caught:
        decode_mailbox_file_frame(_raw(big))
    assert caught.value.code == "malformed_file_frame"


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x81\xa1t\xa4done",  # no file mark
        FILE_FRAME_MARK + b"\xff\x00",
        encode_file_frame(Offer(ID, "x", 1, "0" * 64, CHUNK_SIZE, 1)),  # not for the mailbox
        FILE_FRAME_MARK + msgspec.msgpack.encode({"t": "done", "id": "nope"}),
        FILE_FRAME_MARK + msgspec.msgpack.encode({"t": "cancel", "id": "nope", "reason": "x"}),
        FILE_FRAME_MARK + msgspec.msgpack.encode({"t": "cancel", "id": ID, "reason": "why not"}),
    ],
)
def test_other_frames_are_malformed(frame: bytes) -> None:
    with pytest.raises(MalformedFileFrame) as caught:
        decode_mailbox_file_frame(frame)
    assert not isinstance(caught.value, ParcelMismatch)
