"""The in-process broker's compact layout: one record per topic, the
connections' topic lists as raw bytes, and what that costs per topic."""

from __future__ import annotations

import base64
import os
import tracemalloc

from kith_proto import wire
from kith_proto.envelope import ENVELOPE_SIZE
from kith_signal.broker import Delivery
from kith_signal.memory_broker import InProcessBroker

TOPICS = [wire.encode_topic(bytes([i]) * 32) for i in range(1, 6)]
T1, T2, T3 = TOPICS[:3]


def _sink(_: Delivery) -> None:
    """Deliveries are not looked at here."""


async def _everything_gone(broker: InProcessBroker) -> None:
    snapshot = await broker.snapshot()
    assert snapshot["subscribers"] == snapshot["retained"] == snapshot["published"] == {}
    assert broker.retained_bytes() == 0


async def test_three_subscribers_leave_one_by_one_and_leave_nothing() -> None:
    broker = InProcessBroker()
    got: dict[str, list[Delivery]] = {c: [] for c in "abcp"}
    for conn, box in got.items():
        await broker.attach(conn, box.append)
        await broker.subscribe(conn, [T1]) if conn != "p" else None
    assert await broker.publish("p", T1, "eA") == 3
    for gone, left in (("a", ["b", "c"]), ("b", ["c"])):
        await broker.detach(gone)
        assert (await broker.snapshot())["subscribers"] == {T1: left}
    assert await broker.publish("p", T1, "eQ") == 1
    assert got["c"][-1] == wire.Event(topic=T1, payload="eQ")
    await broker.detach("c")
    await broker.detach("p")
    await _everything_gone(broker)


async def test_a_subscriber_who_also_holds_the_value_gets_no_echo() -> None:
    broker = InProcessBroker()
    got: list[Delivery] = []
    await broker.attach("a", got.append)
    await broker.subscribe("a", [T1])
    assert await broker.publish("a", T1, "eA") == 0
    assert await broker.subscribe("a", [T1]) == []  # already subscribed: nothing again
    assert got == []
    assert await broker.detach("a") == 0
    await _everything_gone(broker)


async def test_unsubscribe_keeps_the_value_and_retract_keeps_the_subscription() -> None:
    broker = InProcessBroker()
    for conn in ("a", "b"):
        await broker.attach(conn, _sink)
    await broker.subscribe("b", [T1, T2, T3])
    await broker.publish_batch("a", [(T1, "eA"), (T2, "eQ")])
    await broker.unsubscribe("b", [T2])
    await broker.retract("a", [T1])
    snapshot = await broker.snapshot()
    assert snapshot["subscribers"] == {T1: ["b"], T3: ["b"]}
    assert snapshot["retained"] == {T2: ["a", "eQ"]}
    assert snapshot["published"] == {"a": [T2]}
    assert broker.retained_bytes() == 1
    await broker.detach("a")
    await broker.detach("b")
    await _everything_gone(broker)


async def test_a_topic_twice_in_one_batch_is_held_once_and_keeps_the_last_value() -> None:
    broker = InProcessBroker(max_topics=2)
    await broker.attach("a", _sink)
    await broker.publish_batch("a", [(T1, "eA"), (T1, "eQ"), (T2, "eg")])
    snapshot = await broker.snapshot()
    assert snapshot["published"] == {"a": sorted([T1, T2])}
    assert snapshot["retained"][T1] == ["a", "eQ"]
    assert broker.retained_bytes() == 2


async def test_a_connection_unknown_to_the_broker_changes_nothing() -> None:
    broker = InProcessBroker()
    await broker.unsubscribe("ghost", [T1])
    assert await broker.retract("ghost", [T1]) == 0
    assert await broker.detach("ghost") == 0
    assert await broker.relay("ghost", T1, "eA") == 0
    await _everything_gone(broker)


async def test_a_topic_with_its_value_and_subscriber_costs_under_250_bytes_beside_it() -> None:
    users, contacts = 400, 10
    broker = InProcessBroker(max_retained_bytes=1 << 32)
    conns = [f"c{i:06d}" for i in range(users)]
    topics = [[wire.encode_topic(os.urandom(32)) for _ in range(contacts)] for _ in range(users)]
    payload = base64.urlsafe_b64encode(os.urandom(ENVELOPE_SIZE)).decode().rstrip("=")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, conn in enumerate(conns):
            await broker.attach(conn, _sink)
            await broker.subscribe(conn, topics[(i + 1) % users])
        for conn, mine in zip(conns, topics, strict=True):
            await broker.publish_batch(conn, [(t, payload) for t in mine])
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    per_topic = held / (users * contacts) - ENVELOPE_SIZE
    assert broker.retained_bytes() == users * contacts * ENVELOPE_SIZE
    assert 0 < per_topic < 250, per_topic
