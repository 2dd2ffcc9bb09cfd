"""The in-process broker: the default, for a single server process.

Memory and the garbage collector matter here (10k users with 50 contacts hold
half a million topics, each with a subscriber and a retained value), so state
is kept in flat dictionaries of *untracked* values, measured with
``bench/signal_memory.py``:

- one dictionary entry per topic: the raw 32-byte key and one bytes object,
  the topic's *record*: its subscriber's 4-byte connection number, its
  holder's (the connection whose value is retained), then the retained
  payload, raw (a quarter smaller than its base64). A topic with several
  subscribers (rare: pair topics have one) marks the record and keeps their
  numbers in a set on the side; "nobody" is a reserved number;
- what a connection subscribes to and holds: one bytes object each, the raw
  topics one after the other (no key object per entry: the dictionary's own
  key is the only one).

A topic costs about 230 bytes besides its payload (it was about 300 with a
table for subscribers, one for values, and lists of key objects). Wire
strings are decoded on the way in and written again only for the rare replies
that need them (retained values on subscribe, ``gone``).
"""

from __future__ import annotations

import binascii
from binascii import a2b_base64
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from kith_proto import wire
from kith_proto.limits import retained_size
from kith_signal.broker import (
    DEFAULT_MAX_RETAINED_BYTES,
    Delivery,
    Replaced,
    ReplyBudgetError,
    RetainedLimitError,
    Sink,
    TopicLimitError,
)

__all__ = ["InProcessBroker"]

_text = wire.encode_payload

_NUMBER: Final = 4  # bytes of a connection number
_HEAD: Final = 2 * _NUMBER  # a record's subscriber and holder, before the payload
_NOBODY: Final = b"\xff\xff\xff\xff"  # no subscriber, or no value held
_CROWD: Final = b"\xff\xff\xff\xfe"  # several subscribers: their numbers are in ``_crowds``
_NUMBERS: Final = (1 << (8 * _NUMBER)) - 2  # connection numbers below the two markers
_TOPIC: Final = 32  # raw topic size
_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_PADDING: Final = ("", "", "==", "=")  # by the text's length modulo 4 (1 is impossible)


