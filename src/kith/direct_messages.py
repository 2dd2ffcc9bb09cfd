"""Messages with no node running: queue in the database, read the history.

A message written here is stored with its outbox entry in one transaction
(state ``queued``); the node sends it when it next runs and the contact is
online. Edits, deletes and reactions queue the same way.
"""

from __future__ import annotations

from collections.abc import Callable

from kith.chat import Conversation, ConversationEvent, UnknownMessage, new_message_id
from kith.chat.frames import check_id
from kith.contacts import canonical_id
from kith.conversation_store import ChatMessage, load_conversation, message_owner, write_events
from kith.store.store import Store

__all__ = ["DirectMessages"]


class DirectMessages:
    """Message operations on an open store (the CLI's database backend)."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def send(self, contact: str, text: str, reply_to: str | None = None) -> ChatMessage:
        """Queue a new message to ``contact`` (a reply to ``reply_to`` if given)."""
        kith_id, _ = canonical_id(contact)
        message_id = new_message_id()
        if reply_to is not None:
            check_id(reply_to)

        def send(store: Store) -> ChatMessage:
            store.contacts.get(kith_id)
            named = store.messages.some(kith_id, [reply_to] if reply_to else [])
            conversation = load_conversation(store, kith_id, read_receipts=False, messages=named)
            events = conversation.send_text(message_id, text, self._clock(), reply_to)
            return self._commit(store, kith_id, conversation, events, message_id)

        return self._store.call(send)

    def page(self, contact: str, limit: int, before: str | None) -> list[ChatMessage]:
        """A page of the history, oldest first."""
        kith_id, _ = canonical_id(contact)

        def read(store: Store) -> list[ChatMessage]:
            store.contacts.get(kith_id)
            own = store.identity.info().kith_id
            return [
                ChatMessage.of(m, own, kith_id) for m in store.messages.page(kith_id, limit, before)
            ]

        return self._store.call(read)

    def edit(self, message_id: str, text: str) -> ChatMessage:
        """Queue an edit of one of our messages."""
        op, now = new_message_id(), self._clock()
        return self._change(message_id, lambda c: c.edit(op, message_id, text, now))

    def delete(self, message_id: str) -> None:
        """Queue a delete of one of our messages."""
        op, now = new_message_id(), self._clock()
        self._change(message_id, lambda c: c.delete(op, message_id, now))

    def react(self, message_id: str, emoji: str, add: bool) -> ChatMessage:
        """Queue our reaction (or its removal)."""
        op, now = new_message_id(), self._clock()
        return self._change(message_id, lambda c: c.react(op, message_id, emoji, add, now))

    def _change(
        self, message_id: str, change: Callable[[Conversation], list[ConversationEvent]]
    ) -> ChatMessage:
        def run(store: Store) -> ChatMessage:
            contact_id = message_owner(store, message_id)
            target = store.messages.get(contact_id, message_id)
            if target is None:
                raise UnknownMessage("there is no message with that ID")
            conversation = load_conversation(
                store, contact_id, read_receipts=False, messages=[target]
            )
            events = change(conversation)
            return self._commit(store, contact_id, conversation, events, message_id)

        return self._store.call(run)

    def _commit(
        self,
        store: Store,
        contact_id: str,
        conversation: Conversation,
        events: list[ConversationEvent],
        message_id: str,
    ) -> ChatMessage:
        with store.transaction():
            write_events(store, contact_id, events)
        message = conversation.message(message_id)
        assert message is not None
        return ChatMessage.of(message, store.identity.info().kith_id, contact_id)
