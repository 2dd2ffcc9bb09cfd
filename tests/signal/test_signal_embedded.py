"""The server embedded in the test's own loop (no subprocess): the same
adapter code path, measured by coverage, and a template for node tests."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from signal_support import WAIT, Client, new_topic

from kith_proto.client_core import ServerGoodbye, SubscriptionConfirmed, TopicGone, TopicValue
from kith_proto.server_core import ServerConfig
from kith_proto.wire import CloseCode
from kith_signal.memory_broker import InProcessBroker
from kith_signal.metrics import Metrics
from kith_signal.server import ServerOptions, SignalServer


async def test_embedded_server_routes_and_shuts_down_gracefully() -> None:
    server = SignalServer(
        ServerOptions(port=0),
        ServerConfig(public_url=""),
        InProcessBroker(),
        metrics=Metrics(),
        log=logging.getLogger("kith_signal.test"),
        clock=time.monotonic,
    )
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    listening: asyncio.Future[str] = loop.create_future()
    task = asyncio.create_task(server.run(stop, listening=listening, handle_signals=False))
    url = await asyncio.wait_for(listening, WAIT)
    alice, bob = await Client.ready(url), await Client.ready(url)
    topic = new_topic()
    await bob.call(bob.core.subscribe, [topic])
    await bob.expect(SubscriptionConfirmed)
    await alice.call(alice.core.publish, topic, b"hi")
    assert await bob.expect(TopicValue) == TopicValue(topic, b"hi")
    await alice.call(alice.core.retract, [topic])
    assert await bob.expect(TopicGone) == TopicGone(topic)
    stop.set_result(None)
    for client in (alice, bob):
        assert (await client.expect(ServerGoodbye)).reconnect
        assert (await client.closed()).code == CloseCode.SERVICE_RESTART
    await asyncio.wait_for(task, WAIT)
