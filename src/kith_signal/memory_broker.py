"""The in-process broker: the default, for a single server process.

Memory and the garbage collector matter here (10k users with 50 contacts hold
a million topic references and half a million retained values), so state is
kept in flat dictionaries of *untracked* values: topics are the raw 32-byte
keys, and a retained value is one bytes object: the publisher's 4-byte
connection number followed by the raw payload (a quarter smaller than its
base64, and no second ``topic -> publisher`` table). A topic with a single
subscriber, the usual case for pair topics, stores its connection id without
a set. What a connection subscribes to and holds is a plain list of the same
topic objects (a set costs five times as much per entry); membership is
answered by the topic tables themselves. Wire strings are decoded on the way
in and written again only for the rare replies that need them (retained
values on subscribe, ``gone``).
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
_NUMBER = 4  # bytes of the publisher's connection number before a retained payload
_NOBODY = b"\xff" * (_NUMBER + 1)  # matches no value: for a connection never attached


class InProcessBroker:
    """Implements :class:`~kith_signal.broker.Broker` with dictionaries.

    Args:
        max_topics: Most topics one connection may subscribe to, and
            (counted separately) most it may hold published values on, at once.
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
        self._numbers: dict[str, bytes] = {}
        self._conn_of: dict[bytes, str] = {}
        self._next_number = 0
        self._subscribers: dict[bytes, str | set[str]] = {}
        self._subscriptions: dict[str, list[bytes]] = {}
        self._retained: dict[bytes, bytes] = {}
        self._published: dict[str, list[bytes]] = {}

    async def attach(self, conn_id: str, sink: Sink) -> None:
        self._sinks[conn_id] = sink
        if conn_id not in self._numbers:
            number = self._next_number.to_bytes(_NUMBER, "big")
            self._next_number = (self._next_number + 1) % (1 << (8 * _NUMBER))
            self._numbers[conn_id] = number
            self._conn_of[number] = conn_id

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
        mine = self._subscriptions.setdefault(conn_id, [])
        new = {
            text: raw
            for text, raw in zip(topics, map(_topic, topics), strict=True)
            if not self._is_subscriber(raw, conn_id)
        }
        _check_count(len(mine), len(new), self._max_topics)
        values = [(text, raw) for text, raw in new.items() if raw in self._retained]
        if max_reply_bytes is not None:
            size = sum(retained_size(self._payload_size(raw)) for _, raw in values)
            if size > max_reply_bytes:
                raise ReplyBudgetError(size)
        for topic in new.values():
            mine.append(topic)
            self._add_subscriber(topic, conn_id)
        return [
            wire.Retained(topic=text, payload=_text(self._payload(raw))) for text, raw in values
        ]

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        drop = {raw for raw in map(_topic, topics) if self._is_subscriber(raw, conn_id)}
        if not drop:
            return
        for topic in drop:
            self._drop_subscriber(topic, conn_id)
        mine = self._subscriptions.get(conn_id, [])
        mine[:] = [t for t in mine if t not in drop]

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        return await self.publish_batch(conn_id, [(topic, payload)])

    async def publish_batch(self, conn_id: str, items: Sequence[tuple[str, str]]) -> int:
        raw = [_topic(topic) for topic, _ in items]
        number = self._numbers.get(conn_id, _NOBODY)
        published = self._published.setdefault(conn_id, [])
        taken = {t for t in raw if not self._holds(t, number)}
        _check_count(len(published), len(taken), self._max_topics)
        self._check_retained(raw, items)
        delivered = 0
        for topic, (text, payload) in zip(raw, items, strict=True):
            if not self._holds(topic, number):
                self._take(topic, conn_id, published)
            self._retain(topic, number + wire.decode_payload(payload))
            delivered += self._fan_out(topic, conn_id, wire.Event(topic=text, payload=payload))
        return delivered

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        number = self._numbers.get(conn_id, _NOBODY)
        held = {raw for raw in map(_topic, topics) if self._holds(raw, number)}
        if not held:
            return 0
        published = self._published.get(conn_id, [])
        published[:] = [t for t in published if t not in held]
        return self._gone(conn_id, held)

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
        for topic in self._subscriptions.pop(conn_id, []):
            self._drop_subscriber(topic, conn_id)
        delivered = self._gone(conn_id, self._published.pop(conn_id, []))
        number = self._numbers.pop(conn_id, None)
        if number is not None:
            del self._conn_of[number]
        return delivered

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
                _text(topic): [self._conn_of[value[:_NUMBER]], _text(value[_NUMBER:])]
                for topic, value in self._retained.items()
            },
            "published": {
                conn: sorted(map(_text, topics))
                for conn, topics in self._published.items()
                if topics
            },
        }

    # -- internals --

    def _payload(self, topic: bytes) -> bytes:
        return self._retained[topic][_NUMBER:]

    def _payload_size(self, topic: bytes) -> int:
        value = self._retained.get(topic)
        return 0 if value is None else len(value) - _NUMBER

    def _holds(self, topic: bytes, number: bytes) -> bool:
        """Whether the connection numbered ``number`` holds ``topic``'s value."""
        value = self._retained.get(topic)
        return value is not None and value.startswith(number)

    def _take(self, topic: bytes, conn_id: str, published: list[bytes]) -> None:
        """``conn_id`` becomes the holder of ``topic``'s value: drop the topic
        from the list of the connection that held it (a rare event)."""
        value = self._retained.get(topic)
        if value is not None:
            previous = self._conn_of.get(value[:_NUMBER])
            theirs = self._published.get(previous, []) if previous is not None else []
            if topic in theirs:
                theirs.remove(topic)
        published.append(topic)

    def _check_retained(self, raw: Sequence[bytes], items: Sequence[tuple[str, str]]) -> None:
        """Refuse a batch that would take the retained bytes past the cap."""
        latest = {
            topic: wire.payload_size(payload)
            for topic, (_, payload) in zip(raw, items, strict=True)
        }
        growth = sum(size - self._payload_size(t) for t, size in latest.items())
        if growth > 0 and self._retained_bytes + growth > self._max_retained_bytes:
            raise RetainedLimitError(
                f"the server holds its maximum of {self._max_retained_bytes} retained bytes"
            )

    def _retain(self, topic: bytes, value: bytes) -> None:
        self._retained_bytes += len(value) - _NUMBER - self._payload_size(topic)
        self._retained[topic] = value

    def _gone(self, conn_id: str, topics: Iterable[bytes]) -> int:
        """Drop the values of ``topics`` (all held by ``conn_id``) and announce them gone."""
        delivered = 0
        for topic in topics:
            self._retained_bytes -= len(self._retained.pop(topic)) - _NUMBER
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

    def _is_subscriber(self, topic: bytes, conn_id: str) -> bool:
        current = self._subscribers.get(topic)
        if current is None:
            return False
        return current == conn_id if isinstance(current, str) else conn_id in current

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


def _check_count(held: int, new: int, limit: int) -> None:
    if held + new > limit:
        raise TopicLimitError(f"at most {limit} topics per connection")
