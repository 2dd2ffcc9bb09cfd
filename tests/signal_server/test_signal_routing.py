"""Routing through a real server: subscribe/publish/retained/gone, the
visibility matrix, relay and intro."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kith_proto.client_core import (
    IntroductionReceived,
    RelayReceived,
    RequestAcked,
    ServerError,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_signal.transport import TRANSPORTS
from kith_testkit.signal.clients import Client, new_topic, token_for
from kith_testkit.signal.process import SignalProcess, running


@pytest.fixture(scope="module", params=TRANSPORTS)
def server(request: pytest.FixtureRequest) -> Iterator[SignalProcess]:
    """The same real server over each WebSocket transport (``--transport``)."""
    yield from running("--rate", "1000", "--transport", request.param)


async def subscribed(client: Client, *topics: bytes) -> SubscriptionConfirmed:
    ref = await client.call(client.core.subscribe, list(topics))
    return await client.expect(SubscriptionConfirmed, lambda e: e.ref == ref)


async def published(client: Client, topic: bytes, payload: bytes) -> None:
    ref = await client.call(client.core.publish, token_for(topic), payload)
    await client.expect(RequestAcked, lambda e: e.ref == ref)


async def test_publish_reaches_subscriber(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    topic = new_topic()
    await subscribed(bob, topic)
    await published(alice, topic, b"sealed-1")
    assert await bob.expect(TopicValue) == TopicValue(topic, b"sealed-1")
    await alice.close()
    await bob.close()


async def test_subscribe_reply_carries_retained_value(server: SignalProcess) -> None:
    alice = await Client.ready(server.url)
    topic, quiet = new_topic(), new_topic()
    await published(alice, topic, b"v1")
    await published(alice, topic, b"v2")
    bob = await Client.ready(server.url)
    reply = await subscribed(bob, topic, quiet)
    assert reply.topics == (topic, quiet)
    assert reply.retained == ((topic, b"v2"),)
    await alice.close()
    await bob.close()


async def test_disconnect_sends_gone_and_forgets_retained(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    topic = new_topic()
    await published(alice, topic, b"here")
    await subscribed(bob, topic)
    await alice.close()
    assert await bob.expect(TopicGone) == TopicGone(topic)
    carol = await Client.ready(server.url)
    assert (await subscribed(carol, topic)).retained == ()
    await bob.close()
    await carol.close()


async def test_retract_sends_gone(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    topic = new_topic()
    await published(alice, topic, b"here")
    await subscribed(bob, topic)
    ref = await alice.call(alice.core.retract, [token_for(topic)])
    await alice.expect(RequestAcked, lambda e: e.ref == ref)
    assert await bob.expect(TopicGone) == TopicGone(topic)
    assert (await subscribed(await Client.ready(server.url), topic)).retained == ()
    await alice.close()
    await bob.no_event(TopicGone)  # no second gone when alice then drops
    await bob.close()


async def test_unsubscribe_stops_events(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    topic = new_topic()
    await subscribed(bob, topic)
    ref = await bob.call(bob.core.unsubscribe, [topic])
    await bob.expect(RequestAcked, lambda e: e.ref == ref)
    await published(alice, topic, b"x")
    await bob.no_event(TopicValue)
    await alice.close()
    await bob.close()


class Pair:
    """Two users' directed presence topics, as pair derivation would give them."""

    def __init__(self) -> None:
        self.forward, self.backward = new_topic(), new_topic()


async def test_visibility_matrix(server: SignalProcess) -> None:
    """Mutual contacts see each other; one-sided contacts and strangers see nothing."""
    alice, bob, carol, dave = [await Client.ready(server.url) for _ in range(4)]
    ab, ac, ad = Pair(), Pair(), Pair()
    # alice counts bob and carol as contacts.
    await subscribed(alice, ab.backward, ac.backward)
    await published(alice, ab.forward, b"alice-to-bob")
    await published(alice, ac.forward, b"alice-to-carol")
    # bob has alice (mutual)
    await published(bob, ab.backward, b"bob-to-alice")
    assert (await subscribed(bob, ab.forward)).retained == ((ab.forward, b"alice-to-bob"),)
    assert await alice.expect(TopicValue) == TopicValue(ab.backward, b"bob-to-alice")
    # carol does not have alice: she neither publishes nor subscribes alice's topics.
    # dave is a stranger who knows alice's ID and derives the topics himself.
    stranger = await subscribed(dave, ad.forward)
    assert stranger.retained == ()
    await alice.close()
    assert await bob.expect(TopicGone) == TopicGone(ab.forward)
    await dave.no_event(TopicGone)
    for event in carol.history + dave.history:
        assert not isinstance(event, TopicValue | TopicGone)
    for client in (bob, carol, dave):
        await client.close()


async def test_invisible_user_leaves_no_trace(server: SignalProcess) -> None:
    """Invisible = subscribe without publishing: contacts see nothing, not even gone."""
    alice, erin = await Client.ready(server.url), await Client.ready(server.url)
    pair = Pair()
    await published(alice, pair.forward, b"alice-online")
    await subscribed(alice, pair.backward)
    invisible = await subscribed(erin, pair.forward)
    assert invisible.retained == ((pair.forward, b"alice-online"),)
    await erin.close()
    await alice.no_event(TopicValue)
    assert not any(isinstance(e, TopicGone) for e in alice.history)
    await alice.close()


async def test_relay_reaches_the_subscriber(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    inbox = new_topic()
    await subscribed(bob, inbox)
    ref = await alice.call(alice.core.relay, inbox, b"sdp-offer")
    await alice.expect(RequestAcked, lambda e: e.ref == ref)
    assert await bob.expect(RelayReceived) == RelayReceived(inbox, b"sdp-offer")
    await alice.close()
    await bob.close()


async def test_relay_to_offline_topic_is_peer_offline(server: SignalProcess) -> None:
    alice = await Client.ready(server.url)
    ref = await alice.call(alice.core.relay, new_topic(), b"ice")
    error = await alice.expect(ServerError)
    assert (error.code, error.ref) == ("peer_offline", ref)
    await alice.close()


async def test_relay_after_contact_drops_is_peer_offline(server: SignalProcess) -> None:
    alice, bob = await Client.ready(server.url), await Client.ready(server.url)
    inbox, presence = new_topic(), new_topic()
    await subscribed(bob, inbox)
    await published(bob, presence, b"bob-online")
    await subscribed(alice, presence)
    await bob.close()
    await alice.expect(TopicGone)  # the server has forgotten bob
    await alice.call(alice.core.relay, inbox, b"ice")
    assert (await alice.expect(ServerError)).code == "peer_offline"
    await alice.close()


async def test_intro_is_acked_the_same_whether_anyone_listens(server: SignalProcess) -> None:
    stranger, bob = await Client.ready(server.url), await Client.ready(server.url)
    intro_topic = new_topic()
    await subscribed(bob, intro_topic)
    for topic in (intro_topic, new_topic()):
        ref = await stranger.call(stranger.core.intro, topic, b"hello, it's me")
        assert await stranger.expect(RequestAcked) == RequestAcked(ref)
    assert await bob.expect(IntroductionReceived) == IntroductionReceived(
        intro_topic, b"hello, it's me"
    )
    assert not any(isinstance(e, ServerError) for e in stranger.history)
    await stranger.close()
    await bob.close()


async def test_publisher_does_not_receive_its_own_event(server: SignalProcess) -> None:
    alice = await Client.ready(server.url)
    topic = new_topic()
    await subscribed(alice, topic)
    await published(alice, topic, b"me")
    await alice.no_event(TopicValue)
    await alice.close()
