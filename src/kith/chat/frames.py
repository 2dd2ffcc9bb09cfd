"""Chat frames: the plaintext inside one end-to-end encrypted session message (pure).

A msgpack map tagged by ``t``. *Sequenced* frames (``Text``, ``Edit``,
``Delete``, ``Reaction``) carry the sender's per-conversation sequence number
``q`` and an ID chosen by the sender; they wait in the outbox until a
``Receipt(delivered)`` names their ID, and the receiver applies them exactly
once, in ``q`` order. ``Receipt`` and ``Typing`` are ephemeral.

``MailboxKey`` is not a chat frame: it announces the sender's current
mailbox key for this contact (``docs/p2p.md``, "Offline mailbox"); the node
stores it and never hands it to the conversation (:func:`is_mailbox_key_frame`).
"""

from __future__ import annotations

import re
from typing import Final, Literal, TypeAlias

import msgspec

from kith.chat.errors import InvalidMessage, MalformedChatFrame

__all__ = [
    "MAX_EMOJI_LENGTH",
    "MAX_RECEIPT_IDS",
    "MAX_TEXT_LENGTH",
    "ChatFrame",
    "Delete",
    "Edit",
    "MailboxKey",
    "Reaction",
    "Receipt",
    "SequencedFrame",
    "Text",
    "Typing",
    "check_emoji",
    "check_id",
    "check_text",
    "decode_chat_frame",
    "decode_mailbox_key",
    "encode_chat_frame",
    "encode_mailbox_key",
    "is_mailbox_key_frame",
]

MAX_TEXT_LENGTH: Final = 16_000
"""Longest message text, in characters."""
MAX_EMOJI_LENGTH: Final = 32
MAX_RECEIPT_IDS: Final = 1_000
MAX_SEQ: Final = 2**63 - 1
_ID = re.compile(r"[0-9a-f]{32}")


class Text(msgspec.Struct, frozen=True, tag_field="t", tag="text", omit_defaults=True):
    """A new message; ``reply_to`` names the message it answers (absent for none, so
    a frame without a reply is the same bytes as before replies existed)."""

    id: str
    q: int
    text: str
    sent_at: int
    reply_to: str | None = None


class Edit(msgspec.Struct, frozen=True, tag_field="t", tag="edit"):
    """Replace the text of the sender's own message ``target``."""

    id: str
    q: int
    target: str
    text: str
    edited_at: int


class Delete(msgspec.Struct, frozen=True, tag_field="t", tag="delete"):
    """Delete the sender's own message ``target`` (its text is dropped)."""

    id: str
    q: int
    target: str
    deleted_at: int


class Reaction(msgspec.Struct, frozen=True, tag_field="t", tag="reaction"):
    """Add or remove the sender's ``emoji`` on message ``target`` (idempotent)."""

    id: str
    q: int
    target: str
    emoji: str
    action: Literal["add", "remove"]


class Receipt(msgspec.Struct, frozen=True, tag_field="t", tag="receipt"):
    """The sequenced frames ``ids`` were stored (``delivered``) or messages seen (``read``)."""

    kind: Literal["delivered", "read"]
    ids: list[str]


class Typing(msgspec.Struct, frozen=True, tag_field="t", tag="typing"):
    """The sender started (``active``) or stopped typing."""

    active: bool


class MailboxKey(msgspec.Struct, frozen=True, tag_field="t", tag="mailbox_key"):
    """The sender's current mailbox public key for the receiver (an X-Wing key,
    checked by the node): seal mailbox items for the sender to it."""

    key: bytes


SequencedFrame: TypeAlias = Text | Edit | Delete | Reaction
ChatFrame: TypeAlias = Text | Edit | Delete | Reaction | Receipt | Typing

_DECODER: Final = msgspec.msgpack.Decoder(ChatFrame)
_ENCODER: Final = msgspec.msgpack.Encoder()
# What msgspec raises on garbage: DecodeError (ValidationError included),
# UnicodeError for invalid UTF-8, RecursionError for deep nesting.
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


def encode_chat_frame(frame: ChatFrame) -> bytes:
    """Encode a chat frame for the secure channel."""
    return _ENCODER.encode(frame)


def decode_chat_frame(data: bytes) -> ChatFrame:
    """Decode and validate a chat frame from the peer.

    Raises:
        MalformedChatFrame: undecodable, or a field out of bounds.
    """
    try:
        frame: ChatFrame = _DECODER.decode(data)
        _validate(frame)
    except (*_UNDECODABLE, InvalidMessage) as exc:
        raise MalformedChatFrame(f"the chat frame is invalid: {_reason(exc)}") from None
    return frame


_MAILBOX_KEY_DECODER: Final = msgspec.msgpack.Decoder(MailboxKey)
_MAILBOX_KEY_PREFIX: Final = _ENCODER.encode(MailboxKey(b""))[:-2]  # up to the key's bytes


def encode_mailbox_key(public: bytes) -> bytes:
    """Encode a mailbox key announcement for the secure channel."""
    return _ENCODER.encode(MailboxKey(public))


def is_mailbox_key_frame(data: bytes) -> bool:
    """Whether a decrypted frame is a mailbox key announcement (as we encode
    them), not a chat frame."""
    return data.startswith(_MAILBOX_KEY_PREFIX)


def decode_mailbox_key(data: bytes) -> MailboxKey:
    """Decode a mailbox key announcement (the key itself is checked by the node).

    Raises:
        MalformedChatFrame: undecodable.
    """
    try:
        return _MAILBOX_KEY_DECODER.decode(data)
    except _UNDECODABLE:
        raise MalformedChatFrame("the mailbox key announcement does not decode") from None


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, InvalidMessage) else "does not decode"


def _validate(frame: ChatFrame) -> None:
    if isinstance(frame, Receipt):
        if len(frame.ids) > MAX_RECEIPT_IDS:
            raise InvalidMessage("too many IDs in one receipt")
        for each in frame.ids:
            check_id(each)
        return
    if isinstance(frame, Typing):
        return
    check_id(frame.id)
    if not 1 <= frame.q <= MAX_SEQ:
        raise InvalidMessage("sequence number out of range")
    if isinstance(frame, Text | Edit):
        check_text(frame.text)
    if isinstance(frame, Text) and frame.reply_to is not None:
        check_id(frame.reply_to)
    if isinstance(frame, Edit | Delete | Reaction):
        check_id(frame.target)
    if isinstance(frame, Reaction):
        check_emoji(frame.emoji)


def check_id(value: str) -> None:
    """Raise :class:`InvalidMessage` unless ``value`` is 32 lowercase hex digits."""
    if not _ID.fullmatch(value):
        raise InvalidMessage("a message ID is 32 lowercase hex digits")


def check_text(value: str) -> None:
    """Raise :class:`InvalidMessage` for an empty or too long text."""
    if not value or len(value) > MAX_TEXT_LENGTH:
        raise InvalidMessage(f"a message is 1 to {MAX_TEXT_LENGTH} characters")


def check_emoji(value: str) -> None:
    """Raise :class:`InvalidMessage` for an empty or too long reaction."""
    if not value or len(value) > MAX_EMOJI_LENGTH or not value.isprintable():
        raise InvalidMessage(f"a reaction is 1 to {MAX_EMOJI_LENGTH} printable characters")
