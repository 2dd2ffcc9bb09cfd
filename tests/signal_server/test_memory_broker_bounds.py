"""The in-process broker's bounds: retained values only for new
subscriptions, the reply budget, and the global retained-bytes cap."""

from __future__ import annotations

import pytest

from kith_proto import wire
from kith_proto.limits import retained_size
from kith_signal.broker import Delivery, ReplyBudgetError, RetainedLimitError
from kith_signal.memory_broker import InProcessBroker

T1 = wire.encode_topic(b"1" * 32)
T2 = wire.encode_topic(b"2" * 32)
T3 = wire.encode_topic(b"3" * 32)


def payload(size: int) -> str:
    return wire.encode_payload(b"p" * size)


async def attached(broker: InProcessBroker, *conn_ids: str) -> dict[str, list[Delivery]]:
    boxes: dict[str, list[Delivery]] = {}
    for conn_id in conn_ids:
        boxes[conn_id] = []
        await broker.attach(conn_id, boxes[conn_id].append)
    return boxes


async def test_first_subscribe_brings_the_retained_value() -> None:
    broker = InProcessBroker()
    await attached(broker, "a", "b")
    await broker.publish("a", T1, payload(10))
    assert await broker.subscribe("b", [T1]) == [wire.Retained(topic=T1, payload=payload(10))]


async def test_subscribing_again_brings_nothing_already_subscribed() -> None:
    broker = InProcessBroker()
    await attached(broker, "a", "b")
    await broker.publish_batch("a", [(T1, payload(10)), (T2, payload(20))])
    await broker.subscribe("b", [T1])
    again = await broker.subscribe("b", [T1, T2, T1])
    assert again == [wire.Retained(topic=T2, payload=payload(20))]
    assert await broker.subscribe("b", [T1, T2]) == []


async def test_subscribing_after_unsubscribing_brings_the_value_again() -> None:
    broker = InProcessBroker()
    await attached(broker, "a", "b")
    await broker.publish("a", T1, payload(10))
    await broker.subscribe("b", [T1])
    await broker.unsubscribe("b", [T1])
    assert await broker.subscribe("b", [T1]) == [wire.Retained(topic=T1, payload=payload(10))]


async def test_reply_within_its_budget_is_served() -> None:
    broker = InProcessBroker()
    await attached(broker, "a", "b")
    await broker.publish("a", T1, payload(300))
    exact = retained_size(300)
    assert len(await broker.subscribe("b", [T1], max_reply_bytes=exact)) == 1


async def test_reply_over_its_budget_is_refused_and_subscribes_nothing() -> None:
    broker = InProcessBroker()
    boxes = await attached(broker, "a", "b")
    await broker.publish_batch("a", [(T1, payload(300)), (T2, payload(300))])
    with pytest.raises(ReplyBudgetError) as refused:
        await broker.subscribe("b", [T1, T2, T3], max_reply_bytes=2 * retained_size(300) - 1)
    assert refused.value.size == 2 * retained_size(300)
    await broker.publish("a", T3, payload(1))
    assert boxes["b"] == []
    assert (await broker.snapshot())["subscribers"] == {}


async def test_topics_without_values_cost_no_budget() -> None:
    broker = InProcessBroker()
    await attached(broker, "b")
    assert await broker.subscribe("b", [T1, T2], max_reply_bytes=0) == []


async def test_publishes_within_the_cap_are_counted() -> None:
    broker = InProcessBroker(max_retained_bytes=1000)
    await attached(broker, "a", "b")
    await broker.publish("a", T1, payload(600))
    await broker.publish("b", T2, payload(400))
    assert broker.retained_bytes() == 1000


async def test_publish_past_the_cap_is_refused_and_changes_nothing() -> None:
    broker = InProcessBroker(max_retained_bytes=1000)
    await attached(broker, "a")
    await broker.publish("a", T1, payload(600))
    with pytest.raises(RetainedLimitError, match="1000 retained bytes"):
        await broker.publish_batch("a", [(T2, payload(100)), (T3, payload(301))])
    assert broker.retained_bytes() == 600
    assert sorted((await broker.snapshot())["retained"]) == [T1]


async def test_replacing_a_value_counts_only_the_growth() -> None:
    broker = InProcessBroker(max_retained_bytes=1000)
    await attached(broker, "a", "b")
    await broker.publish("a", T1, payload(900))
    await broker.publish("b", T1, payload(1000))
    await broker.publish("b", T1, payload(10))
    assert broker.retained_bytes() == 10


async def test_a_shrinking_publish_is_taken_even_at_the_cap() -> None:
    broker = InProcessBroker(max_retained_bytes=100)
    await attached(broker, "a")
    await broker.publish("a", T1, payload(100))
    await broker.publish("a", T1, payload(50))
    assert broker.retained_bytes() == 50


async def test_retract_and_detach_give_the_bytes_back() -> None:
    broker = InProcessBroker(max_retained_bytes=1000)
    await attached(broker, "a", "b")
    await broker.publish_batch("a", [(T1, payload(300)), (T2, payload(300))])
    await broker.publish("b", T3, payload(400))
    await broker.retract("a", [T1])
    assert broker.retained_bytes() == 700
    await broker.detach("b")
    assert broker.retained_bytes() == 300
    await broker.publish("a", T1, payload(700))
    assert broker.retained_bytes() == 1000
