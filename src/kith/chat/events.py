"""Typed events a :class:`~kith.chat.conversation.Conversation` returns.

The node executes them in order. Persisting events (``StoreMessage``,
``StoreOutbox``, ``DropOutbox``, ``StoreCursor``) from one call belong in one
transaction, committed before any ``SendFrame`` of the same call goes out:
that is what makes "stored before acknowledged" hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kith.chat.frames import ChatFrame, Receipt, encode_chat_frame
from kith.chat.model import Message, MessageState, OutboxEntry

__all__ = [
    "ConversationEvent",
    "DropOutbox",
    "FrameRejected",
    "MessageStateChanged",
    "OpenLink",
    "SendFrame",
    "StoreCursor",
    "StoreMessage",
    "StoreOutbox",
    "TypingChanged",
    "moves_state_only",
    "must_reach_disk",
]


@dataclass(frozen=True, slots=True)
class StoreMessage:
    """Insert or replace this message (same ID) in the history."""

    message: Message


@dataclass(frozen=True, slots=True)
class StoreOutbox:
    """Persist this outbox entry."""

    entry: OutboxEntry


@dataclass(frozen=True, slots=True)
class DropOutbox:
    """Remove the outbox entry with this ID: the peer stored it."""

    id: str


@dataclass(frozen=True, slots=True)
class StoreCursor:
    """Persist the next sequence number expected from the peer."""

    next_seq: int


@dataclass(frozen=True, slots=True)
class SendFrame:
    """Encrypt and send this encoded chat frame on the open channel.

    ``delivered`` repeats the IDs of a delivery receipt (None for any other
    frame), so the node can merge receipts without decoding its own frames.
    """

    data: bytes
    delivered: tuple[str, ...] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, frame: ChatFrame) -> SendFrame:
        """The event that sends ``frame``."""
        if isinstance(frame, Receipt) and frame.kind == "delivered":
            return cls(encode_chat_frame(frame), tuple(frame.ids))
        return cls(encode_chat_frame(frame))

    def __repr__(self) -> str:
        return f"SendFrame(<{len(self.data)} bytes>)"


@dataclass(frozen=True, slots=True)
class MessageStateChanged:
    """Tell the user interface a message changed state."""

    id: str
    state: MessageState


@dataclass(frozen=True, slots=True)
class TypingChanged:
    """The contact started or stopped typing (never stored)."""

    active: bool


@dataclass(frozen=True, slots=True)
class OpenLink:
    """There is something to send and the contact is online: connect."""


@dataclass(frozen=True, slots=True)
class FrameRejected:
    """An authentic frame that asked for something not allowed (log it; it
    still counts as applied, so the sender's outbox clears)."""

    id: str
    reason: str


ConversationEvent = (
    StoreMessage
    | StoreOutbox
    | DropOutbox
    | StoreCursor
    | SendFrame
    | MessageStateChanged
    | TypingChanged
    | OpenLink
    | FrameRejected
)


def moves_state_only(events: Sequence[ConversationEvent], index: int) -> bool:
    """Whether the ``StoreMessage`` at ``index`` only moves the state of a stored
    message (the conversation follows those with ``MessageStateChanged``)."""
    following = events[index + 1] if index + 1 < len(events) else None
    event = events[index]
    return (
        isinstance(following, MessageStateChanged)
        and isinstance(event, StoreMessage)
        and following.id == event.message.id
    )


def must_reach_disk(events: Sequence[ConversationEvent]) -> bool:
    """Whether the writes of these events must be on disk (synced) before the
    node acts on them.

    Everything the node stores is a promise (a frame sent after it, a receipt
    for what came in, an answer to the user) except a receipt applied: message
    states moved and outbox entries dropped, with nothing sent, queued or
    received. A power cut that loses those costs nothing the protocol does not
    recover: the message shows its earlier state, its outbox entry comes back,
    goes out again and is receipted again (the peer keeps one copy).
    """
    for index, event in enumerate(events):
        match event:
            case DropOutbox() | MessageStateChanged() | TypingChanged() | OpenLink():
                continue
            case StoreMessage() if moves_state_only(events, index):
                continue
            case _:
                return True
    return False
