"""What a sequenced frame does to the history (pure functions).

Each takes the frame, who sent it and the message it names (None if
unknown) and returns the message to store, ``None`` when nothing changes
(idempotent repeats), or raises :class:`Refused` for what is not allowed.
"""

from __future__ import annotations

from dataclasses import replace

from kith.chat.frames import Delete, Edit, Reaction, SequencedFrame, Text
from kith.chat.model import Message, MessageState, Party

__all__ = ["Refused", "apply_frame"]


class Refused(Exception):
    """The frame asks for something not allowed; ``args[0]`` says what."""


def apply_frame(frame: SequencedFrame, sender: Party, target: Message | None) -> Message | None:
    """The effect of ``frame`` from ``sender`` on ``target`` (the message it names).

    Raises:
        Refused: editing or deleting someone else's or an unknown message,
            or reusing a message ID.
    """
    if isinstance(frame, Text):
        return _text(frame, sender, target)
    if target is None:
        raise Refused("the frame names an unknown message")
    if isinstance(frame, Edit):
        return _edit(frame, sender, target)
    if isinstance(frame, Delete):
        return _delete(sender, target)
    return _react(frame, sender, target)


def _text(frame: Text, sender: Party, existing: Message | None) -> Message | None:
    if existing is not None:
        raise Refused("the message ID is already in use")
    state = MessageState.RECEIVED if sender is Party.PEER else MessageState.QUEUED
    return Message(
        frame.id, sender, frame.text, frame.sent_at, state, frame.q, reply_to=frame.reply_to
    )


def _own(sender: Party, target: Message) -> None:
    if target.sender is not sender:
        raise Refused("only the author may edit or delete a message")


def _edit(frame: Edit, sender: Party, target: Message) -> Message | None:
    _own(sender, target)
    if target.deleted:
        raise Refused("a deleted message cannot be edited")
    if target.text == frame.text and target.edited_at == frame.edited_at:
        return None
    return replace(target, text=frame.text, edited_at=frame.edited_at)


def _delete(sender: Party, target: Message) -> Message | None:
    _own(sender, target)
    if target.deleted:
        return None
    return replace(target, text="", deleted=True, reactions=frozenset())


def _react(frame: Reaction, sender: Party, target: Message) -> Message | None:
    if target.deleted:
        raise Refused("a deleted message takes no reactions")
    pair = (sender, frame.emoji)
    present = pair in target.reactions
    if (frame.action == "add") == present:
        return None
    changed = target.reactions | {pair} if frame.action == "add" else target.reactions - {pair}
    return replace(target, reactions=frozenset(changed))
