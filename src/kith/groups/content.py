"""What a sealed group message holds, and what an action may do (pure).

The plaintext of a ``Sealed`` group message (:mod:`kith.groups.frames`) is a
:class:`~kith.groups.frames.Post` (a msgpack array: a new message) or an
:data:`Action` on an earlier message (a msgpack map tagged by ``t``): an
:class:`Edit` or :class:`Delete` of the author's own message, or a
:class:`React` by any member. They are sealed with the sender's chain, so every
member gets the same action; the bounds are those of 1:1 chat
(:func:`kith.chat.frames.check_text`, ``check_id``, ``check_emoji``), and
:func:`check_action` holds the rules of :mod:`kith.chat.apply` for many senders.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

import msgspec

from kith.chat.errors import InvalidMessage
from kith.chat.frames import check_emoji, check_id, check_text
from kith.groups.errors import InvalidChange, RefusedAction
from kith.groups.frames import Post, decode_post

__all__ = [
    "Action",
    "Content",
    "Delete",
    "Edit",
    "React",
    "Target",
    "check_action",
    "decode_content",
    "encode_content",
]


class Edit(msgspec.Struct, frozen=True, tag_field="t", tag="edit"):
    """Replace the text of the sender's own message ``target``."""

    target: str
    text: str
    edited_at: int


class Delete(msgspec.Struct, frozen=True, tag_field="t", tag="delete"):
    """Delete the sender's own message ``target`` (its text and reactions are dropped)."""

    target: str
    deleted_at: int


class React(msgspec.Struct, frozen=True, tag_field="t", tag="react"):
    """Add or remove the sender's ``emoji`` on message ``target`` (idempotent)."""

    target: str
    emoji: str
    action: Literal["add", "remove"]


Action: TypeAlias = Edit | Delete | React
Content: TypeAlias = Post | Action
_ACTION: Final = msgspec.msgpack.Decoder(Action)
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


@dataclass(frozen=True, slots=True)
class Target:
    """What an action needs to know of the message it names."""

    sender_id: str
    deleted: bool


def encode_content(content: Content) -> bytes:
    return msgspec.msgpack.encode(content)


def _is_map(first: int) -> bool:
    return 0x80 <= first <= 0x8F or first in (0xDE, 0xDF)


def decode_content(data: bytes) -> Content:
    """Decode and bound-check the plaintext of a sealed group message.

    Raises:
        InvalidChange: undecodable, or a field out of bounds.
    """
    if not data or not _is_map(data[0]):
        return decode_post(data)
    try:
        action = _ACTION.decode(data)
        check_id(action.target)
        if isinstance(action, Edit):
            check_text(action.text)
        elif isinstance(action, React):
            check_emoji(action.emoji)
    except _UNDECODABLE:
        raise InvalidChange("a group action that cannot be decoded") from None
    except InvalidMessage as exc:
        raise InvalidChange(f"a malformed group action: {exc.message}") from None
    return action


def check_action(action: Action, sender_id: str, target: Target | None) -> None:
    """Raise :class:`RefusedAction` unless ``sender_id`` may do ``action`` to ``target``
    (the message it names; None: unknown): only the author edits or deletes, a
    deleted message takes no edit and no reaction."""
    if target is None:
        raise RefusedAction("the action names an unknown message", code="unknown_message")
    if isinstance(action, Edit | Delete) and target.sender_id != sender_id:
        raise RefusedAction("only the author may edit or delete a message")
    if target.deleted and not isinstance(action, Delete):
        raise RefusedAction("a deleted message cannot be edited or reacted to")
