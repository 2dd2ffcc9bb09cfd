"""A group post that carries a file, and each member's transfer ID (pure)."""

from __future__ import annotations

import pytest

from kith.groups.errors import InvalidChange
from kith.groups.files import GroupFile, transfer_id
from kith.groups.frames import Post, decode_post, encode_post

MID = "ab" * 16
SHA = "cd" * 32


def test_a_text_post_encodes_as_before_the_file_field() -> None:
    assert encode_post(Post(MID, "hi", 1)) == encode_post(Post(MID, "hi", 1, None))
    assert decode_post(encode_post(Post(MID, "hi", 1))).file is None


def test_a_file_post_round_trips() -> None:
    post = Post(MID, "holiday.jpg", 7, GroupFile("holiday.jpg", 12, SHA))
    assert decode_post(encode_post(post)) == post


@pytest.mark.parametrize(
    ("file", "words"),
    [
        (GroupFile("", 1, SHA), "file name"),
        (GroupFile("x", -1, SHA), "1 TiB"),
        (GroupFile("x", 2**40 + 1, SHA), "1 TiB"),
        (GroupFile("x", 1, "CD" * 32), "SHA-256"),
        (GroupFile("x", 1, "cd" * 31), "SHA-256"),
    ],
)
def test_a_file_post_out_of_bounds_is_refused(file: GroupFile, words: str) -> None:
    with pytest.raises(InvalidChange, match=words):
        decode_post(encode_post(Post(MID, "x", 1, file)))


def test_each_member_has_its_own_transfer_id() -> None:
    a, b = transfer_id(MID, "sender", "alice"), transfer_id(MID, "sender", "bob")
    assert a != b
    assert len(a) == 32
    assert set(a) <= set("0123456789abcdef")
    assert a == transfer_id(MID, "sender", "alice")
    assert a != transfer_id(MID, "other", "alice")
