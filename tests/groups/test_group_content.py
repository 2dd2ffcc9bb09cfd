"""Group actions and the receipt and typing frames: good ones round-trip, bad ones refused."""

from __future__ import annotations

import msgspec
import pytest

from kith.groups.content import (
    Delete,
    Edit,
    React,
    Target,
    check_action,
    decode_content,
    encode_content,
)
from kith.groups.errors import InvalidChange, RefusedAction
from kith.groups.frames import (
    Post,
    Receipt,
    Typing,
    decode_group_frame,
    encode_group_frame,
)

MID = "ab" * 16
GID = b"g" * 16


@pytest.mark.parametrize(
    "content",
    [
        Post(MID, "hello", 5),
        Edit(MID, "hello again", 6),
        Delete(MID, 7),
        React(MID, "👍", "add"),
        React(MID, "👍", "remove"),
    ],
)
def test_contents_round_trip(content: Post | Edit | Delete | React) -> None:
    assert decode_content(encode_content(content)) == content


@pytest.mark.parametrize(
    "data",
    [
        encode_content(Edit("nothex", "x", 1)),
        encode_content(Edit(MID, "", 1)),
        encode_content(Edit(MID, "x" * 16_001, 1)),
        encode_content(React(MID, "", "add")),
        encode_content(React(MID, "x" * 33, "add")),
        encode_content(React(MID, "\n", "add")),
        msgspec.msgpack.encode({"t": "react", "target": MID, "emoji": "x", "action": "toggle"}),
        msgspec.msgpack.encode({"t": "pin", "target": MID}),
        msgspec.msgpack.encode({"t": "delete"}),
        b"\x81",
        b"",
    ],
)
def test_bad_contents_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidChange):
        decode_content(data)


def test_the_author_may_edit_and_delete_and_anyone_may_react() -> None:
    mine = Target("alice", deleted=False)
    check_action(Edit(MID, "x", 1), "alice", mine)
    check_action(Delete(MID, 1), "alice", mine)
    check_action(React(MID, "x", "add"), "bob", mine)
    check_action(Delete(MID, 2), "alice", Target("alice", deleted=True))  # a repeat: no-op


@pytest.mark.parametrize(
    ("action", "sender", "target"),
    [
        (Edit(MID, "x", 1), "bob", Target("alice", deleted=False)),
        (Delete(MID, 1), "bob", Target("alice", deleted=False)),
        (Edit(MID, "x", 1), "alice", Target("alice", deleted=True)),
        (React(MID, "x", "add"), "bob", Target("alice", deleted=True)),
        (React(MID, "x", "add"), "bob", None),
    ],
)
def test_actions_not_allowed_are_refused(
    action: Edit | Delete | React, sender: str, target: Target | None
) -> None:
    with pytest.raises(RefusedAction):
        check_action(action, sender, target)


@pytest.mark.parametrize(
    "frame",
    [Receipt(GID, "delivered", [MID]), Receipt(GID, "read", [MID, "cd" * 16]), Typing(GID, True)],
)
def test_receipt_and_typing_frames_round_trip(frame: Receipt | Typing) -> None:
    assert decode_group_frame(encode_group_frame(frame)) == frame


@pytest.mark.parametrize(
    "frame",
    [
        Receipt(GID, "delivered", []),
        Receipt(GID, "read", ["x"]),
        Receipt(GID, "read", [MID] * 1001),
        Receipt(b"short", "read", [MID]),
        Typing(b"", False),
    ],
)
def test_bad_receipt_and_typing_frames_are_refused(frame: Receipt | Typing) -> None:
    with pytest.raises(InvalidChange):
        decode_group_frame(encode_group_frame(frame))


def test_a_receipt_of_an_unknown_kind_is_refused() -> None:
    data = encode_group_frame(Receipt(GID, "read", [MID])).replace(b"read", b"seen")
    with pytest.raises(InvalidChange):
        decode_group_frame(data)
