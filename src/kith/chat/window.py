"""``MessageWindow``: the part of a conversation's history kept in memory (pure).

A conversation needs whole messages only to decide something about them
(an edit, a delete, a reaction, a receipt, a state move). It keeps:

- the most recent messages it touched, at most ``capacity`` once
  :meth:`MessageWindow.trim` runs (the rest stays in the database);
- pinned messages, whatever their age: those with an outbox entry (their
  state still moves: sent, failed, delivered);
- the ID of every message of the conversation, as 16 bytes (about 70 bytes
  per message with the set's slot), so a reused ID is refused and an older
  message is known to exist without reading the store.

What is known but not held is read back from the store by the node and
handed in with :meth:`MessageWindow.recall` before the call that needs it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from kith.chat.model import Message

__all__ = ["RECENT_MESSAGES", "MessageWindow"]

RECENT_MESSAGES: Final = 200
"""How many recent messages a conversation holds besides the pinned ones."""


def _key(message_id: str) -> bytes:
    return bytes.fromhex(message_id)


class MessageWindow:
    """Recent and pinned messages by ID, and the IDs of all the others.

    Args:
        messages: messages to hold, oldest first.
        known_ids: IDs of every stored message of the conversation (held or not).
        pinned: whether a message must stay held (it has an outbox entry).
        capacity: how many unpinned messages :meth:`trim` keeps.
    """

    def __init__(
        self,
        messages: Iterable[Message] = (),
        *,
        known_ids: Iterable[str] = (),
        pinned: Callable[[str], bool] = lambda message_id: False,
        capacity: int = RECENT_MESSAGES,
    ) -> None:
        if capacity < 1:
            raise ValueError("a message window holds at least one message")
        self._recent: OrderedDict[str, Message] = OrderedDict()
        self._pinned: dict[str, Message] = {}
        self._known: set[bytes] = {_key(each) for each in known_ids}
        self._is_pinned = pinned
        self._capacity = capacity
        for message in messages:
            self.put(message)

    def __len__(self) -> int:
        """How many messages are held."""
        return len(self._recent) + len(self._pinned)

    def __iter__(self) -> Iterator[Message]:
        """Every held message (in no particular order)."""
        yield from self._pinned.values()
        yield from self._recent.values()

    def get(self, message_id: str) -> Message | None:
        """The held message with this ID, if held."""
        found = self._pinned.get(message_id)
        return found if found is not None else self._recent.get(message_id)

    def knows(self, message_id: str) -> bool:
        """Whether the conversation has a message with this ID (held or stored)."""
        try:
            return _key(message_id) in self._known
        except ValueError:
            return False

    def missing(self, message_ids: Iterable[str]) -> list[str]:
        """The IDs among ``message_ids`` of messages that exist but are not held."""
        return [i for i in dict.fromkeys(message_ids) if self.get(i) is None and self.knows(i)]

    def put(self, message: Message) -> None:
        """Hold ``message`` (new, or replacing the held one) as the most recent."""
        self._known.add(_key(message.id))
        if message.id in self._pinned:
            self._pinned[message.id] = message
            return
        self._recent[message.id] = message
        self._recent.move_to_end(message.id)

    def recall(self, messages: Iterable[Message]) -> None:
        """Hold messages read back from the store; a held one is newer and stays."""
        for message in messages:
            if self.get(message.id) is None:
                self.put(message)

    def unpin(self, message_id: str) -> None:
        """The message left the outbox: it may be trimmed like any other."""
        message = self._pinned.pop(message_id, None)
        if message is not None:
            self._recent[message_id] = message

    def trim(self) -> None:
        """Drop the oldest unpinned messages beyond the capacity (they stay
        known); pinned ones met on the way are set aside, never dropped."""
        while len(self._recent) > self._capacity:
            message_id, message = self._recent.popitem(last=False)
            if self._is_pinned(message_id):
                self._pinned[message_id] = message
