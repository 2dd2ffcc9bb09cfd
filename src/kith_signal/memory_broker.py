"""The in-process broker: the default, for a single server process.

Memory matters here (10k users with 50 contacts hold a million topic
references), so topic strings are interned (the publisher's and the
subscriber's copies become one object) and a topic with a single subscriber,
the usual case for pair topics, stores its connection id without a set.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

from kith_proto import wire
from kith_signal.broker import Delivery, Replaced, Sink, TopicLimitError

__all__ = ["InProcessBroker"]


class InProcessBroker:
    """Implements :class:`~kith_signal.broker.Broker` with dictionaries.

    Args:
        max_topics: Most distinct topics one connection may subscribe to or
            publish on at once.
    """

    def __init__(self, max_topics: int = 1024) -> None:
        self._max_topics = max_topics
        self._sinks: dict[str, Sink] = {}
        self._logins: dict[bytes, str] = {}
        self._tags: dict[str, bytes] = {}
        self._subscribers: dict[str, str | set[str]] = {}
        self._subscriptions: dict[str, set[str]] = {}
        self._retained: dict[str, tuple[str, str]] = {}
        self._published: dict[str, set[str]] = {}

    async def attach(self, conn_id: str, sink: Sink) -> None:
        self._sinks[conn_id] = sink

    async def login(self, conn_id: str, identity_tag: bytes) -> None:
        previous = self._logins.get(identity_tag)
        self._logins[identity_tag] = conn_id
        self._tags[conn_id] = identity_tag
        if previous is not None and previous != conn_id:
            self._tags.pop(previous, None)
            self._deliver(previous, Replaced())

    async def subscribe(self, conn_id: str, topics: Sequence[str]) -> list[wire.Retained]:
        mine = self._subscriptions.setdefault(conn_id, set())
        self._check_limit(conn_id, topics)
        for topic in map(sys.intern, topics):
            mine.add(topic)
            self._add_subscriber(topic, conn_id)
        return [
            wire.Retained(topic=topic, payload=self._retained[topic][1])
            for topic in dict.fromkeys(topics)
            if topic in self._retained
        ]

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        mine = self._subscriptions.get(conn_id, set())
        for topic in topics:
            mine.discard(topic)
            self._drop_subscriber(topic, conn_id)

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        topic = sys.intern(topic)
        published = self._published.setdefault(conn_id, set())
        if topic not in published:
            self._check_limit(conn_id, (topic,))
            published.add(topic)
        self._retained[topic] = (conn_id, payload)
        return self._fan_out(topic, conn_id, wire.Event(topic=topic, payload=payload))

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        published = self._published.get(conn_id, set())
        for topic in topics:
            published.discard(topic)
        return self._gone(conn_id, topics)

    async def relay(self, conn_id: str, topic: str, payload: str) -> int:
        return self._fan_out(topic, conn_id, wire.Relayed(topic=topic, payload=payload))

    async def intro(self, conn_id: str, topic: str, payload: str) -> int:
        return self._fan_out(topic, conn_id, wire.IntroReceived(topic=topic, payload=payload))

    async def detach(self, conn_id: str) -> int:
        self._sinks.pop(conn_id, None)
        tag = self._tags.pop(conn_id, None)
        if tag is not None and self._logins.get(tag) == conn_id:
            del self._logins[tag]
        for topic in self._subscriptions.pop(conn_id, set()):
            self._drop_subscriber(topic, conn_id)
        return self._gone(conn_id, self._published.pop(conn_id, set()))

    async def snapshot(self) -> dict[str, Any]:
        return {
            "connections": sorted(self._sinks),
            "logins": {tag.hex(): conn for tag, conn in self._logins.items()},
            "subscribers": {
                topic: sorted(self._subscribers_of(topic)) for topic in self._subscribers
            },
            "retained": {topic: list(value) for topic, value in self._retained.items()},
            "published": {conn: sorted(t) for conn, t in self._published.items() if t},
        }

    # -- internals --

    def _check_limit(self, conn_id: str, topics: Iterable[str]) -> None:
        held = self._subscriptions.get(conn_id, set()) | self._published.get(conn_id, set())
        if len(held.union(topics)) > self._max_topics:
            raise TopicLimitError(f"at most {self._max_topics} topics per connection")

    def _gone(self, conn_id: str, topics: Iterable[str]) -> int:
        delivered = 0
        for topic in topics:
            owner = self._retained.get(topic)
            if owner is not None and owner[0] == conn_id:
                del self._retained[topic]
                delivered += self._fan_out(topic, conn_id, wire.Gone(topic=topic))
        return delivered

    def _fan_out(self, topic: str, sender: str, message: Delivery) -> int:
        delivered = 0
        for conn_id in self._subscribers_of(topic):
            if conn_id != sender:
                self._deliver(conn_id, message)
                delivered += 1
        return delivered

    def _deliver(self, conn_id: str, message: Delivery) -> None:
        sink = self._sinks.get(conn_id)
        if sink is not None:
            sink(message)

    def _subscribers_of(self, topic: str) -> Iterable[str]:
        current = self._subscribers.get(topic)
        if current is None:
            return ()
        return (current,) if isinstance(current, str) else current

    def _add_subscriber(self, topic: str, conn_id: str) -> None:
        current = self._subscribers.get(topic)
        if current is None:
            self._subscribers[topic] = conn_id
        elif isinstance(current, str):
            if current != conn_id:
                self._subscribers[topic] = {current, conn_id}
        else:
            current.add(conn_id)

    def _drop_subscriber(self, topic: str, conn_id: str) -> None:
        current = self._subscribers.get(topic)
        if current is None:
            return
        if isinstance(current, str):
            if current == conn_id:
                del self._subscribers[topic]
            return
        current.discard(conn_id)
        if len(current) == 1:
            self._subscribers[topic] = next(iter(current))
