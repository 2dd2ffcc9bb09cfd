"""The broker: every piece of routing state, behind one async interface.

Connection handlers hold no routing state. They name connections by opaque,
globally unique ids and hand the broker a *sink*: a non-blocking callable
that queues a delivery for that connection. An in-process broker calls sinks
directly; a Redis-backed broker (several server processes) will publish
deliveries to the process holding the connection, which calls the sink.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from kith_proto import wire

__all__ = [
    "DEFAULT_MAX_RETAINED_BYTES",
    "Broker",
    "BrokerError",
    "Delivery",
    "Replaced",
    "ReplyBudgetError",
    "RetainedLimitError",
    "Sink",
    "TopicLimitError",
]


DEFAULT_MAX_RETAINED_BYTES = 256 * 1024 * 1024
"""The default cap on retained payload bytes, for one process (``--max-retained-bytes``)."""


@dataclass(frozen=True)
class Replaced:
    """Delivered to a connection whose identity logged in elsewhere."""


Delivery: TypeAlias = wire.Event | wire.Gone | wire.Relayed | wire.IntroReceived | Replaced
Sink: TypeAlias = Callable[[Delivery], None]


class BrokerError(Exception):
    """A broker operation failed; the request gets an error frame."""


class TopicLimitError(BrokerError):
    """The connection would subscribe or publish to more topics than allowed."""


class RetainedLimitError(BrokerError):
    """Retaining the values would take the server past its retained-bytes cap."""


class ReplyBudgetError(BrokerError):
    """A ``subscribe`` reply would carry more retained bytes than it may.

    Attributes:
        size: The retained bytes the reply would have carried.
    """

    def __init__(self, size: int) -> None:
        super().__init__(f"the reply would carry {size} retained bytes")
        self.size = size


class Broker(Protocol):
    """Routing state: subscriptions, retained values, gone-on-drop, one login.

    ``conn_id`` values are opaque and unique across every server process that
    shares the broker. Topics and payloads are the wire strings, never decoded.
    Methods that fan out return how many deliveries they made.
    """

    async def attach(self, conn_id: str, sink: Sink) -> None:
        """Register a live connection and where its deliveries go."""

    async def login(self, conn_id: str, identity_tag: bytes) -> None:
        """Bind an identity tag to ``conn_id``; an older holder gets ``Replaced``."""

    async def subscribe(
        self, conn_id: str, topics: Sequence[str], max_reply_bytes: int | None = None
    ) -> list[wire.Retained]:
        """Subscribe; return the retained values of the topics ``conn_id`` did
        not have yet (topics already subscribed bring nothing again).

        All or nothing: ``TopicLimitError`` past the topic limit,
        ``ReplyBudgetError`` when the values (topic and payload text, see
        :func:`kith_proto.limits.retained_size`) exceed ``max_reply_bytes``.
        """

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        """Drop subscriptions."""

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        """Retain ``payload`` on ``topic`` for as long as ``conn_id`` lives; fan it out."""

    async def publish_batch(self, conn_id: str, items: Sequence[tuple[str, str]]) -> int:
        """:meth:`publish` of every ``(topic, payload)`` in order; all or none
        (``TopicLimitError`` or ``RetainedLimitError`` before anything changes)."""

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        """Drop ``conn_id``'s retained values on ``topics`` and announce ``gone``."""

    async def relay(self, conn_id: str, topic: str, payload: str) -> int:
        """Deliver ``relayed`` to the topic's subscribers (other than ``conn_id``)."""

    async def intro(self, conn_id: str, topic: str, payload: str) -> int:
        """Deliver ``intro_received`` to the topic's subscribers (other than ``conn_id``)."""

    async def detach(self, conn_id: str) -> int:
        """Forget a closed connection: ``gone`` on what it published, drop everything."""

    def retained_bytes(self) -> int:
        """Bytes of retained payloads held (decoded), for the metric."""

    async def snapshot(self) -> dict[str, Any]:
        """Everything the broker holds, for debugging and privacy tests."""
