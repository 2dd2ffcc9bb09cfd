"""Frame encoding: the documented byte layout and validation of every field."""

from __future__ import annotations

import msgspec
import pytest

from kith.sessions import Finish, Frame, Init, MalformedFrame, Message, Response, decode_frame
from kith.sessions.frames import MAX_COUNTER, MAX_FRAME_SIZE, encode_frame

KEY, SIG, SID = b"k" * 32, b"s" * 64, b"i" * 16
FRAMES: list[Frame] = [
    Init(1, KEY, KEY, KEY, SIG),
    Response(1, KEY, KEY, SIG, KEY),
    Finish(1, KEY),
    Message(SID, KEY, 0, 0, b"c" * 16),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_every_frame_round_trips(frame: Frame) -> None:
    assert decode_frame(encode_frame(frame)) == frame


def test_init_layout_matches_the_document() -> None:
    data = encode_frame(FRAMES[0])
    assert data[:5] == bytes.fromhex("960101c420")
    assert len(data) == 171


def test_message_layout_matches_the_document() -> None:
    data = encode_frame(FRAMES[3])
    assert data[:4] == bytes.fromhex("9604c410")
    assert len(data) == 74


@pytest.mark.parametrize(
    "fields",
    [
        [1, 1, KEY[:31], KEY, KEY, SIG],
        [1, 1, KEY, KEY, KEY, SIG[:63]],
        [2, 1, KEY, KEY, SIG, KEY + b"x"],
        [3, 1, b""],
        [4, SID[:15], KEY, 0, 0, b"c" * 16],
        [4, SID, KEY, -1, 0, b"c" * 16],
        [4, SID, KEY, 0, MAX_COUNTER + 1, b"c" * 16],
        [4, SID, KEY, 0, 0, b"c" * 15],
        [9, 1, KEY],
        [1, "one", KEY, KEY, KEY, SIG],
    ],
    ids=[
        "short-identity",
        "short-signature",
        "long-confirm",
        "empty-confirm",
        "short-session-id",
        "negative-counter",
        "counter-overflow",
        "short-ciphertext",
        "unknown-tag",
        "wrong-type",
    ],
)
def test_invalid_fields_are_malformed(fields: list[object]) -> None:
    with pytest.raises(MalformedFrame):
        decode_frame(msgspec.msgpack.encode(fields))


def test_oversized_frame_is_malformed() -> None:
    with pytest.raises(MalformedFrame):
        decode_frame(bytes(MAX_FRAME_SIZE + 1))
