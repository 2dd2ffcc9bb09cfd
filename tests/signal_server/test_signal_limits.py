"""Every limit against a real server, each with its error or close code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from kith_proto import wire
from kith_proto.client_core import (
    RequestAcked,
    ServerError,
    ServerGoodbye,
    SubscriptionConfirmed,
)
from kith_proto.wire import CloseCode
from kith_testkit.signal.clients import Client, new_topic
from kith_testkit.signal.process import SignalProcess, starter


@pytest.fixture
def start_server() -> Iterator[Callable[..., SignalProcess]]:
    yield from starter()


def topic_text() -> str:
    return wire.encode_topic(new_topic())


async def still_works(client: Client) -> None:
    ref = await client.call(client.core.subscribe, [new_topic()])
    await client.expect(SubscriptionConfirmed, lambda e: e.ref == ref)


async def test_oversized_frame_gets_frame_too_large_and_connection_lives(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-frame-bytes", "2048")
    client = await Client.ready(server.url)
    await client.send_raw("x" * 3000)
    assert (await client.expect(ServerError)).code == "frame_too_large"
    await still_works(client)
    await client.close()


async def test_frame_beyond_twice_the_limit_closes_with_1009(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-frame-bytes", "2048")
    client = await Client.ready(server.url)
    await client.send_raw("x" * 5000)
    assert (await client.closed()).code == CloseCode.MESSAGE_TOO_BIG


async def test_oversized_payload_gets_payload_too_large(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-frame-bytes", "2048")
    client = await Client.ready(server.url)
    assert client.core.limits is not None
    limit = client.core.limits.max_payload_bytes
    payload = wire.encode_payload(b"p" * (limit + 1))
    token = new_topic()
    topic = wire.encode_topic(wire.token_topic(token))
    publish = wire.Publish(topic=topic, token=wire.encode_topic(token), payload=payload, ref=99)
    await client.send_raw(wire.encode(publish))
    error = await client.expect(ServerError)
    assert (error.code, error.ref) == ("payload_too_large", 99)
    await client.close()


async def test_message_rate_is_limited(start_server: Callable[..., SignalProcess]) -> None:
    server = start_server("--rate", "2", "--burst", "4")
    client = await Client.ready(server.url)
    for _ in range(6):
        client.core.unsubscribe([new_topic()])
    await client.flush()
    assert (await client.expect(ServerError)).code == "rate_limited"
    await client.close()


async def test_intros_are_rate_limited(start_server: Callable[..., SignalProcess]) -> None:
    server = start_server("--rate", "1000", "--intro-rate", "0.01")
    client = await Client.ready(server.url)
    for _ in range(6):
        client.core.intro(new_topic(), b"hi")
    await client.flush()
    error = await client.expect(ServerError)
    assert (error.code, error.ref) == ("rate_limited", 6)
    assert sum(isinstance(e, RequestAcked) for e in client.history) == 5
    await client.close()


async def test_connection_cap_refuses_with_server_full(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-connections", "2")
    first, second = await Client.ready(server.url), await Client.ready(server.url)
    third = await Client.open(server.url)
    bye = await third.expect(ServerGoodbye)
    assert (bye.code, bye.reconnect) == ("server_full", True)
    assert (await third.closed()).code == CloseCode.TRY_AGAIN_LATER
    await first.close()
    await second.close()


async def test_topics_per_connection_are_limited(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server("--max-topics", "3", "--rate", "1000")
    client = await Client.ready(server.url)
    await client.call(client.core.subscribe, [new_topic(), new_topic(), new_topic()])
    await client.expect(SubscriptionConfirmed)
    ref = await client.call(client.core.subscribe, [new_topic()])
    error = await client.expect(ServerError)
    assert (error.code, error.ref) == ("too_many_topics", ref)
    # Publications are counted apart from subscriptions.
    await client.call(client.core.publish_batch, [(new_topic(), b"ok") for _ in range(3)])
    await client.expect(RequestAcked)
    ref = await client.call(client.core.publish, new_topic(), b"one too many")
    error = await client.expect(ServerError)
    assert (error.code, error.ref) == ("too_many_topics", ref)
    await client.close()


async def test_repeated_abuse_closes_with_4008(start_server: Callable[..., SignalProcess]) -> None:
    server = start_server("--rate", "1000")
    client = await Client.ready(server.url)
    for _ in range(12):
        await client.send_raw("{ not json")
    bye = await client.expect(ServerGoodbye)
    assert (bye.code, bye.reconnect) == ("abuse", False)
    assert (await client.closed()).code == CloseCode.ABUSE


async def test_routing_before_auth_is_not_authenticated(
    start_server: Callable[..., SignalProcess],
) -> None:
    server = start_server()
    protocols = [Subprotocol(wire.SUBPROTOCOL)]
    async with connect(server.url, subprotocols=protocols, compression=None) as ws:
        assert isinstance(wire.decode_server_message(await ws.recv()), wire.Challenge)
        await ws.send(wire.encode(wire.Subscribe(topics=[topic_text()], ref=1)))
        reply = wire.decode_server_message(await asyncio.wait_for(ws.recv(), 5))
    assert reply == wire.Error(code="not_authenticated", message="authenticate first", ref=1)
