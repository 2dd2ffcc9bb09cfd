"""One subscription set for two users of the signaling client.

The presence driver sets its presence topics; the chat driver sets the relay
inboxes it listens on. :class:`SubscriptionMux` stands in for the signaling
client towards the presence driver and keeps the client's subscription set
the union of both. Publishing and retracting pass straight through.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = ["SubscriptionMux"]


class _Signaling(Protocol):
    def set_subscriptions(self, topics: Iterable[bytes]) -> None: ...
    def publish(self, token: bytes, payload: bytes) -> None: ...
    def retract(self, tokens: Iterable[bytes]) -> None: ...


class SubscriptionMux:
    """Merges presence and relay subscriptions onto one signaling client.

    Args:
        client: The signaling client.
        always: Topics subscribed for the whole run (our intro topic).
    """

    def __init__(self, client: _Signaling, always: Iterable[bytes] = ()) -> None:
        self._client = client
        self._always = frozenset(always)
        self._presence: frozenset[bytes] = frozenset()
        self._relay: frozenset[bytes] = frozenset()
        if self._always:
            self._apply()

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        """The presence driver's topics (the :class:`PresenceDriver` port)."""
        self._presence = frozenset(topics)
        self._apply()

    def set_relay_topics(self, topics: Iterable[bytes]) -> None:
        """The relay inboxes the chat driver listens on."""
        relay = frozenset(topics)
        if relay != self._relay:
            self._relay = relay
            self._apply()

    def publish(self, token: bytes, payload: bytes) -> None:
        """Pass a publication (by publish token) through."""
        self._client.publish(token, payload)

    def retract(self, tokens: Iterable[bytes]) -> None:
        """Pass a retraction (by publish tokens) through."""
        self._client.retract(tokens)

    def _apply(self) -> None:
        self._client.set_subscriptions(self._always | self._presence | self._relay)
