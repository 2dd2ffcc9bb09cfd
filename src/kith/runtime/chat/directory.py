"""The node's chat peers, found by contact ID, by topic or by message."""

from __future__ import annotations

from collections.abc import Iterator

from kith.chat import UnknownMessage
from kith.contacts import canonical_id
from kith.errors import ContactError
from kith.runtime.chat.peer import ChatPeer

__all__ = ["PeerDirectory"]


class PeerDirectory:
    """One :class:`ChatPeer` per contact, indexed by the topics it listens on
    (its presence topic and its relay inbox)."""

    def __init__(self) -> None:
        self._peers: dict[str, ChatPeer] = {}
        self._by_topic: dict[bytes, ChatPeer] = {}

    def __contains__(self, contact_id: str) -> bool:
        return contact_id in self._peers

    def __iter__(self) -> Iterator[ChatPeer]:
        return iter(list(self._peers.values()))

    def add(self, peer: ChatPeer) -> None:
        """Track ``peer`` under its contact ID and its two inbound topics."""
        self._peers[peer.contact_id] = peer
        self._by_topic[peer.pair.subscribe_topic.raw] = peer
        self._by_topic[peer.pair.relay_in_topic.raw] = peer

    def pop(self, contact_id: str) -> ChatPeer | None:
        """Stop tracking a contact; its peer, if there was one."""
        peer = self._peers.pop(contact_id, None)
        if peer is not None:
            for topic in (peer.pair.subscribe_topic.raw, peer.pair.relay_in_topic.raw):
                self._by_topic.pop(topic, None)
        return peer

    def clear(self) -> list[ChatPeer]:
        """Stop tracking everyone; the peers that were tracked."""
        peers = list(self._peers.values())
        self._peers.clear()
        self._by_topic.clear()
        return peers

    def get(self, contact_id: str) -> ChatPeer | None:
        """The peer of a canonical contact ID, if tracked."""
        return self._peers.get(contact_id)

    def presence_source(self, topic: bytes) -> ChatPeer | None:
        """The peer whose presence arrives on ``topic``."""
        peer = self._by_topic.get(topic)
        return peer if peer is not None and topic == peer.pair.subscribe_topic.raw else None

    def relay_source(self, topic: bytes) -> ChatPeer | None:
        """The peer whose offers and answers arrive on ``topic``."""
        peer = self._by_topic.get(topic)
        return peer if peer is not None and topic == peer.pair.relay_in_topic.raw else None

    def named(self, contact: str) -> ChatPeer:
        """The peer of a contact named by ID (as typed).

        Raises:
            ContactError: a malformed ID, or not a contact.
        """
        peer = self._peers.get(contact)  # as the UI and the CLI send it: no parse per request
        if peer is not None:
            return peer
        kith_id, _ = canonical_id(contact)
        peer = self._peers.get(kith_id)
        if peer is None:
            raise ContactError(f"{kith_id} is not one of your contacts", code="unknown_contact")
        return peer

    def owner(self, message_id: str) -> ChatPeer:
        """The peer whose conversation holds ``message_id``.

        Raises:
            UnknownMessage: no conversation holds it.
        """
        for peer in self._peers.values():
            if peer.conversation.message(message_id) is not None:
                return peer
        raise UnknownMessage("there is no message with that ID")
