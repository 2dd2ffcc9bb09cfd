"""After a failed save: conversations ahead of the database are rebuilt from it.

A transaction that fails leaves the in-memory conversations of its
submissions (the peer's sequence gate, the outbox, our ``next_seq``) ahead of
what is stored. Left alone, a resent message would be answered "delivered" as
a duplicate without ever being stored. So each such peer is marked
recovering at once (its calls are refused and its frames dropped: nothing is
acknowledged), its link is closed, and its conversation is read back from the
store, retrying with backoff while the database stays unusable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from kith.chat import Conversation
from kith.contacts import contact_label
from kith.errors import KithError
from kith.runtime.chat.peer import ChatPeer
from kith.runtime.chat.peer_state import GateInput
from kith.runtime.store_writer import StoreRunner
from kith.store.store import Store

__all__ = ["ConversationRecovery", "refused"]

RELOAD_RETRY: Final = 0.5
RELOAD_RETRY_MAX: Final = 30.0

Reader = Callable[[str], Callable[[Store], tuple[Conversation, bool]]]


class ConversationRecovery:
    """Rebuilds the conversations of a failed transaction.

    Args:
        store: The node's store.
        reader: For a contact ID, the store read that rebuilds its conversation
            (and whether a key warning blocks it).
        is_current: Whether a peer is still tracked (not removed, not stopped).
        resume: Hands a peer its rebuilt conversation.
        spawn: Runs a background task of the chat driver.
        log: Where problems go.
    """

    def __init__(
        self,
        *,
        store: StoreRunner,
        reader: Reader,
        is_current: Callable[[ChatPeer], bool],
        resume: Callable[[ChatPeer, Conversation, bool], None],
        spawn: Callable[[Awaitable[None]], None],
        log: logging.Logger,
    ) -> None:
        self._store = store
        self._reader = reader
        self._is_current = is_current
        self._resume = resume
        self._spawn = spawn
        self._log = log

    def commit_failed(self, peers: set[ChatPeer]) -> None:
        """Mark each peer recovering and start rebuilding it."""
        for peer in peers:
            if peer.recovering or not self._is_current(peer):
                continue
            peer.state.move(GateInput.COMMIT_FAILED)
            peer.cancel_timer()
            self._spawn(self._recover(peer))

    async def _recover(self, peer: ChatPeer) -> None:
        self._log.warning(
            "reloading the conversation with %s after a failed save", contact_label(peer.contact_id)
        )
        try:
            await peer.close()
        except Exception as exc:  # the rebuild must happen regardless
            self._log.warning(
                "could not close the link to %s: %r", contact_label(peer.contact_id), exc
            )
        conversation, blocked = await self._read(peer.contact_id)
        if self._is_current(peer):
            self._resume(peer, conversation, blocked)

    async def _read(self, contact_id: str) -> tuple[Conversation, bool]:
        delay = RELOAD_RETRY
        while True:
            try:
                read: tuple[Conversation, bool] = await self._store.run(self._reader(contact_id))
                return read
            except Exception as exc:
                self._log.error("could not reload the conversation: %s; retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RELOAD_RETRY_MAX)


def refused() -> asyncio.Future[None]:
    """A failed future for calls made while a conversation is being rebuilt."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(
        KithError(
            "this conversation is being reloaded after a failed save; try again",
            code="database_busy",
        )
    )
    future.exception()  # retrieved: callers that do not wait must not log it
    return future
