"""The Redis broker on its own: two brokers (two "processes") in one event
loop over a real redis-server, with recording sinks."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from kith_proto import wire
from kith_signal.broker import Delivery, Replaced, TopicLimitError
from kith_signal.cluster.redis_broker import RedisBroker
from kith_signal.metrics import Metrics
from kith_testkit.redis_server import RedisServer, redis_available

pytestmark = pytest.mark.skipif(not redis_available(), reason="redis-server is not installed")

WAIT = 5.0


def topic() -> str:
    return wire.encode_topic(os.urandom(32))


async def until(probe: Callable[[], bool], what: str, within: float = WAIT) -> None:
    """Poll ``probe`` on the event loop with a bound."""
    async with asyncio.timeout(within):
        while not probe():  # noqa: ASYNC110 - deliveries are plain list appends, no event
            await asyncio.sleep(0.01)
    assert probe(), what


class Node:
    """One broker and the deliveries of its connections."""

    def __init__(self, broker: RedisBroker, metrics: Metrics) -> None:
        self.broker = broker
        self.metrics = metrics
        self.got: dict[str, list[Delivery]] = {}

    async def attach(self, *conn_ids: str) -> None:
        for conn_id in conn_ids:
            await self.broker.attach(conn_id, self.got.setdefault(conn_id, []).append)


def make(urls: list[str], *, process_ttl: float = 15.0, beat_interval: float = 5.0) -> Node:
    log = logging.getLogger("kith_signal.test")
    metrics = Metrics()
    broker = RedisBroker(
        urls,
        metrics=metrics,
        log=log,
        max_topics=8,
        process_ttl=process_ttl,
        beat_interval=beat_interval,
    )
    return Node(broker, metrics)


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    async with RedisServer(tmp_path / "redis") as server:
        yield server


@pytest.fixture
async def pair(redis: RedisServer) -> AsyncIterator[tuple[Node, Node]]:
    one, two = make([redis.url]), make([redis.url])
    for node in (one, two):
        await node.broker.start()
    await until(lambda: one.broker.unhealthy_reason() is None, "shard one up")
    await until(lambda: two.broker.unhealthy_reason() is None, "shard two up")
    yield one, two
    for node in (one, two):
        await node.broker.close()


async def test_publish_reaches_a_subscriber_on_the_other_process(pair: tuple[Node, Node]) -> None:
    one, two = pair
    await one.attach("a")
    await two.attach("b")
    t = topic()
    assert await two.broker.subscribe("b", [t]) == []
    await one.broker.publish_batch("a", [(t, "cA")])
    await until(lambda: bool(two.got["b"]), "the event")
    assert two.got["b"] == [wire.Event(topic=t, payload="cA")]
    assert one.got["a"] == []


async def test_subscribe_returns_a_value_held_on_the_other_process(
    pair: tuple[Node, Node],
) -> None:
    one, two = pair
    await one.attach("a")
    await two.attach("b")
    t, quiet = topic(), topic()
    await one.broker.publish("a", t, "dg")
    assert await two.broker.subscribe("b", [t, quiet]) == [wire.Retained(topic=t, payload="dg")]
    assert await two.broker.subscribe("b", [t]) == []  # already subscribed: nothing again


async def test_detach_announces_gone_across_processes(pair: tuple[Node, Node]) -> None:
    one, two = pair
    await one.attach("a")
    await two.attach("b")
    t = topic()
    await two.broker.subscribe("b", [t])
    await one.broker.publish("a", t, "cA")
    await one.broker.detach("a")
    await until(lambda: wire.Gone(topic=t) in two.got["b"], "gone")
    assert await two.broker.subscribe("c", [t]) == []


async def test_relay_counts_remote_receivers_and_intro_arrives(pair: tuple[Node, Node]) -> None:
    one, two = pair
    await one.attach("a")
    await two.attach("b")
    t, nobody = topic(), topic()
    await two.broker.subscribe("b", [t])
    assert await one.broker.relay("a", t, "cmVs") == 1
    assert await one.broker.relay("a", nobody, "cmVs") == 0
    await one.broker.intro("a", t, "aW4")
    await until(lambda: len(two.got["b"]) == 2, "relay and intro")
    assert two.got["b"] == [
        wire.Relayed(topic=t, payload="cmVs"),
        wire.IntroReceived(topic=t, payload="aW4"),
    ]


async def test_login_elsewhere_replaces_the_older_holder(pair: tuple[Node, Node]) -> None:
    one, two = pair
    await one.attach("a")
    await two.attach("b")
    tag = os.urandom(32)
    await one.broker.login("a", tag)
    await two.broker.login("b", tag)
    await until(lambda: one.got["a"] == [Replaced()], "replaced")
    assert two.got["b"] == []


async def test_topic_limit_is_enforced_before_anything_changes(pair: tuple[Node, Node]) -> None:
    one, _ = pair
    await one.attach("a")
    with pytest.raises(TopicLimitError):
        await one.broker.subscribe("a", [topic() for _ in range(9)])
    assert (await one.broker.snapshot())["subscribers"] == {}


async def test_a_dead_process_is_reaped_by_a_survivor(redis: RedisServer) -> None:
    one, two = (
        make([redis.url], process_ttl=0.6, beat_interval=0.2),
        make([redis.url], process_ttl=0.6, beat_interval=0.2),
    )
    await one.broker.start()
    await two.broker.start()
    await until(lambda: one.broker.unhealthy_reason() is None, "up")
    await until(lambda: two.broker.unhealthy_reason() is None, "up")
    await one.attach("a")
    await two.attach("b")
    t = topic()
    await two.broker.subscribe("b", [t])
    await one.broker.publish("a", t, "cA")
    await one.broker.login("a", os.urandom(32))
    for task in one.broker._tasks:  # the process stops dead: no detach, no clean-up
        task.cancel()
    await until(lambda: wire.Gone(topic=t) in two.got["b"], "gone after the TTL", within=5)
    client = redis.client()
    # The reaper announces the values gone first, then forgets the process.
    survivor = {two.broker.process.encode()}
    await until(lambda: client.smembers(b"kprocs") == survivor, "the dead process forgotten")
    assert client.keys(b"kr:*") == []
    assert client.keys(b"kl:*") == []
    await two.broker.close()


async def test_a_process_whose_key_expired_while_alive_rebuilds(redis: RedisServer) -> None:
    one = make([redis.url], process_ttl=3.0, beat_interval=1.0)
    two = make([redis.url], process_ttl=3.0, beat_interval=1.0)
    for node in (one, two):
        await node.broker.start()
    await until(lambda: one.broker.unhealthy_reason() is None, "up")
    await until(lambda: two.broker.unhealthy_reason() is None, "up")
    await one.attach("a")
    await two.attach("b")
    t = topic()
    await two.broker.subscribe("b", [t])
    await one.broker.publish("a", t, "cA")
    await until(lambda: two.got["b"] == [wire.Event(topic=t, payload="cA")], "the event")
    client = redis.client()
    client.delete(b"kp:" + one.broker.process.encode())  # as if one had been starved
    reaped = await two.broker._registry.reap(two.broker._shards[0])
    assert reaped == [one.broker.process]
    await until(lambda: wire.Gone(topic=t) in two.got["b"], "gone")
    # one's next refresh finds its key gone: it rebuilds, and its user is back
    await until(lambda: two.got["b"][-1] == wire.Event(topic=t, payload="cA"), "back", 5)
    assert await two.broker.subscribe("c", [t]) == [wire.Retained(topic=t, payload="cA")]
    for node in (one, two):
        await node.broker.close()


async def test_a_stalled_process_nobody_reaped_keeps_its_state(redis: RedisServer) -> None:
    one = make([redis.url], process_ttl=3.0, beat_interval=0.2)
    await one.broker.start()
    await until(lambda: one.broker.unhealthy_reason() is None, "up")
    await one.attach("a")
    t = topic()
    await one.broker.publish("a", t, "cA")
    client = redis.client()
    alive = b"kp:" + one.broker.process.encode()
    client.delete(alive)  # as if the process had stalled past its TTL
    await until(lambda: bool(client.exists(alive)), "refreshed again")
    assert client.get(b"kr:" + wire.decode_payload(t)) is not None
    errors = one.metrics.registry.get_sample_value("kith_signal_redis_errors_total", {"shard": "0"})
    assert not errors  # no rebuild: nothing had been reaped
    await one.broker.close()
