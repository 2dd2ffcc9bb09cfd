"""What the node wants from the server, independent of any connection.

Pure bookkeeping: the subscriptions and the latest publication per publish
token the node asked for (a token opens one topic: ``wire.token_topic``).
The adapter applies changes while connected and re-applies the whole state
after every reconnect, so callers never wait for the network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kith_proto import wire

__all__ = ["DesiredState", "SubscriptionChange", "check_topic"]


def check_topic(topic: bytes) -> bytes:
    """Return ``topic`` if it is 32 bytes (a topic or a publish token), else
    raise ``ValueError``."""
    if not isinstance(topic, bytes) or len(topic) != wire.TOPIC_SIZE:
        raise ValueError(f"a topic is {wire.TOPIC_SIZE} bytes")
    return topic


@dataclass(frozen=True)
class SubscriptionChange:
    """The difference between two desired subscription sets."""

    added: tuple[bytes, ...]
    removed: tuple[bytes, ...]


class DesiredState:
    """Subscriptions and retained publications the node wants in place."""

    def __init__(self) -> None:
        self._subscriptions: set[bytes] = set()
        self._publications: dict[bytes, bytes] = {}

    @property
    def subscriptions(self) -> frozenset[bytes]:
        """The topics the node wants events for."""
        return frozenset(self._subscriptions)

    @property
    def publications(self) -> dict[bytes, bytes]:
        """A copy of the latest payload per publish token, oldest first."""
        return dict(self._publications)

    def is_subscribed(self, topic: bytes) -> bool:
        """Whether the node wants events for ``topic``."""
        return topic in self._subscriptions

    def payload(self, token: bytes) -> bytes | None:
        """The latest payload the node published with ``token``, if any."""
        return self._publications.get(token)

    def set_subscriptions(self, topics: Iterable[bytes]) -> SubscriptionChange:
        """Replace the subscription set; return what changed."""
        wanted = {check_topic(t) for t in topics}
        change = SubscriptionChange(
            added=tuple(sorted(wanted - self._subscriptions)),
            removed=tuple(sorted(self._subscriptions - wanted)),
        )
        self._subscriptions = wanted
        return change

    def publish(self, token: bytes, payload: bytes) -> None:
        """Remember ``payload`` as the latest value published with ``token``."""
        self._publications.pop(check_topic(token), None)
        self._publications[token] = bytes(payload)

    def retract(self, tokens: Iterable[bytes]) -> tuple[bytes, ...]:
        """Forget publications; return the tokens given (validated)."""
        checked = tuple(check_topic(t) for t in tokens)
        for token in checked:
            self._publications.pop(token, None)
        return checked
