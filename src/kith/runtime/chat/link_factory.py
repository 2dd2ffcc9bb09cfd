"""How the node makes the peer link of a contact.

The link's signals go out on the pair's relay topic through the signaling
client, which also hands over the TURN relays; STUN servers, relay-only,
timeouts and receipts come from :class:`ChatOptions`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from kith.chat import INBOUND_BURST, INBOUND_RATE
from kith.p2p import PeerLink, TurnSource
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel

__all__ = ["ChatOptions", "RelayPort", "make_peer_link"]


class RelayPort(Protocol):
    """What the chat driver needs from the signaling client."""

    def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> Awaitable[None]:
        """Relay ``payload`` to whoever subscribes to ``topic``."""
        ...


@dataclass(frozen=True)
class ChatOptions:
    """How peer links are made.

    Attributes:
        ice_servers: STUN URLs (the ``stun_servers`` setting).
        relay_only: Only relayed candidates (the ``relay_only`` setting).
        idle_timeout: Seconds without a frame before a link closes.
        connect_timeout: Seconds from offer to open channel.
        read_receipts: Whether to tell contacts when we read their messages.
        inbound_rate: Chat frames per second one contact may send, sustained.
        inbound_burst: Chat frames one contact may send at once.
        mailbox_poll: Seconds between sweeps of the mailboxes of contacts who
            look offline (one of them may be invisible and have written).
    """

    ice_servers: tuple[str, ...] = ()
    relay_only: bool = False
    idle_timeout: float = 300.0
    connect_timeout: float = 20.0
    read_receipts: bool = False
    inbound_rate: float = INBOUND_RATE
    inbound_burst: int = INBOUND_BURST
    mailbox_poll: float = 60.0


def make_peer_link(
    keys: IdentityKeys,
    pair: PairChannel,
    relay: RelayPort,
    options: ChatOptions,
    clock: Callable[[], float],
    turn: TurnSource,
) -> PeerLink:
    """The link to ``pair``'s contact, signalling on the pair's relay topic."""
    topic = pair.relay_out_topic.raw

    async def send_signal(payload: bytes) -> None:
        await relay.relay(topic, payload)

    return PeerLink(
        keys,
        pair.peer_public,
        send_signal,
        ice_servers=options.ice_servers,
        turn=turn,
        relay_only=options.relay_only,
        connect_timeout=options.connect_timeout,
        idle_timeout=options.idle_timeout,
        clock=clock,
    )
