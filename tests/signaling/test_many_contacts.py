"""A node with many contacts against a real ``kith-signal`` with its default
limits: 1,500 contacts (3,000 subscriptions, 1,500 publications) without
``too_many_topics``, ``frame_too_large`` or ``rate_limited``, and a status
change reaches them all in seconds (batched)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from kith.signaling import PresenceGone, PresenceValue, ServerProblem
from kith_testkit.signal.clients import new_token, new_topic
from kith_testkit.signal.process import SignalServer
from kith_testkit.signaling_client import Running

CONTACTS = 1500
ENVELOPE = 933  # kith_proto.pair.ENVELOPE_SIZE: a real presence payload
WITHIN = 15.0  # ~4 s on an idle machine; one at a time it took over a minute


@pytest.fixture(scope="module")
def server() -> Iterator[SignalServer]:
    process = SignalServer()  # the defaults: 20 messages/s, burst 40, 4096 topics
    yield process
    process.kill()


async def test_a_status_change_reaches_1500_contacts_within_seconds(
    server: SignalServer,
) -> None:
    alice = await Running.connected(server.url)
    contacts = await Running.connected(server.url)  # stands in for every contact
    tokens = [new_token() for _ in range(CONTACTS)]
    presence_out = [topic for _, topic in tokens]
    presence_in_and_inboxes = [new_topic() for _ in range(2 * CONTACTS)]
    contacts.client.set_subscriptions(presence_out)
    alice.client.set_subscriptions(presence_in_and_inboxes)
    started = time.monotonic()
    for token, _ in tokens:
        alice.client.publish(token, os.urandom(ENVELOPE))
    received: set[bytes] = set()
    while len(received) < CONTACTS:
        event = await contacts.expect(PresenceValue, within=WITHIN)
        received.add(event.topic)
    assert time.monotonic() - started < WITHIN
    alice.client.retract(token for token, _ in tokens)  # turning invisible: every contact sees gone
    gone: set[bytes] = set()
    while len(gone) < CONTACTS:
        gone.add((await contacts.expect(PresenceGone, within=WITHIN)).topic)
    assert not [e for e in alice.seen + contacts.seen if isinstance(e, ServerProblem)]
    await alice.close()
    await contacts.close()


async def test_repeated_changes_collapse_into_the_latest_value(server: SignalServer) -> None:
    alice = await Running.connected(server.url)
    bob = await Running.connected(server.url)
    tokens = [new_token() for _ in range(300)]
    topics = [topic for _, topic in tokens]
    bob.client.set_subscriptions(topics)
    for round_ in range(5):
        for token, _ in tokens:
            alice.client.publish(token, b"status %d" % round_)
    latest: dict[bytes, bytes] = {}
    while len(latest) < len(topics) or set(latest.values()) != {b"status 4"}:
        event = await bob.expect(PresenceValue, within=WITHIN)
        latest[event.topic] = event.payload
    assert not [e for e in alice.seen if isinstance(e, ServerProblem)]
    await alice.close()
    await bob.close()