def _raw(text: str) -> bytes:
    """The bytes of base64url text whose spelling the schema already checked
    (topics and payloads): ``wire.decode_payload`` without its checks, which
    costs a third of the time on the per-delivery path."""
    try:
        return a2b_base64((text + _PADDING[len(text) % 4]).encode().translate(_STANDARD))
    except binascii.Error:
        return wire.decode_payload(text)  # raises its clear error


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
        self._logins: dict[bytes, str] = {}
        self._tags: dict[str, bytes] = {}
        self._numbers: dict[str, bytes] = {}
        self._conn_of: dict[bytes, str] = {}
        self._sinks: dict[bytes, Sink] = {}
        self._next_number = 0
        self._topics: dict[bytes, bytes] = {}
        self._crowds: dict[bytes, set[bytes]] = {}
        self._subscriptions: dict[str, bytes] = {}
        self._published: dict[str, bytes] = {}

    async def attach(self, conn_id: str, sink: Sink) -> None:
        self._sinks[self._number(conn_id)] = sink

    async def login(self, conn_id: str, identity_tag: bytes) -> None:
        previous = self._logins.get(identity_tag)
        self._logins[identity_tag] = conn_id
        self._tags[conn_id] = identity_tag
        if previous is not None and previous != conn_id:
            self._tags.pop(previous, None)
            number = self._numbers.get(previous)
            if number is not None:
                self._deliver(number, Replaced())

    async def subscribe(
        self, conn_id: str, topics: Sequence[str], max_reply_bytes: int | None = None
    ) -> list[wire.Retained]:
        number = self._number(conn_id)
        mine = self._subscriptions.get(conn_id, b"")
        new = {
            text: raw
            for text, raw in zip(topics, map(_raw, topics), strict=True)
            if not self._is_subscriber(raw, number)
        }
        _check_count(len(mine) // _TOPIC, len(new), self._max_topics)
        values = [(text, raw) for text, raw in new.items() if self._has_value(raw)]
        if max_reply_bytes is not None:
            size = sum(retained_size(len(self._topics[raw]) - _HEAD) for _, raw in values)
            if size > max_reply_bytes:
                raise ReplyBudgetError(size)
        waiting = number + _NOBODY  # one object for every new topic without a value
        for topic in new.values():
            self._add_subscriber(topic, number, waiting)
        if new:
            self._subscriptions[conn_id] = mine + b"".join(new.values())
        return [
            wire.Retained(topic=text, payload=_text(self._topics[raw][_HEAD:]))
            for text, raw in values
        ]

    async def unsubscribe(self, conn_id: str, topics: Sequence[str]) -> None:
        number = self._numbers.get(conn_id)
        if number is None:
            return
        drop = {raw for raw in map(_raw, topics) if self._is_subscriber(raw, number)}
        if not drop:
            return
        for topic in drop:
            self._drop_subscriber(topic, number)
        self._subscriptions[conn_id] = _without(self._subscriptions.get(conn_id, b""), drop)

    async def publish(self, conn_id: str, topic: str, payload: str) -> int:
        return await self.publish_batch(conn_id, [(topic, payload)])

    async def publish_batch(self, conn_id: str, items: Sequence[tuple[str, str]]) -> int:
        raw = [_raw(topic) for topic, _ in items]
        number = self._number(conn_id)
        published = self._published.get(conn_id, b"")
        taken = {t for t in raw if not self._holds(t, number)}
        _check_count(len(published) // _TOPIC, len(taken), self._max_topics)
        self._check_retained(raw, items)
        topics = self._topics
        taking: list[bytes] = []
        delivered = 0
        for topic, (text, payload) in zip(raw, items, strict=True):
            record = topics.get(topic)
            value = _raw(payload)
            if record is None:
                subscriber = _NOBODY
                taking.append(topic)
            else:
                subscriber, holder = record[:_NUMBER], record[_NUMBER:_HEAD]
                if holder == _NOBODY:
                    taking.append(topic)
                else:
                    self._retained_bytes -= len(record) - _HEAD
                    if holder != number:
                        self._release(holder, topic)
                        taking.append(topic)
            self._retained_bytes += len(value)
            topics[topic] = b"".join((subscriber, number, value))
            if subscriber == _NOBODY:
                continue
            event = wire.Event(topic=text, payload=payload)
            if subscriber == _CROWD:
                delivered += self._fan_out(topic, number, event)
            elif subscriber != number:  # the usual case: one subscriber, not the publisher
                self._deliver(subscriber, event)
                delivered += 1
        if taking:
            self._published[conn_id] = published + b"".join(taking)
        return delivered

    async def retract(self, conn_id: str, topics: Sequence[str]) -> int:
        number = self._numbers.get(conn_id)
        if number is None:
            return 0
        held = {raw for raw in map(_raw, topics) if self._holds(raw, number)}
        if not held:
            return 0
        self._published[conn_id] = _without(self._published.get(conn_id, b""), held)
        return self._gone(number, held)

    async def relay(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.Relayed(topic=topic, payload=payload)
        return self._fan_out(_raw(topic), self._numbers.get(conn_id, _NOBODY), message)

    async def intro(self, conn_id: str, topic: str, payload: str) -> int:
        message = wire.IntroReceived(topic=topic, payload=payload)
        return self._fan_out(_raw(topic), self._numbers.get(conn_id, _NOBODY), message)

    async def detach(self, conn_id: str) -> int:
        tag = self._tags.pop(conn_id, None)
        if tag is not None and self._logins.get(tag) == conn_id:
            del self._logins[tag]
        number = self._numbers.pop(conn_id, None)
        if number is None:
            return 0
        self._sinks.pop(number, None)
        for topic in _split(self._subscriptions.pop(conn_id, b"")):
            self._drop_subscriber(topic, number)
        delivered = self._gone(number, _split(self._published.pop(conn_id, b"")))
        del self._conn_of[number]
        return delivered

    def retained_bytes(self) -> int:
        return self._retained_bytes

    async def snapshot(self) -> dict[str, Any]:
        conn_of = self._conn_of
        return {
            "connections": sorted(conn_of[number] for number in self._sinks),
            "logins": {tag.hex(): conn for tag, conn in self._logins.items()},
            "subscribers": {
                _text(topic): sorted(conn_of[n] for n in self._subscribers_of(topic, record))
                for topic, record in self._topics.items()
                if record[:_NUMBER] != _NOBODY
            },
            "retained": {
                _text(topic): [conn_of[record[_NUMBER:_HEAD]], _text(record[_HEAD:])]
                for topic, record in self._topics.items()
                if record[_NUMBER:_HEAD] != _NOBODY
            },
            "published": {
                conn: sorted(map(_text, _split(topics)))
                for conn, topics in self._published.items()
                if topics
            },
        }

    # -- internals --

    def _number(self, conn_id: str) -> bytes:
        """The connection's number, given on first use (attach, normally)."""
        number = self._numbers.get(conn_id)
        if number is None:
            number = self._next_number.to_bytes(_NUMBER, "big")
            while number in self._conn_of:  # after 2**32 connections, skip the live ones
                self._next_number = (self._next_number + 1) % _NUMBERS
                number = self._next_number.to_bytes(_NUMBER, "big")
            self._next_number = (self._next_number + 1) % _NUMBERS
            self._numbers[conn_id] = number
            self._conn_of[number] = conn_id
        return number

    def _has_value(self, topic: bytes) -> bool:
        record = self._topics.get(topic)
        return record is not None and record[_NUMBER:_HEAD] != _NOBODY

    def _payload_size(self, topic: bytes) -> int:
        record = self._topics.get(topic)
        if record is None or record[_NUMBER:_HEAD] == _NOBODY:
            return 0
        return len(record) - _HEAD

    def _holds(self, topic: bytes, number: bytes) -> bool:
        """Whether the connection numbered ``number`` holds ``topic``'s value."""
        record = self._topics.get(topic)
        return record is not None and record[_NUMBER:_HEAD] == number

    def _release(self, holder: bytes, topic: bytes) -> None:
        """Another connection takes over ``topic``'s value: drop the topic
        from the holder's list (a rare event)."""
        conn_id = self._conn_of.get(holder)
        if conn_id is not None and conn_id in self._published:
            self._published[conn_id] = _without(self._published[conn_id], {topic})

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

    def _gone(self, number: bytes, topics: Iterable[bytes]) -> int:
        """Drop the values of ``topics`` (all held by ``number``) and announce them gone."""
        delivered = 0
        for topic in topics:
            record = self._topics[topic]
            self._retained_bytes -= len(record) - _HEAD
            subscriber = record[:_NUMBER]
            if subscriber == _NOBODY:
                del self._topics[topic]
                continue
            self._topics[topic] = subscriber + _NOBODY
            delivered += self._fan_out(topic, number, wire.Gone(topic=_text(topic)))
        return delivered

    def _fan_out(self, topic: bytes, sender: bytes, message: Delivery) -> int:
        record = self._topics.get(topic)
        if record is None:
            return 0
        subscriber = record[:_NUMBER]
        if subscriber in (_NOBODY, sender):
            return 0
        if subscriber != _CROWD:  # the usual case: one subscriber
            self._deliver(subscriber, message)
            return 1
        delivered = 0
        for number in self._crowds[topic]:
            if number != sender:
                self._deliver(number, message)
                delivered += 1
        return delivered

    def _deliver(self, number: bytes, message: Delivery) -> None:
        sink = self._sinks.get(number)
        if sink is not None:
            sink(message)

    def _is_subscriber(self, topic: bytes, number: bytes) -> bool:
        record = self._topics.get(topic)
        if record is None:
            return False
        subscriber = record[:_NUMBER]
        if subscriber == _CROWD:
            return number in self._crowds[topic]
        return subscriber == number

    def _subscribers_of(self, topic: bytes, record: bytes) -> Iterable[bytes]:
        subscriber = record[:_NUMBER]
        if subscriber == _NOBODY:
            return ()
        return self._crowds[topic] if subscriber == _CROWD else (subscriber,)

    def _add_subscriber(self, topic: bytes, number: bytes, waiting: bytes) -> None:
        """Add ``number`` to ``topic``'s subscribers; ``waiting`` is the record
        of a topic it alone subscribes to and nobody holds (shared)."""
        record = self._topics.get(topic)
        if record is None:
            self._topics[topic] = waiting
            return
        subscriber = record[:_NUMBER]
        if subscriber == _NOBODY:
            self._topics[topic] = number + record[_NUMBER:]
        elif subscriber == _CROWD:
            self._crowds[topic].add(number)
        elif subscriber != number:
            self._crowds[topic] = {subscriber, number}
            self._topics[topic] = _CROWD + record[_NUMBER:]

    def _drop_subscriber(self, topic: bytes, number: bytes) -> None:
        record = self._topics.get(topic)
        if record is None:
            return
        subscriber = record[:_NUMBER]
        if subscriber == _CROWD:
            crowd = self._crowds[topic]
            crowd.discard(number)
            if len(crowd) == 1:
                del self._crowds[topic]
                self._topics[topic] = crowd.pop() + record[_NUMBER:]
        elif subscriber == number:
            if record[_NUMBER:_HEAD] == _NOBODY:
                del self._topics[topic]
            else:
                self._topics[topic] = _NOBODY + record[_NUMBER:]


def _split(topics: bytes) -> Iterator[bytes]:
    """The raw topics of a connection's list, one after the other."""
    return (topics[i : i + _TOPIC] for i in range(0, len(topics), _TOPIC))


def _without(topics: bytes, drop: set[bytes]) -> bytes:
    return b"".join(topic for topic in _split(topics) if topic not in drop)


def _check_count(held: int, new: int, limit: int) -> None:
    if held + new > limit:
        raise TopicLimitError(f"at most {limit} topics per connection")
