"""Presence publications: small ones at once, large ones in chunks that yield
to the event loop, always in submission order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from kith.runtime.presence.publication import Publication, PublicationQueue
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel, PresenceRecord, PresenceStatus

ME = IdentityKeys(bytes(32))
PEERS = [IdentityKeys(bytes([i + 1]) * 32) for i in range(10)]
CHANNELS = [PairChannel(ME, p.public_key) for p in PEERS]


def _record(seq: int) -> PresenceRecord:
    return PresenceRecord(PresenceStatus.ONLINE, "", seq, 1)


class Client:
    def __init__(self) -> None:
        self.log: list[tuple[str, bytes]] = []
        self.turns = 0

    def publish(self, topic: bytes, payload: bytes) -> None:
        self.log.append(("publish", topic))

    def retract(self, topics: Iterable[bytes]) -> None:
        self.log.extend(("retract", t) for t in topics)


def _queue(client: Client, chunk: int) -> PublicationQueue:
    return PublicationQueue(client, logging.getLogger("test"), chunk=chunk)


async def test_a_small_publication_goes_out_at_once() -> None:
    client = Client()
    queue = _queue(client, chunk=10)
    queue.submit(Publication([(c, _record(1)) for c in CHANNELS[:3]]))
    assert [kind for kind, _ in client.log] == ["publish"] * 3
    assert queue.idle


async def test_a_large_publication_yields_between_chunks_and_keeps_order() -> None:
    client = Client()
    queue = _queue(client, chunk=3)
    queue.submit(Publication([(c, _record(1)) for c in CHANNELS]))
    queue.submit(Publication([(CHANNELS[0], _record(2))], [CHANNELS[0].publish_token]))
    assert client.log == []  # nothing sealed inside submit
    await asyncio.sleep(0)
    assert 0 < len(client.log) <= 3  # one chunk per turn of the loop
    await queue.flush()
    tokens = [c.publish_token for c in CHANNELS]
    assert client.log == [("publish", t) for t in tokens] + [
        ("publish", tokens[0]),
        ("retract", tokens[0]),
    ]
    assert queue.idle


async def test_clearing_drops_what_was_not_published() -> None:
    client = Client()
    queue = _queue(client, chunk=2)
    queue.submit(Publication([(c, _record(1)) for c in CHANNELS]))
    await asyncio.sleep(0)
    queue.clear()
    await queue.flush()
    await asyncio.sleep(0)
    assert len(client.log) < len(CHANNELS)
    queue.submit(Publication([(CHANNELS[0], _record(2))]))  # at once again
    assert client.log[-1] == ("publish", CHANNELS[0].publish_token)
