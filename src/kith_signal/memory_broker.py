"""The in-process broker: the default, for a single server process.

Memory and the garbage collector matter here (10k users with 50 contacts hold
a million topic references and half a million retained values), so state is
kept in flat dictionaries of *untracked* values: topics are the raw 32-byte
keys, retained payloads raw bytes (a quarter smaller than their base64), the
publisher of each retained value a separate ``topic -> conn_id`` entry (no
tuple per value), and a topic with a single subscriber, the usual case for
pair topics, stores its connection id without a set. Wire strings are decoded
on the way in and written again only for the rare replies that need them
(retained values on subscribe, ``gone``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kith_proto import wire
from kith_proto.limits import retained_size
from kith_signal.broker import (
    Delivery,
    Replaced,
    ReplyBudgetError,
    RetainedLimitError,
    Sink,
    TopicLimitError,
)

__all__ = ["InProcessBroker"]

_topic = wire.decode_payload  # the schema already checked the spelling
_text = wire.encode_payload

DEFAULT_MAX_RETAINED_BYTES = 256 * 1024 * 1024


class InProcessBroker:
    """Implements :class:`~kith_signal.broker.Broker` with dictionaries.

    Args:
        max_topics: Most topics one connection may subscribe to, and
            (counted separately) most it may publish on, at once.
        max_retained_bytes: Most bytes of retained payloads (decoded) the
            whole process holds; a publish that would exceed it is refused.
    """

    def __init__(
        self, max_topics: int = 4096, max_retained_bytes: int = DEFAULT_MAX_RETAINED_BYTES
    ) -> None:
        self._max_topics = max_topics
        self._max_retained_bytes = max_retained_bytes
        self._retained_bytes = 0
        self._sinks: dict[str, Sink] = {}
        self._logins: dict[bytes, str] = {}
        self._tags: dict[str, bytes] = {}
        self._subscribers: dict[bytes, str | set[str]] = {}
        self._subscriptions: dict[str, set[bytes]] = {}
        self._retained: dict[bytes, bytes] = {}
        self._holder: dict[bytes, str] = {}
        self._published: dict[str, set[bytes]] = {}

    async def attach(self, conn_id: str, sink: Sink) -> None:
        self._sinks[conn_id] = sink

    async def login(self, conn_id: str, identity_tag: bytes) -> None:
        previous = self._logins.get(identity_tag)
        self._logins[identity_tag] = conn_id
        self._tags[conn_id] = identity_tag
        if previous is not None and previous != conn_id:
            self._tags.pop(previous, None)
            self._deliver(previous, Replaced())

    async def subscribe(
        self, conn_id: str, topics: Sequence[str], max_reply_bytes: int | None = None
    ) -> list[wire.Retained]:
        mine = self._subscriptions.setdefault(conn_id, set())
        new = {
            t: raw for t, raw in zip(topics, map(_topic, topics), strict=True) if raw not in mine
        }
        _check_limit(mine, new.values(), self._max_topics)
        values = [(text, raw) for text, raw in new.items() if raw in self._retained]
        if max_reply_bytes is not None:
            size = sum(retained_size(len(self._retained[raw])) for _, raw in values)
            if size > max_reply_bytes:
                raise ReplyBudgetError(size)
        for topic in new.values():
            mine.add(topic)
            self._add_subscriber(topic, conn_id)
        return [
            wire.Retained(topic=text, payload=_text(self._retained[raw])) for text, raw in values
        ]

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        mine = self._subscriptions.get(conn_id, set())
        for topic in map(_topic, topics):
            if topic in mine:
                mine.discard(topic)
                self._drop_subscriber(topic, conn_id)

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        return await self.publish_batch(conn_id, [(topic, payload)])

    async def publish_batch(self, conn_id: str, items: Sequence[tuple[str, str]]) -> int:
        raw = [_topic(topic) for topic, _ in items]
        published = self._published.setdefault(conn_id, set())
        _check_limit(published, raw, self._max_topics)
        self._check_retained(raw, items)
        delivered = 0
        for topic, (text, payload) in zip(raw, items, strict=True):
            published.add(topic)
            self._retain(topic, wire.decode_payload(payload))
            self._holder[topic] = conn_id
            delivered += self._fan_out(topic, conn_id, wire.Event(topic=text, payload=payload))
        return delivered

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        raw = [_topic(t) for t in topics]
        published = self._published.get(conn_id, set())
        for topic in raw:
            published.discard(topic)
        return self._gone(conn_id, raw)

    async def relay(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.Relayed(topic=topic, payload=payload)
        return self._fan_out(_topic(topic), conn_id, message)

    async def intro(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.IntroReceived(topic=topic, payload=payload)
        return self._fan_out(_topic(topic), conn_id, message)

    async def detach(self, conn_id: str) -> int:
        self._sinks.pop(conn_id, None)
        tag = self._tags.pop(conn_id, None)
        if tag is not None and self._logins.get(tag) == conn_id:
            del self._logins[tag]
        for topic in self._subscriptions.pop(conn_id, set()):
            self._drop_subscriber(topic, conn_id)
        return self._gone(conn_id, self._published.pop(conn_id, set()))

    def retained_bytes(self) -> int:
        return self._retained_bytes

    async def snapshot(self) -> dict[str, Any]:
        return {
            "connections": sorted(self._sinks),
            "logins": {tag.hex(): conn for tag, conn in self._logins.items()},
            "subscribers": {
                _text(topic): sorted(self._subscribers_of(topic)) for topic in self._subscribers
            },
            "retained": {
                _text(topic): [self._holder[topic], _text(payload)]
                for topic, payload in self._retained.items()
            },
            "published": {
                conn: sorted(map(_text, topics))
                for conn, topics in self._published.items()
                if topics
            },
        }

    # -- internals --

    def _check_retained(self, raw: Sequence[bytes], items: Sequence[tuple[str, str]]) -> None:
        """Refuse a batch that would take the retained bytes past the cap."""
        latest = {
            topic: wire.payload_size(payload)
            for topic, (_, payload) in zip(raw, items, strict=True)
        }
        growth = sum(size - len(self._retained.get(t, b"")) for t, size in latest.items())
        if growth > 0 and self._retained_bytes + growth > self._max_retained_bytes:
            raise RetainedLimitError(
                f"the server holds its maximum of {self._max_retained_bytes} retained bytes"
            )

    def _retain(self, topic: bytes, payload: bytes) -> None:
        old = self._retained.get(topic)
        self._retained_bytes += len(payload) - (0 if old is None else len(old))
        self._retained[topic] = payload

    def _gone(self, conn_id: str, topics: Iterable[bytes]) -> int:
        delivered = 0
        for topic in topics:
            if self._holder.get(topic) == conn_id:
                del self._holder[topic]
                self._retained_bytes -= len(self._retained.pop(topic))
                gone = wire.Gone(topic=_text(topic))
                delivered += self._fan_out(topic, conn_id, gone)
        return delivered

    def _fan_out(self, topic: bytes, sender: str, message: Delivery) -> int:
        current = self._subscribers.get(topic)
        if current is None:
            return 0
        if isinstance(current, str):  # the usual case: one subscriber
            if current == sender:
                return 0
            self._deliver(current, message)
            return 1
        delivered = 0
        for conn_id in current:
            if conn_id != sender:
                self._deliver(conn_id, message)
                delivered += 1
        return delivered

    def _deliver(self, conn_id: str, message: Delivery) -> None:
        sink = self._sinks.get(conn_id)
        if sink is not None:
            sink(message)

    def _subscribers_of(self, topic: bytes) -> Iterable[str]:
        current = self._subscribers.get(topic)
        if current is None:
            return ()
        return (current,) if isinstance(current, str) else current

    def _add_subscriber(self, topic: bytes, conn_id: str) -> None:
        current = self._subscribers.get(topic)
        if current is None:
            self._subscribers[topic] = conn_id
        elif isinstance(current, str):
            if current != conn_id:
                self._subscribers[topic] = {current, conn_id}
        else:
            current.add(conn_id)

    def _drop_subscriber(self, topic: bytes, conn_id: str) -> None:
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


def _check_limit(held: set[bytes], topics: Iterable[bytes], limit: int) -> None:
    new = {t for t in topics if t not in held}
    if len(held) + len(new) > limit:
        raise TopicLimitError(f"at most {limit} topics per connection")
