"""File frames round-trip, and anything else is refused with a clear error."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.chat import Text, encode_chat_frame
from kith.files import (
    CHUNK_SIZE,
    Accept,
    Ack,
    Cancel,
    Chunk,
    Done,
    FileFrame,
    MalformedFileFrame,
    Offer,
    decode_file_frame,
    encode_file_frame,
    is_file_frame,
)
from kith.files.frames import FILE_FRAME_MARK, MAX_FILE_SIZE, chunk_count

ID = "0123456789abcdef" * 2
SHA = "ab" * 32
OFFER = Offer(ID, "photo.jpg", 200_000, SHA, CHUNK_SIZE, 1_700_000_000, "look")

GOOD: list[FileFrame] = [
    OFFER,
    Offer(ID, "empty", 0, SHA, CHUNK_SIZE, 0),
    Accept(ID, 0),
    Accept(ID, 3),
    Chunk(ID, 0, b"x" * CHUNK_SIZE),
    Chunk(ID, 3, b"y"),
    Ack(ID, 4),
    Done(ID),
    Cancel(ID, "cancelled"),
    Cancel(ID, "hash_mismatch"),
]


@pytest.mark.parametrize("frame", GOOD, ids=lambda f: type(f).__name__)
def test_a_file_frame_round_trips(frame: FileFrame) -> None:
    data = encode_file_frame(frame)
    assert is_file_frame(data)
    assert decode_file_frame(data) == frame


def test_a_chat_frame_is_not_a_file_frame() -> None:
    chat = encode_chat_frame(Text(ID, 1, "hi", 0))
    assert not is_file_frame(chat)
    with pytest.raises(MalformedFileFrame, match="not a file frame"):
        decode_file_frame(chat)


def _raw(fields: object) -> bytes:
    return FILE_FRAME_MARK + msgspec.msgpack.encode(fields)


BAD = {
    "empty": b"",
    "mark only": FILE_FRAME_MARK,
    "garbage": FILE_FRAME_MARK + b"\xff\x00garbage",
    "unknown kind": _raw({"t": "delete", "id": ID}),
    "short id": _raw({"t": "done", "id": "abc"}),
    "upper-case id": _raw({"t": "done", "id": ID.upper()}),
    "negative size": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "a",
            "size": -1,
            "sha256": SHA,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    ),
    "huge size": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "a",
            "size": MAX_FILE_SIZE + 1,
            "sha256": SHA,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    ),
    "other chunk size": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "a",
            "size": 1,
            "sha256": SHA,
            "chunk_size": 1024,
            "sent_at": 0,
        }
    ),
    "bad sha": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "a",
            "size": 1,
            "sha256": "zz" * 32,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    ),
    "empty name": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "",
            "size": 1,
            "sha256": SHA,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    ),
    "name too long": _raw(
        {
            "t": "offer",
            "id": ID,
            "name": "a" * 2000,
            "size": 1,
            "sha256": SHA,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    ),
    "missing field": _raw({"t": "accept", "id": ID}),
    "negative have": _raw({"t": "ack", "id": ID, "have": -1}),
    "have too large": _raw({"t": "ack", "id": ID, "have": chunk_count(MAX_FILE_SIZE) + 1}),
    "empty chunk": _raw({"t": "chunk", "id": ID, "index": 0, "data": b""}),
    "oversized chunk": _raw({"t": "chunk", "id": ID, "index": 0, "data": b"x" * (CHUNK_SIZE + 1)}),
    "negative index": _raw({"t": "chunk", "id": ID, "index": -1, "data": b"x"}),
    "text as data": _raw({"t": "chunk", "id": ID, "index": 0, "data": "x"}),
    "unknown reason": _raw({"t": "cancel", "id": ID, "reason": "because"}),
    "not a map": _raw([1, 2, 3]),
}


@pytest.mark.parametrize("data", BAD.values(), ids=BAD.keys())
def test_a_bad_file_frame_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedFileFrame) as caught:
        decode_file_frame(data)
    assert caught.value.code == "malformed_file_frame"
    assert caught.value.message.startswith("the file frame is invalid: ")


def test_the_error_never_repeats_the_frame() -> None:
    secret_name = "secret-plan-name"
    data = _raw(
        {
            "t": "offer",
            "id": ID,
            "name": secret_name,
            "size": -5,
            "sha256": SHA,
            "chunk_size": CHUNK_SIZE,
            "sent_at": 0,
        }
    )
    with pytest.raises(MalformedFileFrame) as caught:
        decode_file_frame(data)
    assert secret_name not in str(caught.value)


@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_malformed(data: bytes) -> None:
    try:
        frame = decode_file_frame(FILE_FRAME_MARK + data)
    except MalformedFileFrame:
        return
    assert decode_file_frame(encode_file_frame(frame)) == frame


@given(
    st.builds(
        Chunk,
        st.just(ID),
        st.integers(0, chunk_count(MAX_FILE_SIZE) - 1),
        st.binary(min_size=1, max_size=2048),
    )
    | st.builds(Ack, st.just(ID), st.integers(0, chunk_count(MAX_FILE_SIZE)))
    | st.builds(
        Offer,
        st.just(ID),
        st.text(min_size=1, max_size=50),
        st.integers(0, MAX_FILE_SIZE),
        st.just(SHA),
        st.just(CHUNK_SIZE),
        st.integers(0, 2**40),
    )
)
def test_every_valid_frame_round_trips(frame: FileFrame) -> None:
    assert decode_file_frame(encode_file_frame(frame)) == frame


@pytest.mark.parametrize(("size", "chunks"), [(0, 0), (1, 1), (CHUNK_SIZE, 1), (CHUNK_SIZE + 1, 2)])
def test_chunk_count(size: int, chunks: int) -> None:
    assert chunk_count(size) == chunks
