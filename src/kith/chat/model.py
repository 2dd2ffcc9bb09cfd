"""The message model and its state machine (pure)."""

from __future__ import annotations

import enum
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "Message",
    "MessageState",
    "OutboxEntry",
    "Party",
    "advance_state",
    "new_message_id",
]


class Party(enum.StrEnum):
    """Who did something, seen from this node."""

    ME = "me"
    PEER = "peer"


class MessageState(enum.StrEnum):
    """Where a message stands.

    Outgoing: ``queued`` (waiting in the outbox) or ``failed`` (the last
    connection attempt failed; retried later) → ``sent`` (written to the
    channel) → ``delivered`` (stored by the peer) → ``read``.
    Incoming: ``received`` → ``read``.
    """

    QUEUED = "queued"
    FAILED = "failed"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    RECEIVED = "received"


_M = MessageState
_TRANSITIONS: Final[frozenset[tuple[MessageState, MessageState]]] = frozenset(
    {
        (_M.QUEUED, _M.FAILED),
        (_M.FAILED, _M.QUEUED),
        (_M.QUEUED, _M.SENT),
        (_M.FAILED, _M.SENT),
        *((before, _M.DELIVERED) for before in (_M.QUEUED, _M.FAILED, _M.SENT)),
        *((before, _M.READ) for before in (_M.QUEUED, _M.FAILED, _M.SENT, _M.DELIVERED)),
        (_M.RECEIVED, _M.READ),
    }
)
"""Every allowed move. A receipt never moves a message backwards."""


def advance_state(current: MessageState, target: MessageState) -> MessageState | None:
    """The new state if ``current → target`` is allowed, else None."""
    return target if (current, target) in _TRANSITIONS else None


_ID_TIME_BITS: Final = 48
_ID_RANDOM_BYTES: Final = 10


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def new_message_id(
    random: Callable[[int], bytes] = os.urandom, now_ms: Callable[[], int] = _wall_ms
) -> str:
    """A sender-chosen message ID: 32 lowercase hex digits, the creation time
    (48 bits of Unix milliseconds) followed by 80 random bits.

    Time first, so IDs made one after another sort together: the index on
    (contact, ID) takes a batch of new messages into one or two B-tree pages
    instead of one page each, on both sides (``docs/storage.md``). The time
    tells the contact nothing new (every message carries ``sent_at``), and
    80 random bits keep IDs unique.
    """
    stamp = now_ms() & ((1 << _ID_TIME_BITS) - 1)
    return f"{stamp:012x}{random(_ID_RANDOM_BYTES).hex()}"


def short_id(message_id: str) -> str:
    """Eight hex digits that tell IDs apart in logs: the end of the random part
    (an ID's start is its creation time, shared by IDs made within a minute)."""
    return message_id[-8:]


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a conversation, as stored.

    Attributes:
        id: sender-chosen stable ID (retries carry the same one).
        sender: who wrote it.
        text: the current text (empty once deleted).
        sent_at: sender's clock when written, ms since the Unix epoch.
        state: see :class:`MessageState`.
        seq: the sender's sequence number of the ``Text`` frame.
        edited_at: ms of the last edit, or None.
        deleted: whether the sender deleted it.
        reactions: (who, emoji) pairs.
        reply_to: the ID of the message this one replies to, or None; it may
            name a message this node never had.
        via: how a received message reached us: ``direct`` (the data
            channel) or ``mailbox`` (the signaling server's sealed mailbox);
            ``direct`` for our own.
    """

    id: str
    sender: Party
    text: str
    sent_at: int
    state: MessageState
    seq: int
    edited_at: int | None = None
    deleted: bool = False
    reactions: frozenset[tuple[Party, str]] = field(default_factory=frozenset)
    reply_to: str | None = None
    via: str = "direct"

    @property
    def edited(self) -> bool:
        """Whether the text was edited."""
        return self.edited_at is not None

    def with_state(self, state: MessageState) -> Message:
        """A copy in ``state`` (built directly: a few times per message, and
        ``dataclasses.replace`` inspects the fields on every call)."""
        return Message(
            self.id, self.sender, self.text, self.sent_at, state, self.seq,
            self.edited_at, self.deleted, self.reactions, self.reply_to, self.via,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"Message(id={self.id}, sender={self.sender.value}, state={self.state.value})"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A sequenced frame waiting for its delivery receipt (persist it).

    Attributes:
        id: the frame's ID (a message ID for ``Text``).
        seq: the frame's sequence number.
        frame: the encoded chat frame, sent as is on every attempt.
    """

    id: str
    seq: int
    frame: bytes

    def __repr__(self) -> str:
        return f"OutboxEntry(id={self.id}, seq={self.seq})"
