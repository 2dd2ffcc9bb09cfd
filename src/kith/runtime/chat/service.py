"""The messaging operations the local API offers (``docs/ui.md``).

Each resolves the contact or message (held in memory or only stored), asks
the conversation for its events (with older messages it names read back
first) and has the :class:`ChatDriver` persist and execute them; the answer
comes only once the change is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from kith.chat import new_message_id
from kith.chat.frames import check_id
from kith.conversation_store import ChatMessage
from kith.runtime.chat.driver import ChatDriver

__all__ = ["ChatService"]


class ChatService:
    """User actions on conversations.

    Args:
        chat: The node's chat driver.
        clock: Wall-clock seconds.
    """

    def __init__(self, chat: ChatDriver, clock: Callable[[], float] = time.time) -> None:
        self._chat = chat
        self._clock = clock

    async def send_text(self, contact: str, text: str, reply_to: str | None = None) -> ChatMessage:
        """Write a message, replying to ``reply_to`` if given; answered once it is
        stored (queued if not connected). Raises UnknownMessage for a ``reply_to``
        that is not a message of the conversation."""
        peer = self._chat.peer(contact)
        message_id = new_message_id()
        if reply_to is not None:
            check_id(reply_to)
        events = peer.conversation.send_text(message_id, text, self._clock(), reply_to)
        await self._chat.execute(peer, events)
        return self._chat.view(peer, message_id)

    async def edit(self, message_id: str, text: str) -> ChatMessage:
        """Edit one of our messages."""
        peer = await self._chat.locate(message_id)
        op, now = new_message_id(), self._clock()
        await self._chat.call(peer, [message_id], lambda c: c.edit(op, message_id, text, now))
        return self._chat.view(peer, message_id)

    async def delete(self, message_id: str) -> ChatMessage:
        """Delete one of our messages (for both sides)."""
        peer = await self._chat.locate(message_id)
        op, now = new_message_id(), self._clock()
        await self._chat.call(peer, [message_id], lambda c: c.delete(op, message_id, now))
        return self._chat.view(peer, message_id)

    async def react(self, message_id: str, emoji: str, add: bool) -> ChatMessage:
        """Add or remove our reaction."""
        peer = await self._chat.locate(message_id)
        op, now = new_message_id(), self._clock()
        await self._chat.call(
            peer, [message_id], lambda c: c.react(op, message_id, emoji, add, now)
        )
        return self._chat.view(peer, message_id)

    async def mark_read(self, contact: str, message_ids: Sequence[str]) -> None:
        """The user saw these incoming messages (a read receipt if enabled)."""
        peer, now = self._chat.peer(contact), self._clock()
        await self._chat.call(peer, message_ids, lambda c: c.mark_read(message_ids, now))

    def typing(self, contact: str) -> None:
        """The user is typing to ``contact`` (connects if the contact is online)."""
        peer = self._chat.peer(contact)
        self._chat.connect_for_typing(peer)
        self._chat.execute(peer, peer.conversation.typing(True, self._clock()))

    async def accept_key(self, contact: str) -> None:
        """The user accepted the contact's changed identity key: sending resumes."""
        await self._chat.accepted_key(self._chat.peer(contact))

    def link(self, contact: str) -> dict[str, str | None]:
        """The link to ``contact``: its state and, once open, its path.

        ``path`` is ``"relay"`` when our side sends through a TURN relay (the
        contact cannot see our address), ``"direct"`` otherwise, ``None``
        while no channel is open. It is read from the connection's
        nominated candidate pair, not from the settings.
        """
        peer = self._chat.peer(contact)
        path = peer.path
        return {"state": peer.link_state.value, "path": None if path is None else path.value}

    async def history(self, contact: str, limit: int, before: str | None) -> list[ChatMessage]:
        """A page of the conversation, oldest first."""
        return await self._chat.history(self._chat.peer(contact), limit, before)

    async def search(self, text: str, limit: int) -> list[ChatMessage]:
        """The newest stored messages of any conversation holding every word of ``text``."""
        return await self._chat.search(text, limit)
