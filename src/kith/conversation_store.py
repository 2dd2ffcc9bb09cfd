"""Chat messages as users and programs see them, and the store side of a
conversation shared by the node and the database backend.

:class:`ChatMessage` is the message object of the API and ``kith messages
--json`` (``docs/ui.md``). :func:`write_events` persists a
:class:`~kith.chat.Conversation`'s storing events; :func:`restore_conversation`
rebuilds a conversation from the store, holding only the recent part of the
history (:func:`recall_messages` reads back older messages a call needs);
:func:`load_conversation` builds one around given messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kith.chat import (
    RECENT_MESSAGES,
    Conversation,
    ConversationEvent,
    DropOutbox,
    Message,
    OutboxEntry,
    Party,
    StoreCursor,
    StoreMessage,
    StoreOutbox,
)
from kith.chat.events import moves_state_only
from kith.errors import KithError
from kith.store.store import Store

__all__ = [
    "MAX_PAGE",
    "ChatMessage",
    "EventsWrite",
    "load_conversation",
    "merge_writes",
    "message_owner",
    "recall_messages",
    "restore_conversation",
    "write_events",
]

MAX_PAGE = 1000
"""Most messages one history request returns."""


@dataclass(frozen=True)
class ChatMessage:
    """One message, with IDs instead of parties.

    Attributes:
        id: the sender-chosen message ID.
        sender: the Kith ID of who wrote it (ours for our own messages).
        text: the current text (empty once deleted).
        sent_at: the sender's clock when written, Unix seconds.
        state: ``queued``, ``failed``, ``sent``, ``delivered``, ``read`` or ``received``.
        edited: whether the text was edited.
        deleted: whether the sender deleted it.
        reactions: emoji to the IDs that reacted with it.
        contact: the contact of the conversation.
        reply_to: the ID of the message this one replies to, or None.
        via: ``direct`` or ``mailbox``: how a received message reached us
            (``direct`` for our own).
    """

    id: str
    sender: str
    text: str
    sent_at: float
    state: str
    edited: bool
    deleted: bool
    reactions: dict[str, list[str]] = field(default_factory=dict)
    contact: str = ""
    reply_to: str | None = None
    via: str = "direct"

    @classmethod
    def of(cls, message: Message, own_id: str, contact_id: str) -> ChatMessage:
        """The view of a stored message of the conversation with ``contact_id``."""
        who = {Party.ME: own_id, Party.PEER: contact_id}
        reactions: dict[str, list[str]] = {}
        for party, emoji in sorted(message.reactions):
            reactions.setdefault(emoji, []).append(who[party])
        return cls(
            id=message.id,
            sender=who[message.sender],
            text=message.text,
            sent_at=message.sent_at / 1000,
            state=message.state.value,
            edited=message.edited,
            deleted=message.deleted,
            reactions=reactions,
            contact=contact_id,
            reply_to=message.reply_to,
            via=message.via,
        )

    @classmethod
    def from_json(cls, value: dict[str, Any], contact: str = "") -> ChatMessage:
        """Read the API's message object."""
        return cls(
            id=str(value["id"]),
            sender=str(value["from"]),
            text=str(value["text"]),
            sent_at=float(value["sent_at"]),
            state=str(value["state"]),
            edited=bool(value["edited"]),
            deleted=bool(value["deleted"]),
            reactions={str(k): [str(i) for i in v] for k, v in value["reactions"].items()},
            contact=contact,
            reply_to=None if value.get("reply_to") is None else str(value["reply_to"]),
            via=str(value.get("via", "direct")),
        )

    def to_json(self) -> dict[str, Any]:
        """The API's message object (``docs/ui.md``)."""
        return {
            "id": self.id,
            "from": self.sender,
            "text": self.text,
            "sent_at": self.sent_at,
            "state": self.state,
            "edited": self.edited,
            "deleted": self.deleted,
            "reactions": self.reactions,
            "reply_to": self.reply_to,
            "via": self.via,
        }


