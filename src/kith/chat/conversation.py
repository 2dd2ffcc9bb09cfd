"""``Conversation``: the chat with one contact as a pure state machine.

It holds the part of the history it needs (a :class:`MessageWindow`: recent
and outbox messages, and every message ID), the outbox, the sequence
numbers in both directions and the typing indicators. Older messages stay in
the store: the node hands them in with :meth:`Conversation.recall` before a
call that names them (:meth:`Conversation.missing`, :meth:`Conversation.needs`). Local actions,
presence and channel changes, received frames and ``tick`` return typed
events (:mod:`kith.chat.events`); it never does I/O or reads a clock.
``now`` is wall-clock seconds (``time.time()``); stored times are ms.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import msgspec

from kith.chat.apply import Refused, apply_frame
from kith.chat.errors import InvalidMessage, MalformedChatFrame, NotOwnMessage, UnknownMessage
from kith.chat.events import (
    ConversationEvent,
    DropOutbox,
    FrameRejected,
    MessageStateChanged,
    OpenLink,
    SendFrame,
    StoreCursor,
    StoreMessage,
    StoreOutbox,
    TypingChanged,
)
from kith.chat.frames import (
    ChatFrame,
    Delete,
    Edit,
    Reaction,
    Receipt,
    SequencedFrame,
    Text,
    Typing,
    check_emoji,
    check_id,
    check_text,
    decode_chat_frame,
    encode_chat_frame,
)
from kith.chat.model import Message, MessageState, OutboxEntry, Party, advance_state
from kith.chat.ordering import SequenceGate
from kith.chat.outbox import DEFAULT_RETRY, RESEND_AFTER, SEND_WINDOW, Outbox, RetryPolicy
from kith.chat.typing_state import TYPING_TIMEOUT, OwnTyping, PeerTyping
from kith.chat.window import RECENT_MESSAGES, MessageWindow

__all__ = ["Conversation"]

Events = list[ConversationEvent]


def _ms(now: float) -> int:
    return int(now * 1000)


class Conversation:
    """The conversation with one contact.

    Args:
        messages: the messages to hold: the most recent ones and every one
            with an outbox entry.
        known_ids: the ID of every stored message (held or not).
        outbox: stored outbox entries.
        next_seq: our next sequence number (one above the highest ever used).
        peer_next_seq: the next sequence number expected from the peer
            (the last ``StoreCursor``).
        read_receipts: whether to tell the peer when we read their messages.
        retry: backoff between failed connection attempts.
        typing_timeout: seconds a peer's typing indicator lasts.
        recent: how many recent messages to hold besides the outbox's.
    """

    def __init__(
        self,
        *,
        messages: Iterable[Message] = (),
        known_ids: Iterable[str] = (),
        outbox: Iterable[OutboxEntry] = (),
        next_seq: int = 1,
        peer_next_seq: int = 1,
        read_receipts: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        typing_timeout: float = TYPING_TIMEOUT,
        recent: int = RECENT_MESSAGES,
    ) -> None:
        self._outbox = Outbox(outbox, retry)
        self._messages = MessageWindow(
            messages, known_ids=known_ids, pinned=self._outbox.__contains__, capacity=recent
        )
        self._in_flight: set[str] = set()
        self._resend_at: float | None = None
        self._next_seq = next_seq
        self._gate = SequenceGate(peer_next_seq)
        self.read_receipts = read_receipts
        self._online = False
        self._open = False
        self._connecting = False
        self._unsent_reads: list[str] = []
        self._peer_typing = PeerTyping(typing_timeout)
        self._own_typing = OwnTyping()

    def __repr__(self) -> str:
        return (
            f"Conversation(messages={len(self._messages)}, outbox={len(self._outbox)}, "
            f"online={self._online}, open={self._open})"
        )

    # -- queries ------------------------------------------------------------

    def message(self, message_id: str) -> Message | None:
        """The message with this ID, if held (see :meth:`recall`)."""
        return self._messages.get(message_id)

    def history(self) -> list[Message]:
        """Every held message, oldest first (by send time, then ID); the
        whole history is in the store."""
        return sorted(self._messages, key=lambda m: (m.sent_at, m.sender, m.seq))

    def missing(self, message_ids: Iterable[str]) -> list[str]:
        """Messages of this conversation a call naming ``message_ids`` needs
        that are not held: read them from the store and :meth:`recall` them."""
        return self._messages.missing(message_ids)

    def needs(self, data: bytes) -> list[str]:
        """What :meth:`receive` of this frame needs recalled first (the
        messages it names, and those named by frames it may release)."""
        try:
            frame = decode_chat_frame(data)
        except MalformedChatFrame:
            return []
        return self.needs_frame(frame)

    def needs_frame(self, frame: ChatFrame) -> list[str]:
        """:meth:`needs` of a decoded frame (:meth:`receive_frame`). A text
        frame that releases nothing held back needs nothing: O(1)."""
        if isinstance(frame, Receipt):
            return self._messages.missing(frame.ids)
        if isinstance(frame, Typing) or self._gate.is_duplicate(frame):
            return []
        if isinstance(frame, Text) and not self._gate.holds_any():
            return []
        named = [f.target for f in [frame, *self._gate.pending()] if not isinstance(f, Text)]
        return self._messages.missing(named)

    def recall(self, messages: Iterable[Message]) -> None:
        """Hold these stored messages until the next call that trims (a held
        message is newer than the store's and is kept)."""
        self._messages.recall(messages)

    def outbox_frames(self) -> list[tuple[str, bytes]]:
        """Every outbox entry as ``(id, encoded frame)``, in order (what the
        offline mailbox carries while the contact cannot be reached)."""
        return [(entry.id, entry.frame) for entry in self._outbox]

    @property
    def has_outbox(self) -> bool:
        """Whether something waits for the contact."""
        return len(self._outbox) > 0

    @property
    def peer_typing(self) -> bool:
        """Whether the contact is shown typing."""
        return self._peer_typing.active

    # -- local actions ------------------------------------------------------

    def send_text(
        self, message_id: str, text: str, now: float, reply_to: str | None = None
    ) -> Events:
        """Write a new message (queued if the channel is not open), replying to
        the message ``reply_to`` of this conversation if given.

        Raises:
            InvalidMessage: bad ID or text.
            UnknownMessage: ``reply_to`` names no message of this conversation.
        """
        check_id(message_id)
        check_text(text)
        if reply_to is not None and not self._messages.knows(reply_to):
            raise UnknownMessage("there is no message with that ID in this conversation")
        if self._messages.knows(message_id) or message_id in self._outbox:
            raise InvalidMessage("that message ID is already in use")
        frame = Text(message_id, self._take_seq(), text, _ms(now), reply_to)
        message = Message(
            message_id,
            Party.ME,
            text,
            frame.sent_at,
            MessageState.QUEUED,
            frame.q,
            reply_to=reply_to,
        )
        self._messages.put(message)
        events = [StoreMessage(message), *self._enqueue(frame, now)]
        self._messages.trim()
        return events

    def edit(self, op_id: str, target: str, text: str, now: float) -> Events:
        """Edit one of our messages. Raises UnknownMessage, NotOwnMessage, InvalidMessage."""
        check_id(op_id)
        check_text(text)
        return self._local(Edit(op_id, 0, target, text, _ms(now)), now)

    def delete(self, op_id: str, target: str, now: float) -> Events:
        """Delete one of our messages. Raises UnknownMessage, NotOwnMessage."""
        check_id(op_id)
        return self._local(Delete(op_id, 0, target, _ms(now)), now)

    def react(self, op_id: str, target: str, emoji: str, add: bool, now: float) -> Events:
        """Add or remove our reaction; a repeat does nothing. Raises UnknownMessage."""
        check_id(op_id)
        check_emoji(emoji)
        return self._local(Reaction(op_id, 0, target, emoji, "add" if add else "remove"), now)

    def mark_read(self, message_ids: Iterable[str], now: float) -> Events:
        """The user saw these incoming messages."""
        events: Events = []
        read = []
        for message_id in message_ids:
            changed = self._advance(message_id, MessageState.READ, incoming=True)
            events += changed
            read += [message_id] if changed else []
        if self.read_receipts and read:
            events += self._send_or_keep_reads(read)
        self._messages.trim()
        return events

    def typing(self, active: bool, now: float) -> Events:
        """The user is typing (or stopped); sent only on an open channel."""
        if self._open and self._own_typing.should_send(active, now):
            return [SendFrame.of(Typing(active))]
        return []

    # -- presence and channel ----------------------------------------------

    def contact_online(self, now: float) -> Events:
        """Presence says the contact is online: a fresh chance to connect."""
        self._online = True
        self._outbox.connected()
        return self._maybe_connect(now)

    def contact_offline(self, now: float) -> Events:
        """Presence says the contact is offline: wait for them."""
        self._online = False
        return []

    def channel_open(self, now: float) -> Events:
        """The secure channel is established: send the outbox, in order (at
        most ``SEND_WINDOW`` entries ahead of the delivery receipts)."""
        self._open, self._connecting = True, False
        self._outbox.connected()
        self._in_flight.clear()
        events = self._send_more(now)
        if self._unsent_reads:
            reads, self._unsent_reads = self._unsent_reads, []
            events.append(SendFrame.of(Receipt("read", reads)))
        return events

    def channel_closed(self, now: float) -> Events:
        """The channel closed; what was not receipted stays in the outbox."""
        self._open, self._connecting = False, False
        self._in_flight.clear()
        self._resend_at = None
        self._own_typing.reset()
        events: Events = []
        if self._peer_typing.update(False, now):
            events.append(TypingChanged(False))
        if self.has_outbox:
            self._outbox.failed(now)
        return events

    def connect_failed(self, now: float) -> Events:
        """A connection attempt failed: mark waiting messages failed, back off."""
        self._connecting = False
        self._outbox.failed(now)
        events: Events = []
        for entry in self._outbox.in_order():
            events += self._advance(entry.id, MessageState.FAILED, incoming=False)
        return events

    def tick(self, now: float) -> Events:
        """Call at :meth:`next_deadline`: expire typing, retry the outbox,
        resend what the peer left without a receipt for ``RESEND_AFTER``."""
        events: Events = []
        if self._peer_typing.expire(now):
            events.append(TypingChanged(False))
        return events + self._resend_due(now) + self._maybe_connect(now)

    def next_deadline(self) -> float | None:
        """When :meth:`tick` should run next (None: no timer)."""
        deadlines = [self._peer_typing.deadline, self._resend_at]
        if self._online and not self._open and not self._connecting and self.has_outbox:
            deadlines.append(self._outbox.retry_at)
        present = [d for d in deadlines if d is not None]
        return min(present) if present else None

    # -- receiving ----------------------------------------------------------

    def receive(self, data: bytes, now: float) -> Events:
        """Apply one decrypted chat frame from the peer.

        Raises:
            MalformedChatFrame: the frame does not decode or breaks a bound.
        """
        return self.receive_frame(decode_chat_frame(data), now)

    def receive_frame(self, frame: ChatFrame, now: float) -> Events:
        """Apply one chat frame from the peer, decoded (and so validated) with
        :func:`~kith.chat.frames.decode_chat_frame`."""
        if isinstance(frame, Receipt):
            return self._on_receipt(frame, now)
        if isinstance(frame, Typing):
            return (
                [TypingChanged(frame.active)] if self._peer_typing.update(frame.active, now) else []
            )
        if self._gate.is_duplicate(frame):
            return [SendFrame.of(Receipt("delivered", [frame.id]))]
        ready = self._gate.offer(frame)
        if not ready:
            return []
        events: Events = []
        for each in ready:
            events += self._apply_peer(each, now)
        events.append(StoreCursor(self._gate.next_seq))
        events.append(SendFrame.of(Receipt("delivered", [each.id for each in ready])))
        self._messages.trim()
        return events

    def _apply_peer(self, frame: SequencedFrame, now: float) -> Events:
        if isinstance(frame, Text) and self._messages.knows(frame.id):
            return [FrameRejected(frame.id, "the message ID is already in use")]
        target_id = frame.id if isinstance(frame, Text) else frame.target
        try:
            updated = apply_frame(frame, Party.PEER, self._messages.get(target_id))
        except Refused as refused:
            return [FrameRejected(frame.id, str(refused))]
        events: Events = []
        if isinstance(frame, Text) and self._peer_typing.update(False, now):
            events.append(TypingChanged(False))
        if updated is not None:
            self._messages.put(updated)
            events.append(StoreMessage(updated))
        return events

    def _on_receipt(self, receipt: Receipt, now: float) -> Events:
        target = MessageState.DELIVERED if receipt.kind == "delivered" else MessageState.READ
        events: Events = []
        acknowledged = False
        for message_id in receipt.ids:
            if receipt.kind == "delivered" and self._outbox.acknowledge(message_id):
                events.append(DropOutbox(message_id))
                self._in_flight.discard(message_id)
                self._messages.unpin(message_id)
                acknowledged = True
            events += self._advance(message_id, target, incoming=False)
        if acknowledged and self._open:
            events += self._send_more(now)
            self._resend_at = now + RESEND_AFTER if self._in_flight else None
        self._messages.trim()
        return events

    # -- helpers ------------------------------------------------------------

    def _local(self, frame: Edit | Delete | Reaction, now: float) -> Events:
        if self._messages.knows(frame.id) or frame.id in self._outbox:
            raise InvalidMessage("that ID is already in use")
        target = self._messages.get(frame.target)
        if target is None:
            raise UnknownMessage("no message with that ID in this conversation")
        try:
            updated = apply_frame(frame, Party.ME, target)
        except Refused as refused:
            raise NotOwnMessage(str(refused)) from None
        if updated is None:
            return []
        self._messages.put(updated)
        sequenced = _with_seq(frame, self._take_seq())
        events = [StoreMessage(updated), *self._enqueue(sequenced, now)]
        self._messages.trim()
        return events

    def _enqueue(self, frame: SequencedFrame, now: float) -> Events:
        entry = OutboxEntry(frame.id, frame.q, encode_chat_frame(frame))
        self._outbox.add(entry)
        events: Events = [StoreOutbox(entry)]
        if self._open:
            return events + self._send_more(now)
        return events + self._maybe_connect(None)

    def _send_more(self, now: float) -> Events:
        """Send outbox entries not yet sent on this channel, in order, while
        fewer than ``SEND_WINDOW`` wait for their receipt."""
        events: Events = []
        # What is in flight is the outbox's first entries (sent in order; an
        # entry leaves both when receipted), so the rest starts after them.
        for entry in islice(self._outbox, len(self._in_flight), None):
            if len(self._in_flight) >= SEND_WINDOW:
                break
            if entry.id not in self._in_flight:
                self._in_flight.add(entry.id)
                events += self._mark_sent(entry)
                events.append(SendFrame(entry.frame))
        if events and self._resend_at is None:
            self._resend_at = now + RESEND_AFTER
        return events

    def _resend_due(self, now: float) -> Events:
        if not self._open or self._resend_at is None or now < self._resend_at:
            return []
        self._resend_at = now + RESEND_AFTER if self._in_flight else None
        return [SendFrame(e.frame) for e in self._outbox if e.id in self._in_flight]

    def _mark_sent(self, entry: OutboxEntry) -> Events:
        return self._advance(entry.id, MessageState.SENT, incoming=False)

    def _advance(self, message_id: str, target: MessageState, *, incoming: bool) -> Events:
        message = self._messages.get(message_id)
        if message is None or (message.sender is Party.PEER) != incoming:
            return []
        state = advance_state(message.state, target)
        if state is None:
            return []
        updated = message.with_state(state)
        self._messages.put(updated)
        return [StoreMessage(updated), MessageStateChanged(message_id, state)]

    def _maybe_connect(self, now: float | None) -> Events:
        if not self._online or self._open or self._connecting or not self.has_outbox:
            return []
        if now is not None and not self._outbox.retry_due(now):
            return []
        if now is None and self._outbox.retry_at is not None:
            return []
        self._connecting = True
        return [OpenLink()]

    def _send_or_keep_reads(self, read: list[str]) -> Events:
        if self._open:
            return [SendFrame.of(Receipt("read", read))]
        self._unsent_reads += read
        return []

    def _take_seq(self) -> int:
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        return seq


def _with_seq(frame: Edit | Delete | Reaction, seq: int) -> SequencedFrame:
    return msgspec.structs.replace(frame, q=seq)
