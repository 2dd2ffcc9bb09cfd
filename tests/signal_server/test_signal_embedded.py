"""The server embedded in the test's own loop (no subprocess): the same
adapter code path, measured by coverage, and a template for node tests."""

from __future__ import annotations

import asyncio
import logging
import time
import tracemalloc

import pytest

from kith_proto.client_core import (
    Disconnected,
    RequestAcked,
    ServerError,
    ServerGoodbye,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_proto.server_core import ServerConfig
from kith_proto.wire import CloseCode
from kith_signal.memory_broker import InProcessBroker
from kith_signal.metrics import Metrics
from kith_signal.server import ServerOptions, SignalServer
from kith_signal.session import MAX_PENDING_BYTES
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client, new_topic, token_for
from kith_testkit.signal.process import WAIT


class Embedded:
    """A SignalServer running as a task of the test's loop."""

    def __init__(self, options: ServerOptions, config: ServerConfig) -> None:
        self.metrics = Metrics()
        self.server = SignalServer(
            options,
            config,
            InProcessBroker(),
            metrics=self.metrics,
            log=logging.getLogger("kith_signal.test"),
            clock=time.monotonic,
        )
        loop = asyncio.get_running_loop()
        self.stop: asyncio.Future[None] = loop.create_future()
        self.listening: asyncio.Future[str] = loop.create_future()
        self.task = asyncio.create_task(
            self.server.run(self.stop, listening=self.listening, handle_signals=False)
        )

    async def url(self) -> str:
        return await asyncio.wait_for(self.listening, WAIT)

    async def close(self) -> None:
        if not self.stop.done():
            self.stop.set_result(None)
        await asyncio.wait_for(self.task, WAIT)

    def sample(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return value or 0.0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_embedded_server_routes_and_shuts_down_gracefully(transport: str) -> None:
    embedded = Embedded(ServerOptions(port=0, transport=transport), ServerConfig(public_url=""))
    stop, task = embedded.stop, embedded.task
    url = await embedded.url()
    alice, bob = await Client.ready(url), await Client.ready(url)
    topic = new_topic()
    await bob.call(bob.core.subscribe, [topic])
    await bob.expect(SubscriptionConfirmed)
    await alice.call(alice.core.publish, token_for(topic), b"hi")
    assert await bob.expect(TopicValue) == TopicValue(topic, b"hi")
    await alice.call(alice.core.retract, [token_for(topic)])
    assert await bob.expect(TopicGone) == TopicGone(topic)
    assert embedded.sample("kith_signal_authenticated_connections") == 2
    stop.set_result(None)
    for client in (alice, bob):
        assert (await client.expect(ServerGoodbye)).reconnect
        assert (await client.closed()).code == CloseCode.SERVICE_RESTART
    await asyncio.wait_for(task, WAIT)
    assert embedded.sample("kith_signal_authenticated_connections") == 0
    assert embedded.sample("kith_signal_connections") == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_client_that_stops_reading_is_closed_as_slow_consumer(transport: str) -> None:
    embedded = Embedded(
        ServerOptions(port=0, max_pending=8, transport=transport),
        ServerConfig(public_url="", rate=100000, burst=100000),
    )
    url = await embedded.url()
    slow, fast = await Client.ready(url), await Client.ready(url)
    topic = new_topic()
    await slow.call(slow.core.subscribe, [topic])
    await slow.expect(SubscriptionConfirmed)
    assert slow.reader is not None
    slow.reader.cancel()  # stop reading: TCP backpressure builds up
    payload = b"p" * 30000
    await fast.call(fast.core.subscribe, [presence := new_topic()])
    await fast.expect(SubscriptionConfirmed)
    await slow.call(slow.core.publish, token_for(presence), b"slow-online")
    await fast.expect(TopicValue)
    # Relayed frames are messages, not values: none replaces another.
    async with asyncio.timeout(20):
        while not embedded.sample("kith_signal_closes_total", code="4009"):
            await fast.call(fast.core.relay, topic, payload)
            await fast.expect(RequestAcked)
            assert embedded.sample("kith_signal_pending_bytes") <= MAX_PENDING_BYTES
    # The stalled peer is cut off and announced gone; the server stays healthy.
    if TopicGone(presence) not in fast.history:
        assert await fast.expect(TopicGone) == TopicGone(presence)
    await fast.close()
    await embedded.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_presence_to_a_stalled_reader_collapses_then_it_is_closed(transport: str) -> None:
    embedded = Embedded(
        ServerOptions(port=0, max_pending=8, stall_timeout=1.0, transport=transport),
        ServerConfig(public_url="", rate=100000, burst=100000),
    )
    url = await embedded.url()
    slow, fast = await Client.ready(url), await Client.ready(url)
    topic = new_topic()
    await slow.call(slow.core.subscribe, [topic])
    await slow.expect(SubscriptionConfirmed)
    await fast.call(fast.core.subscribe, [presence := new_topic()])
    await fast.expect(SubscriptionConfirmed)
    await slow.call(slow.core.publish, token_for(presence), b"slow-online")
    await fast.expect(TopicValue)
    assert slow.reader is not None
    slow.reader.cancel()
    payload = b"v" * 30000
    # How much the kernel and the client library buffer before the server
    # sees backpressure varies by machine, so publish until the server gives
    # up: what waits is always one value for the one topic, never a backlog.
    async with asyncio.timeout(30):
        while not embedded.sample("kith_signal_closes_total", code="4009"):
            for _ in range(20):  # more than max_pending frames, all on one topic
                await fast.call(fast.core.publish, token_for(topic), payload)
            await fast.call(fast.core.relay, new_topic(), b"x")  # a request after them all
            await fast.expect(ServerError)  # peer_offline: every publish was handled
            assert embedded.sample("kith_signal_pending_bytes") <= 2 * len(payload)
    assert embedded.sample("kith_signal_collapsed_events_total") > 0
    # Nothing was read for stall_timeout: cut off (4009) and announced gone
    # (perhaps already while the last batch was being acknowledged).
    if TopicGone(presence) not in fast.history:
        assert await fast.expect(TopicGone) == TopicGone(presence)
    assert embedded.sample("kith_signal_closes_total", code="4009") == 1
    assert embedded.sample("kith_signal_pending_bytes") == 0
    await fast.close()
    await embedded.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_reader_under_a_publish_storm_stays_and_ends_with_every_latest_value(
    transport: str,
) -> None:
    embedded = Embedded(
        ServerOptions(port=0, transport=transport),
        ServerConfig(public_url="", rate=100000, burst=100000),
    )
    url = await embedded.url()
    reader = await Client.ready(url)
    publishers = [await Client.ready(url) for _ in range(4)]
    topics = [new_topic() for _ in range(48)]
    await reader.call(reader.core.subscribe, topics)
    await reader.expect(SubscriptionConfirmed)
    owned = [(p, topics[i::4]) for i, p in enumerate(publishers)]
    for round_ in range(150):  # sent without waiting for anything: a storm
        for publisher, mine in owned:
            items = [(token_for(t), b"%d:%d" % (round_, i)) for i, t in enumerate(mine)]
            await publisher.call(publisher.core.publish_batch, items)
    final = {t: b"149:%d" % (i // 4) for i, t in enumerate(topics)}
    latest: dict[bytes, bytes] = {}
    async with asyncio.timeout(WAIT):
        while latest != final:
            value = await reader.expect(TopicValue)
            latest[value.topic] = value.payload
    assert not any(isinstance(event, Disconnected) for event in reader.history)
    assert embedded.sample("kith_signal_closes_total", code="4009") == 0
    for client in (reader, *publishers):
        await client.close()
    await embedded.close()


async def test_a_quiet_connection_does_not_keep_its_last_frame() -> None:
    tracemalloc.start(25)
    try:
        embedded = Embedded(
            ServerOptions(port=0), ServerConfig(public_url="", rate=100000, burst=100000)
        )
        url = await embedded.url()
        publisher, subscriber = await Client.ready(url), await Client.ready(url)
        await subscriber.call(subscriber.core.subscribe, [topic := new_topic()])
        await subscriber.expect(SubscriptionConfirmed)
        payload = b"p" * 24000  # about a publish_batch of presence for 50 contacts
        await publisher.call(publisher.core.publish, token_for(topic), payload)
        await subscriber.expect(TopicValue)  # the publish frame was handled
        in_sessions = tracemalloc.Filter(True, "*kith_signal/session.py", all_frames=True)
        retained = tracemalloc.Filter(False, "*kith_signal/memory_broker.py", all_frames=True)
        snapshot = tracemalloc.take_snapshot().filter_traces([in_sessions, retained])
        # The publisher is quiet now: its session holds nothing of the frame
        # it read last (the broker holds the value, counted apart).
        assert sum(stat.size for stat in snapshot.statistics("filename")) < len(payload)
        await publisher.close()
        await subscriber.close()
        await embedded.close()
    finally:
        tracemalloc.stop()
