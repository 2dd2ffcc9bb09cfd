"""Group frames: the plaintext of one pairwise session message about a group (pure).

Group frames travel inside the pair's end-to-end encrypted session, like chat,
file and call frames, so the server sees nothing it can tell from 1:1 traffic.
They start with :data:`GROUP_FRAME_MARK` (``0xC1 0x67``): ``0xC1`` is never the
first byte of msgpack, and file and call frames follow it with a msgpack map or
``0xCA``; the rest is a msgpack map tagged by ``t``:

| frame | meaning |
|---|---|
| ``Changes`` | the group's whole log of signed changes (a member converges from it) |
| ``Key`` | the sender's chain in the group (:class:`~kith.groups.sender_keys.SenderKey`) |
| ``Sealed`` | one group message sealed with the sender's chain |
| ``Queued`` | one of the above, number ``seq`` of the frames queued for this member |
| ``Ack`` | the member handled every queued frame up to ``seq`` (drop them) |

Inside a ``Sealed`` message the plaintext is a :class:`Post` (message ID, text, time).
"""

from __future__ import annotations

from typing import Final, TypeAlias

import msgspec

from kith.groups.errors import InvalidChange

__all__ = [
    "GROUP_FRAME_MARK",
    "MAX_LOG",
    "MAX_TEXT",
    "Ack",
    "Changes",
    "GroupFrame",
    "Key",
    "Post",
    "Queued",
    "Sealed",
    "decode_group_frame",
    "decode_post",
    "encode_group_frame",
    "encode_post",
    "is_group_frame",
]

GROUP_FRAME_MARK: Final = b"\xc1\x67"
MAX_LOG: Final = 10_000
"""Most changes a group's log may hold."""
MAX_TEXT: Final = 16_000
"""Longest group message text, in characters."""


class Changes(msgspec.Struct, frozen=True, tag_field="t", tag="changes"):
    log: list[bytes]


class Key(msgspec.Struct, frozen=True, tag_field="t", tag="key"):
    sender_key: bytes


class Sealed(msgspec.Struct, frozen=True, tag_field="t", tag="sealed"):
    message: bytes


class Queued(msgspec.Struct, frozen=True, tag_field="t", tag="queued"):
    seq: int
    frame: bytes


class Ack(msgspec.Struct, frozen=True, tag_field="t", tag="ack"):
    seq: int


class Post(msgspec.Struct, frozen=True, array_like=True):
    id: str
    text: str
    sent_at: int


GroupFrame: TypeAlias = Changes | Key | Sealed | Queued | Ack
_DECODER: Final = msgspec.msgpack.Decoder(GroupFrame)
_POST: Final = msgspec.msgpack.Decoder(Post)


def is_group_frame(plaintext: bytes) -> bool:
    """Whether a session plaintext is a group frame."""
    return plaintext[:2] == GROUP_FRAME_MARK


def encode_group_frame(frame: GroupFrame) -> bytes:
    return GROUP_FRAME_MARK + msgspec.msgpack.encode(frame)


def decode_group_frame(plaintext: bytes) -> GroupFrame:
    if not is_group_frame(plaintext):
        raise InvalidChange("not a group frame")
    try:
        frame = _DECODER.decode(plaintext[2:])
    except msgspec.DecodeError:
        raise InvalidChange("a group frame that cannot be decoded") from None
    if isinstance(frame, Changes) and not 0 < len(frame.log) <= MAX_LOG:
        raise InvalidChange("a group log that is empty or too long")
    if isinstance(frame, (Queued, Ack)) and frame.seq < 1:
        raise InvalidChange("a group frame with a bad sequence number")
    return frame


def encode_post(post: Post) -> bytes:
    return msgspec.msgpack.encode(post)


def decode_post(data: bytes) -> Post:
    try:
        post = _POST.decode(data)
    except msgspec.DecodeError:
        raise InvalidChange("a group message that cannot be decoded") from None
    if len(post.id) != 32 or not post.text or len(post.text) > MAX_TEXT:
        raise InvalidChange("a malformed group message")
    return post
