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
| ``Receipt`` | the sender has (``delivered``) or read (``read``) our messages ``ids`` |
| ``Typing`` | the sender started (``active``) or stopped typing in ``group`` |
| ``Resend`` | the sender dropped our frames over its limit: answer alike, then resend |

Inside a ``Sealed`` message the plaintext is a :class:`Post` (message ID, text, time,
and for a file message its :class:`~kith.groups.files.GroupFile`)
or an action on an earlier message (:mod:`kith.groups.content`). A ``Receipt``
goes to the message's author only, in the pair session (queued like the others):
nobody else learns who read what, and a message costs one receipt per member
rather than one per member pair. ``Typing`` goes in the pair session to each
member with an open session, never queued or stored. ``Resend`` (a random ``nonce``)
goes in the pair session only: the member who dropped frames over its rate limit
asks, takes none of our queued frames until our answer (the same ``Resend``), and
we send every frame still queued for it after the answer, so they come in order
(docs/groups.md, "Rate limit").
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

import msgspec

from kith.chat.errors import InvalidMessage
from kith.chat.frames import MAX_RECEIPT_IDS, check_id
from kith.groups.errors import InvalidChange
from kith.groups.files import GroupFile, check_group_file
from kith.groups.membership import GROUP_ID_SIZE

__all__ = [
    "GROUP_FRAME_MARK",
    "MAX_LOG",
    "MAX_TEXT",
    "RESEND_NONCE_SIZE",
    "Ack",
    "Changes",
    "GroupFrame",
    "Key",
    "Post",
    "Queued",
    "Receipt",
    "Resend",
    "Sealed",
    "Typing",
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
RESEND_NONCE_SIZE: Final = 8
"""Bytes of a ``Resend``'s nonce (random, so an answer is told from a request)."""


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


class Receipt(msgspec.Struct, frozen=True, tag_field="t", tag="receipt"):
    group: bytes
    kind: Literal["delivered", "read"]
    ids: list[str]


class Typing(msgspec.Struct, frozen=True, tag_field="t", tag="typing"):
    group: bytes
    active: bool


class Resend(msgspec.Struct, frozen=True, tag_field="t", tag="resend"):
    nonce: bytes


class Post(msgspec.Struct, frozen=True, array_like=True, omit_defaults=True):
    id: str
    text: str
    sent_at: int
    file: GroupFile | None = None
    """Set on a file message (:mod:`kith.groups.files`); a text post encodes as before."""


GroupFrame: TypeAlias = Changes | Key | Sealed | Queued | Ack | Receipt | Typing | Resend
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
    if isinstance(frame, Resend) and len(frame.nonce) != RESEND_NONCE_SIZE:
        raise InvalidChange("a resend request with a bad nonce")
    if isinstance(frame, (Receipt, Typing)) and len(frame.group) != GROUP_ID_SIZE:
        raise InvalidChange("a group frame with a bad group ID")
    if isinstance(frame, Receipt):
        if not 0 < len(frame.ids) <= MAX_RECEIPT_IDS:
            raise InvalidChange("a receipt with no IDs or too many")
        try:
            for each in frame.ids:
                check_id(each)
        except InvalidMessage:
            raise InvalidChange("a receipt with a malformed message ID") from None
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
    if post.file is not None and (problem := check_group_file(post.file)) is not None:
        raise InvalidChange(f"a malformed group file: {problem}")
    return post
