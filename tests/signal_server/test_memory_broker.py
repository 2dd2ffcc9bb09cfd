"""The in-process broker on its own: routing rules with recording sinks."""

from __future__ import annotations

import pytest

from kith_proto import wire
from kith_signal.broker import Broker, Delivery, Replaced, TopicLimitError
from kith_signal.memory_broker import InProcessBroker

T1 = wire.encode_topic(b"1" * 32)
T2 = wire.encode_topic(b"2" * 32)


class Inboxes:
    def __init__(self) -> None:
        self.got: dict[str, list[Delivery]] = {}

    async def attach(self, broker: Broker, *conn_ids: str) -> None:
        for conn_id in conn_ids:
            box = self.got.setdefault(conn_id, [])
            await broker.attach(conn_id, box.append)


@pytest.fixture
def broker() -> InProcessBroker:
    return InProcessBroker(max_topics=4)


async def test_publish_fans_out_to_other_subscribers(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "b", "c")
    await broker.subscribe("b", [T1])
    await broker.subscribe("a", [T1])
    assert await broker.publish("a", T1, "cA") == 1
    assert boxes.got == {"a": [], "b": [wire.Event(topic=T1, payload="cA")], "c": []}


async def test_subscribe_returns_retained_once_per_topic(broker: InProcessBroker) -> None:
    await Inboxes().attach(broker, "a", "b")
    await broker.publish("a", T1, "dg")
    retained = await broker.subscribe("b", [T1, T1, T2])
    assert retained == [wire.Retained(topic=T1, payload="dg")]


async def test_detach_announces_gone_only_for_current_values(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "a2", "b")
    await broker.subscribe("b", [T1, T2])
    await broker.publish("a", T1, "b2xk")
    await broker.publish("a", T2, "bWluZQ")
    await broker.publish("a2", T1, "bmV3")  # a newer holder of T1
    boxes.got["b"].clear()
    assert await broker.detach("a") == 1
    assert boxes.got["b"] == [wire.Gone(topic=T2)]
    assert (await broker.snapshot())["retained"] == {T1: ["a2", "bmV3"]}


async def test_detach_leaves_no_trace(broker: InProcessBroker) -> None:
    await Inboxes().attach(broker, "a", "b")
    await broker.login("a", b"tag-a")
    await broker.subscribe("a", [T1])
    await broker.publish("b", T2, "eA")
    await broker.detach("a")
    await broker.detach("b")
    snapshot = await broker.snapshot()
    assert not any(snapshot.values()), snapshot


async def test_second_login_replaces_the_first(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "b2xk", "bmV3")
    await broker.login("b2xk", b"tag")
    await broker.login("bmV3", b"tag")
    assert boxes.got["b2xk"] == [Replaced()]
    await broker.detach("b2xk")  # must not unbind the new login
    assert (await broker.snapshot())["logins"] == {b"tag".hex(): "bmV3"}


async def test_retract_sends_gone_and_forgets(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "b")
    await broker.subscribe("b", [T1])
    await broker.publish("a", T1, "eA")
    assert await broker.retract("a", [T1]) == 1
    assert boxes.got["b"][-1] == wire.Gone(topic=T1)
    assert await broker.detach("a") == 0


async def test_relay_and_intro_count_deliveries(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "b")
    assert await broker.relay("a", T1, "eA") == 0
    await broker.subscribe("b", [T1])
    assert await broker.relay("a", T1, "eA") == 1
    assert await broker.intro("a", T1, "aGk") == 1
    assert boxes.got["b"] == [
        wire.Relayed(topic=T1, payload="eA"),
        wire.IntroReceived(topic=T1, payload="aGk"),
    ]


async def test_topic_limit_counts_subscriptions_and_publications_apart(
    broker: InProcessBroker,
) -> None:
    await Inboxes().attach(broker, "a")
    topics = [wire.encode_topic(bytes([i]) * 32) for i in range(6)]
    await broker.subscribe("a", topics[:4])
    await broker.publish_batch("a", [(t, "eA") for t in topics[:3]])
    await broker.publish("a", topics[3], "eA")
    await broker.publish("a", topics[3], "YWdhaW4")  # same topic: no new slot
    with pytest.raises(TopicLimitError):
        await broker.publish("a", topics[4], "eA")
    with pytest.raises(TopicLimitError):
        await broker.subscribe("a", [topics[4]])
    await broker.unsubscribe("a", [topics[0]])
    assert await broker.subscribe("a", [topics[4]]) == []


async def test_a_value_taken_over_frees_its_slot_for_the_previous_holder(
    broker: InProcessBroker,
) -> None:
    await Inboxes().attach(broker, "a", "a2")
    topics = [wire.encode_topic(bytes([i]) * 32) for i in range(5)]
    await broker.publish_batch("a", [(t, "eA") for t in topics[:4]])
    await broker.publish("a2", topics[0], "bmV3")  # a2 now holds topics[0]
    assert await broker.publish("a", topics[4], "eA") == 0
    assert (await broker.snapshot())["published"]["a"] == sorted(topics[1:])
    assert await broker.retract("a", [topics[0]]) == 0  # not a's to retract
    assert (await broker.snapshot())["retained"][topics[0]] == ["a2", "bmV3"]


async def test_a_batch_beyond_the_limit_changes_nothing(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "b")
    topics = [wire.encode_topic(bytes([i]) * 32) for i in range(5)]
    await broker.subscribe("b", topics[:1])
    with pytest.raises(TopicLimitError):
        await broker.publish_batch("a", [(t, "eA") for t in topics])
    assert boxes.got["b"] == []
    assert not (await broker.snapshot())["retained"]


async def test_retained_values_come_back_as_sent(broker: InProcessBroker) -> None:
    await Inboxes().attach(broker, "a", "b")
    payload = wire.encode_payload(bytes(range(256)))
    await broker.publish("a", T1, payload)
    assert await broker.subscribe("b", [T1]) == [wire.Retained(topic=T1, payload=payload)]


async def test_subscriber_sets_shrink_back_as_subscribers_leave(broker: InProcessBroker) -> None:
    boxes = Inboxes()
    await boxes.attach(broker, "a", "b", "c", "p")
    for conn in ("a", "b", "c", "a"):
        await broker.subscribe(conn, [T1])
    assert await broker.publish("p", T1, "eA") == 3
    await broker.unsubscribe("b", [T1])
    await broker.detach("c")
    assert (await broker.snapshot())["subscribers"] == {T1: ["a"]}
    assert await broker.relay("p", T1, "eQ") == 1
    await broker.unsubscribe("a", [T1])
    assert (await broker.snapshot())["subscribers"] == {}
