"""The signaling client against a real ``kith-signal``: connect, presence,
relay, intro, pacing, replaced logins."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from kith.signaling import (
    Connected,
    ConnectionState,
    Disconnected,
    IntroMessage,
    NotConnected,
    PayloadTooLarge,
    PeerOffline,
    PresenceGone,
    PresenceValue,
    RelayMessage,
    ServerProblem,
    SignalingClient,
)
from kith_proto import IdentityKeys
from kith_testkit.signal.clients import new_token, new_topic
from kith_testkit.signal.process import WAIT, SignalServer
from kith_testkit.signaling_client import Running


@pytest.fixture(scope="module")
def server() -> Iterator[SignalServer]:
    process = SignalServer()
    yield process
    process.kill()


@pytest.fixture
async def pair(server: SignalServer) -> AsyncIterator[tuple[Running, Running]]:
    alice = await Running.connected(server.url)
    bob = await Running.connected(server.url)
    yield alice, bob
    await alice.close()
    await bob.close()


async def test_client_connects_and_authenticates(server: SignalServer) -> None:
    running = await Running.connected(server.url)
    await running.expect(Connected)
    await running.close()
    assert running.client.state is ConnectionState.DISCONNECTED
    closed = await running.expect(Disconnected)
    assert (closed.reason, closed.retry_in) == ("closed", None)


async def test_event_stream_ends_after_close(server: SignalServer) -> None:
    running = await Running.connected(server.url)
    await running.close()
    remaining = [event async for event in running.stream]
    assert isinstance(remaining[-1], Disconnected)


async def test_published_value_reaches_subscriber(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    token, topic = new_token()
    alice.client.set_subscriptions([topic])
    bob.client.publish(token, b"online")  # arrives as an event or as the retained value
    value = await alice.expect(PresenceValue)
    assert (value.topic, value.payload) == (topic, b"online")


async def test_subscriber_gets_retained_value_on_subscribe(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    token, topic = new_token()
    bob.client.publish(token, b"busy")
    # Bob's publish is acknowledged before a relay sent after it: both go in order.
    with pytest.raises(PeerOffline):
        await bob.client.relay(new_topic(), b"x")
    alice.client.set_subscriptions([topic])
    value = await alice.expect(PresenceValue)
    assert value.payload == b"busy"


async def test_retract_announces_gone(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    token, topic = new_token()
    alice.client.set_subscriptions([topic])
    bob.client.publish(token, b"away")
    await alice.expect(PresenceValue)
    bob.client.retract([token])
    gone = await alice.expect(PresenceGone)
    assert gone.topic == topic


async def test_unsubscribed_topic_delivers_nothing(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    (kept_token, kept), (dropped_token, dropped) = new_token(), new_token()
    alice.client.set_subscriptions([kept, dropped])
    alice.client.set_subscriptions([kept])
    bob.client.publish(dropped_token, b"x")
    bob.client.publish(kept_token, b"y")
    value = await alice.expect(PresenceValue)
    assert value.topic == kept
    assert all(getattr(e, "topic", kept) == kept for e in alice.seen)


async def test_relay_reaches_subscriber(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    inbox = new_topic()
    alice.client.set_subscriptions([inbox])
    await _subscribed(alice, bob, inbox)
    await bob.client.relay(inbox, b"offer", timeout=WAIT)
    message = await alice.expect(RelayMessage)
    assert (message.topic, message.payload) == (inbox, b"offer")


async def _subscribed(alice: Running, bob: Running, inbox: bytes) -> None:
    """Wait until the server has Alice's subscription: a probe relay gets through.

    Each probe awaits the server's reply (paced by the client), so this waits
    on replies, not on the clock.
    """
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            await bob.client.relay(inbox, b"probe")
        except PeerOffline:
            continue
        await alice.expect(RelayMessage, lambda m: m.payload == b"probe")
        return
    raise AssertionError("subscription never reached the server")


async def test_relay_to_offline_contact_raises_peer_offline(
    pair: tuple[Running, Running],
) -> None:
    _, bob = pair
    with pytest.raises(PeerOffline) as caught:
        await bob.client.relay(new_topic(), b"offer")
    assert caught.value.code == "peer_offline"


async def test_relay_without_connection_raises_not_connected() -> None:
    client = SignalingClient(IdentityKeys.generate(), "ws://127.0.0.1:9")
    with pytest.raises(NotConnected):
        await client.relay(new_topic(), b"offer")


async def test_payload_beyond_the_server_limit_is_refused_locally(
    pair: tuple[Running, Running],
) -> None:
    _, bob = pair
    huge = b"x" * 100_000
    with pytest.raises(PayloadTooLarge):
        bob.client.publish(new_topic(), huge)
    with pytest.raises(PayloadTooLarge):
        await bob.client.relay(new_topic(), huge)


async def test_intro_reaches_subscriber(pair: tuple[Running, Running]) -> None:
    alice, bob = pair
    intro = new_topic()
    alice.client.set_subscriptions([intro])
    await _subscribed(alice, bob, intro)
    await bob.client.intro(intro, b"hello, it's bob")
    message = await alice.expect(IntroMessage)
    assert message.payload == b"hello, it's bob"


async def test_many_publications_are_paced_under_the_rate_limit(
    pair: tuple[Running, Running],
) -> None:
    alice, bob = pair
    tokens = [new_token() for _ in range(60)]  # more than the server's burst of 40
    topics = [topic for _, topic in tokens]
    alice.client.set_subscriptions(topics)
    await _subscribed(alice, bob, topics[0])
    for token, _ in tokens:
        bob.client.publish(token, b"online")
    received: set[bytes] = set()
    while len(received) < len(topics):
        received.add((await alice.expect(PresenceValue)).topic)
    assert not [e for e in bob.seen if isinstance(e, ServerProblem)]


async def test_new_login_replaces_old_and_old_stops(server: SignalServer) -> None:
    keys = IdentityKeys.generate()
    first = await Running.connected(server.url, keys)
    second = await Running.connected(server.url, keys)
    ended = await first.expect(Disconnected)
    assert (ended.reason, ended.retry_in) == ("replaced", None)
    await first.task  # run() returns by itself: no reconnect fight
    assert first.client.state is ConnectionState.DISCONNECTED
    assert second.client.state is ConnectionState.CONNECTED
    await second.quiet(Disconnected, settle=0.5)
    await first.close()
    await second.close()