def write_events(store: Store, contact_id: str, events: Sequence[ConversationEvent]) -> None:
    """Persist the storing events of conversation calls with one contact, in
    the order made (the caller holds the transaction). Each table gets one
    statement, however many events: of several ``StoreMessage`` of one message
    (written, sent, delivered) only the last is written, as each holds the
    whole message, and a message whose every ``StoreMessage`` here only moves
    its state (followed by its ``MessageStateChanged``: a stored message sent
    or receipted) gets only its state set; outbox entries are written before
    those dropped; only the last ``StoreCursor`` counts. Our own ``next_seq``
    follows every outbox entry."""
    messages: dict[str, Message] = {}  # the last of each, in the order first met
    states: dict[str, Message] = {}  # the same, for messages whose state alone moved
    entries: list[OutboxEntry] = []
    dropped: list[str] = []
    cursor: int | None = None
    for index, event in enumerate(events):
        match event:
            case StoreMessage(message) if message.id in messages:
                messages[message.id] = message
            case StoreMessage(message) if moves_state_only(events, index):
                states[message.id] = message
            case StoreMessage(message):
                states.pop(message.id, None)
                messages[message.id] = message
            case StoreOutbox(entry):
                entries.append(entry)
            case DropOutbox(entry_id):
                dropped.append(entry_id)
            case StoreCursor(next_seq):
                cursor = next_seq
            case _:
                pass
    if messages:
        store.messages.put_many(contact_id, list(messages.values()))
    if states:
        store.messages.set_states(contact_id, [(m.id, m.state) for m in states.values()])
    if entries:
        store.outbox.put_many(contact_id, entries)
        store.cursors.raise_next_seq(contact_id, max(e.seq for e in entries) + 1)
    if dropped:
        store.outbox.drop_many(contact_id, dropped)
    if cursor is not None:
        store.cursors.set_peer_next_seq(contact_id, cursor)


@dataclass(frozen=True, slots=True)
class EventsWrite:
    """The storing events of conversation calls with one contact, as one
    store write (:func:`write_events`); :func:`merge_writes` joins neighbours."""

    contact_id: str
    events: Sequence[ConversationEvent]

    def __call__(self, store: Store) -> None:
        write_events(store, self.contact_id, self.events)


def merge_writes(writes: Sequence[Callable[[Store], None]]) -> list[Callable[[Store], None]]:
    """The writes of one transaction with each run of :class:`EventsWrite` of
    one contact joined into one (one statement per table instead of one per
    call); every other write stays where it was, so the order is kept."""
    merged: list[Callable[[Store], None]] = []
    run: list[ConversationEvent] | None = None  # the events of merged[-1], if joined
    for write in writes:
        last = merged[-1] if merged else None
        if (
            isinstance(write, EventsWrite)
            and isinstance(last, EventsWrite)
            and last.contact_id == write.contact_id
        ):
            if run is None:
                run = list(last.events)
                merged[-1] = EventsWrite(last.contact_id, run)
            run.extend(write.events)
            continue
        merged.append(write)
        run = None
    return merged


def load_conversation(
    store: Store, contact_id: str, *, read_receipts: bool, messages: Iterable[Message] = ()
) -> Conversation:
    """A conversation restored from the store (with ``messages`` as its history)."""
    next_seq, peer_next_seq = store.cursors.get(contact_id)
    return Conversation(
        messages=messages,
        outbox=store.outbox.entries(contact_id),
        next_seq=next_seq,
        peer_next_seq=peer_next_seq,
        read_receipts=read_receipts,
    )


def restore_conversation(
    store: Store, contact_id: str, *, read_receipts: bool
) -> tuple[Conversation, bool]:
    """A contact's conversation as the node holds it (the most recent messages,
    those with an outbox entry and every message ID; the rest stays in the
    store), and whether a key warning blocks it."""
    next_seq, peer_next_seq = store.cursors.get(contact_id)
    outbox = store.outbox.entries(contact_id)
    recent = store.messages.page(contact_id, RECENT_MESSAGES)
    queued = store.messages.some(contact_id, [entry.id for entry in outbox])
    conversation = Conversation(
        messages=[*recent, *queued],
        known_ids=store.messages.ids(contact_id),
        outbox=outbox,
        next_seq=next_seq,
        peer_next_seq=peer_next_seq,
        read_receipts=read_receipts,
    )
    return conversation, contact_id in store.key_warnings.contacts()


def recall_messages(store: Store, contact_id: str, message_ids: Sequence[str]) -> list[Message]:
    """Stored messages a conversation needs back (see ``Conversation.missing``)."""
    return store.messages.some(contact_id, message_ids)


def history_page(
    store: Store, own_id: str, contact_id: str, limit: int, before: str | None
) -> list[ChatMessage]:
    """A page of the stored conversation as the API shows it, oldest first."""
    page = store.messages.page(contact_id, limit, before)
    return [ChatMessage.of(m, own_id, contact_id) for m in page]


def message_owner(store: Store, message_id: str) -> str:
    """The contact whose conversation holds ``message_id``.

    Raises:
        KithError: ``unknown_message`` when no conversation holds it.
    """
    owner = store.messages.owner(message_id)
    if owner is None:
        raise KithError("there is no message with that ID", code="unknown_message")
    return owner
