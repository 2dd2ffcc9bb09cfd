"""Group frames: told apart from file and call frames by their mark, bad ones refused."""

from __future__ import annotations

import pytest

from kith.calls.frames import is_call_frame
from kith.files.frames import FILE_FRAME_MARK
from kith.groups.errors import InvalidChange
from kith.groups.frames import (
    Ack,
    Changes,
    Key,
    Post,
    Queued,
    Resend,
    Sealed,
    decode_group_frame,
    decode_post,
    encode_group_frame,
    encode_post,
    is_group_frame,
)


@pytest.mark.parametrize("frame", [Changes([b"x"]), Key(b"k" * 10), Sealed(b"s")])
def test_frames_round_trip_and_carry_their_own_mark(frame: Changes | Key | Sealed) -> None:
    data = encode_group_frame(frame)
    assert is_group_frame(data)
    assert data[:1] == FILE_FRAME_MARK  # the peer routes groups before files
    assert not is_call_frame(data)
    assert decode_group_frame(data) == frame


def test_bad_frames_are_refused() -> None:
    assert not is_group_frame(FILE_FRAME_MARK + b"\x81")
    with pytest.raises(InvalidChange):
        decode_group_frame(b"\xc1\x67\xff")
    with pytest.raises(InvalidChange):
        decode_group_frame(encode_group_frame(Changes([])))
    with pytest.raises(InvalidChange):
        decode_group_frame(b"\x81\xa1t\xa4text")


def test_posts_round_trip_and_bad_posts_are_refused() -> None:
    post = Post("a" * 32, "hello", 1_700_000_000_000)
    assert decode_post(encode_post(post)) == post
    with pytest.raises(InvalidChange):
        decode_post(encode_post(Post("short", "hello", 1)))
    with pytest.raises(InvalidChange):
        decode_post(encode_post(Post("a" * 32, "", 1)))
    with pytest.raises(InvalidChange):
        decode_post(b"\x00")


def test_queued_frames_and_acks_carry_a_positive_sequence_number() -> None:
    inner = encode_group_frame(Sealed(b"s"))
    assert decode_group_frame(encode_group_frame(Queued(1, inner))) == Queued(1, inner)
    assert decode_group_frame(encode_group_frame(Ack(7))) == Ack(7)
    with pytest.raises(InvalidChange):
        decode_group_frame(encode_group_frame(Ack(0)))
    with pytest.raises(InvalidChange):
        decode_group_frame(encode_group_frame(Queued(-1, inner)))


def test_a_resend_request_carries_a_nonce_of_its_size() -> None:
    assert decode_group_frame(encode_group_frame(Resend(b"n" * 8))) == Resend(b"n" * 8)
    with pytest.raises(InvalidChange):
        decode_group_frame(encode_group_frame(Resend(b"n" * 7)))
