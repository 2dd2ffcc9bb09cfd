"""When the node opens a channel to a contact, and which relay inboxes it
listens on: the rules that keep an invisible user from revealing themselves.

A visible node listens on every contact's relay inbox and connects whenever
a conversation asks. An invisible node listens on an inbox only while it is
itself connecting or connected to that contact, connects only to pull
messages a contact flagged (telling the user that this reveals them to that
contact), and never connects just because the user is typing. See
``docs/p2p.md``, "Invisible users".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from kith.chat import ConversationEvent
from kith.contacts import contact_label
from kith.p2p import LinkState
from kith.runtime.chat.peer import ChatPeer
from kith.runtime.subscriptions import SubscriptionMux

__all__ = ["Connector"]


class Connector:
    """Opens links on demand and keeps the relay subscriptions.

    Args:
        mux: The signaling subscriptions (relay inboxes are set here).
        invisible: Whether the user is invisible right now.
        execute: Persists and acts on a conversation's events.
        spawn: Runs a background task of the chat driver.
        notice: Tells the user something about one contact (code, message).
        stopped: Whether the chat driver has stopped.
        clock: Wall-clock seconds.
        log: Where problems go.
    """

    def __init__(
        self,
        *,
        mux: SubscriptionMux,
        invisible: Callable[[], bool],
        execute: Callable[[ChatPeer, list[ConversationEvent]], Any],
        spawn: Callable[[Awaitable[None]], None],
        notice: Callable[[ChatPeer, str, str], None],
        stopped: Callable[[], bool],
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self._mux = mux
        self._invisible = invisible
        self._execute = execute
        self._spawn = spawn
        self._notice = notice
        self._stopped = stopped
        self._clock = clock
        self._log = log

    def pull(self, peer: ChatPeer) -> None:
        """Connect to fetch what the contact flagged as waiting for us."""
        if peer.link_state is LinkState.IDLE and not peer.blocked and not peer.opening:
            self._spawn(self.open(peer))

    def for_typing(self, peer: ChatPeer) -> None:
        """Connect to an online contact the user is typing to (not while
        invisible: typing alone must not reveal the user)."""
        if not peer.is_open and peer.online and not peer.blocked and not self._invisible():
            self._spawn(self.open(peer))

    async def open(self, peer: ChatPeer) -> None:
        """Open the link, unless the contact is blocked (key changed) or the
        conversation is being rebuilt; tell an invisible user what it reveals."""
        if self._stopped() or peer.recovering:
            return
        if peer.blocked:
            self._execute(peer, peer.conversation.connect_failed(self._clock()))
            return
        if self._invisible() and peer.link_state is LinkState.IDLE:
            self._log.info(
                "invisible: connecting to %s shows them you are online",
                contact_label(peer.contact_id),
            )
            self._notice(
                peer,
                "revealed",
                "you are invisible: connecting to this contact shows them that you are online",
            )
        await peer.open()

    def update_relay(self, peers: Iterable[ChatPeer]) -> None:
        """Listen on the relay inboxes the current status allows."""
        if self._invisible():
            peers = [p for p in peers if p.opening or p.link_state is not LinkState.IDLE]
        self._mux.set_relay_topics(p.pair.relay_in_topic.raw for p in peers)
