"""Presence only the pair can write: a real ``kith-signal``, two real nodes and
a hostile connection that knows their presence topic.

A and B are mutual contacts. Mallory is any other authenticated connection
(or anyone on a plain ``ws://`` path): it learns the topic A publishes on for
B, and in the replay test also A's publish token (as the server, which sees
it, would).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kith_proto import IdentityKeys, wire
from kith_proto.client_core import RequestAcked, ServerError, SubscriptionConfirmed, TopicValue
from kith_proto.pair import ENVELOPE_SIZE, EnvelopeError, PairChannel, PresenceStatus
from kith_testkit.nodes import NodeProcess, add_contact, kith, make_identity, ok
from kith_testkit.polling import wait_for
from kith_testkit.signal.clients import Client
from kith_testkit.signal.process import SignalProcess

pytestmark = pytest.mark.slow


class Pair:
    """The server, A and B (keys known to the test) and their running nodes."""

    def __init__(self, root: Path) -> None:
        self.server = SignalProcess()
        self.keys = {name: IdentityKeys.generate() for name in "ab"}
        self.dirs = {name: root / name for name in "ab"}
        self.ids = {
            name: make_identity(path, name, self.server.url, self.keys[name])
            for name, path in self.dirs.items()
        }
        add_contact(self.dirs["a"], self.ids["b"], "b")
        add_contact(self.dirs["b"], self.ids["a"], "a")
        self.nodes = {name: NodeProcess(path) for name, path in self.dirs.items()}
        # A's side of the pair: the topic A publishes on for B, and its token.
        self.a_to_b = PairChannel(self.keys["a"], self.keys["b"].public_key)

    def b_opens(self, payload: bytes) -> PresenceStatus | None:
        """What B would read in ``payload`` (None if it does not open)."""
        try:
            return PairChannel(self.keys["b"], self.keys["a"].public_key).open(payload).status
        except EnvelopeError:
            return None

    def close(self) -> None:
        for node in self.nodes.values():
            node.kill()
        self.server.stop()


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    p = await asyncio.to_thread(Pair, tmp_path)
    yield p
    await asyncio.to_thread(p.close)


async def publish_raw(client: Client, topic: bytes, token: bytes, payload: bytes, ref: int) -> None:
    frame = wire.Publish(
        topic=wire.encode_topic(topic),
        token=wire.encode_topic(token),
        payload=wire.encode_payload(payload),
        ref=ref,
    )
    await client.send_raw(wire.encode(frame))


async def test_a_connection_without_the_token_cannot_publish_or_retract(pair: Pair) -> None:
    a, b = pair.nodes["a"], pair.nodes["b"]
    ida = pair.ids["a"]
    ok(await asyncio.to_thread(kith, a.data_dir, "status", "set", "busy", "--text", "at work"))
    await asyncio.to_thread(b.sees, ida, "busy", status_text="at work")

    mallory = await Client.ready(pair.server.url)
    topic = pair.a_to_b.publish_topic.raw
    await publish_raw(mallory, topic, os.urandom(32), os.urandom(ENVELOPE_SIZE), ref=1)
    refused = await mallory.expect(ServerError, lambda e: e.ref == 1)
    assert refused.code == wire.ErrorCode.BAD_TOKEN
    retract = wire.Retract(
        topics=[wire.encode_topic(topic)], tokens=[wire.encode_topic(os.urandom(32))], ref=2
    )
    await mallory.send_raw(wire.encode(retract))
    refused = await mallory.expect(ServerError, lambda e: e.ref == 2)
    assert refused.code == wire.ErrorCode.BAD_TOKEN

    # The server kept A's value: a new subscriber gets it, and B still shows busy.
    ref = await mallory.call(mallory.core.subscribe, [topic])
    confirmed = await mallory.expect(SubscriptionConfirmed, lambda e: e.ref == ref)
    (retained,) = confirmed.retained
    assert pair.b_opens(retained[1]) is PresenceStatus.BUSY
    contact = await asyncio.to_thread(b.contact, ida)
    assert (contact.status, contact.status_text) == ("busy", "at work")
    # And A's next change still goes through, with nothing from Mallory first.
    ok(await asyncio.to_thread(kith, a.data_dir, "status", "set", "away"))
    await asyncio.to_thread(b.sees, ida, "away")
    await mallory.close()


async def test_an_old_envelope_is_refused_after_the_receiver_restarts(pair: Pair) -> None:
    a, b = pair.nodes["a"], pair.nodes["b"]
    ida = pair.ids["a"]
    await asyncio.to_thread(b.sees, ida, "online")
    mallory = await Client.ready(pair.server.url)
    channel = pair.a_to_b
    ref = await mallory.call(mallory.core.subscribe, [channel.publish_topic.raw])
    await mallory.expect(SubscriptionConfirmed, lambda e: e.ref == ref)

    # Mallory records A's "busy" envelope.
    ok(await asyncio.to_thread(kith, a.data_dir, "status", "set", "busy", "--text", "old"))
    busy = await mallory.expect(
        TopicValue, lambda e: pair.b_opens(e.payload) is PresenceStatus.BUSY
    )
    await asyncio.to_thread(b.sees, ida, "busy", status_text="old")

    # A stops (B sees offline); B restarts while A stays stopped.
    assert await asyncio.to_thread(a.stop) == 0
    await asyncio.to_thread(b.sees, ida, "offline")
    assert await asyncio.to_thread(b.stop) == 0
    b = pair.nodes["b"] = await asyncio.to_thread(NodeProcess, pair.dirs["b"])
    await asyncio.to_thread(b.connection_is, "connected")

    # Replayed with A's own token (the server sees it), then a value that does
    # not open: once B logs the second, it has handled the first.
    await mallory.call(mallory.core.publish, channel.publish_token, busy.payload)
    await mallory.expect(RequestAcked)
    await mallory.call(mallory.core.publish, channel.publish_token, os.urandom(ENVELOPE_SIZE))
    await mallory.expect(RequestAcked)

    def rejected() -> bool | None:
        return any("rejected presence from" in line for line in b.lines) or None

    await asyncio.to_thread(wait_for, rejected, "B to drop the envelope that does not open")
    contact = await asyncio.to_thread(b.contact, ida)
    assert (contact.status, contact.status_text) == ("offline", ""), "\n".join(b.lines)
    await mallory.close()
