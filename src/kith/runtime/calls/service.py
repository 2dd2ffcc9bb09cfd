"""What the local API offers about calls: start, answer, refuse, hang up, relay the page's
signals, the ICE servers the page should use, and the call log.

A call starts only on an open channel with the contact: if none is open, the
node connects (as for a message) and waits at most :data:`REACH_TIMEOUT`
seconds; a contact that presence shows offline, or that does not answer
within that bound, is ``not_reachable`` at once rather than ringing forever
(and their node logs a missed call once it can be told).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from kith.calls import NotReachable
from kith.p2p import TurnSource
from kith.runtime.calls.switchboard import CallSwitchboard, CallView
from kith.runtime.chat.driver import ChatDriver
from kith.store.call_log import CallRecord

__all__ = ["REACH_TIMEOUT", "CallService"]

REACH_TIMEOUT: Final = 6.0
"""Seconds a call waits for a channel to an online contact before ``not_reachable``."""


class CallService:
    """User actions on calls.

    Args:
        calls: The node's call switchboard.
        chat: The chat driver (the contact's peer and its channel).
        turn: The TURN relays the signaling server offers (for the page).
        stun: The ``stun_servers`` setting.
        relay_only: The ``relay_only`` setting: the page then uses TURN relays only.
        reach_timeout: Seconds to wait for a channel.
    """

    def __init__(
        self,
        calls: CallSwitchboard,
        chat: ChatDriver,
        *,
        turn: TurnSource,
        stun: Sequence[str],
        relay_only: bool,
        reach_timeout: float = REACH_TIMEOUT,
    ) -> None:
        self._calls = calls
        self._chat = chat
        self._turn = turn
        self._stun = tuple(stun)
        self._relay_only = relay_only
        self._reach_timeout = reach_timeout

    async def start(self, contact: str, video: bool) -> CallView:
        """Ring ``contact`` (audio, or video if ``video``).

        Raises:
            ContactError: no such contact.
            NotReachable: offline, key changed, or no channel within the bound.
            CallError: another call is going on.
        """
        peer = self._chat.peer(contact)
        if peer.blocked:
            raise NotReachable("the contact's key changed: accept or verify it first")
        if not peer.is_open:
            reason = "the contact is offline"
            if peer.online:
                self._chat.connect(peer)
                if await self._calls.wait_open(peer, self._reach_timeout):
                    return self._calls.start(peer, video)
                reason = "the contact did not answer the connection"
            self._calls.unreachable(peer.contact_id, video)
            raise NotReachable(reason)
        return self._calls.start(peer, video)

    def accept(self, call_id: str) -> CallView:
        """Answer a ringing call."""
        return self._calls.accept(call_id)

    def decline(self, call_id: str) -> CallView:
        """Refuse a ringing call."""
        return self._calls.decline(call_id)

    def hang_up(self, call_id: str) -> CallView:
        """End (or cancel) a call."""
        return self._calls.hang_up(call_id)

    def media(self, call_id: str, flowing: bool) -> CallView:
        """Our page's media connection is up (``flowing``) or lost."""
        return self._calls.media(call_id, flowing)

    def signal(self, call_id: str, kind: str, data: str) -> None:
        """Send our page's offer, answer or ICE candidate to the peer's page."""
        self._calls.signal(call_id, kind, data)

    def live_calls(self) -> list[CallView]:
        """The calls going on."""
        return self._calls.live_calls()

    async def history(self, contact: str, limit: int = 100) -> list[CallRecord]:
        """The logged calls with ``contact``, oldest first."""
        peer = self._chat.peer(contact)
        return await self._calls.history(peer.contact_id, limit)

    def ice(self) -> dict[str, Any]:
        """The ``RTCConfiguration`` the page should use: STUN (unless relay only), the
        TURN relays with their short-lived credentials, and the transport policy."""
        servers: list[dict[str, Any]] = []
        if not self._relay_only and self._stun:
            servers.append({"urls": list(self._stun)})
        servers += [
            {"urls": list(t.urls), "username": t.username, "credential": t.credential}
            for t in self._turn.turn_servers()
        ]
        policy = "relay" if self._relay_only else "all"
        return {"iceServers": servers, "iceTransportPolicy": policy}
