"""Group frames: told apart from file and call frames by their mark, bad ones refused."""

from __future__ import annotations

import pytest

from kith.calls.frames import is_call_frame
from kith.files.frames import FILE_FRAME_MARK
from kith.groups.errors import InvalidChange
from kith.groups.frames import (
    Changes,
    Key,
    Post,
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
