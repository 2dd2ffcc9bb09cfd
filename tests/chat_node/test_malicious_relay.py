"""A malicious signaling relay cannot read or forge messages.

Two peers (signaling client, :class:`PeerLink`, :class:`SecureChannel`)
connect through a real ``kith-signal``; the relay's misbehaviour is applied to
what it carries from alice to bob (equivalent to the server rewriting the
payload). From weakest to strongest attacker:

1. it swaps the sealed offer for one of its own: bob refuses it (wrong direction);
2. it alters the sealed offer: bob refuses it (tampered);
3. it holds the pair key (it does not; this is the worst case) and swaps the
   DTLS fingerprint: DTLS fails, no channel opens;
4. it holds the pair key and terminates the channel itself, presenting its own
   identity in the session handshake: bob detects the changed identity key and
   nothing is ever encrypted for the relay.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from kith.p2p import (
    ChannelOpen,
    ConnectFailed,
    FailureReason,
    FrameReceived,
    LinkEvent,
    PeerLink,
    PeerP2PError,
    SecureChannel,
    Signal,
    SignalBox,
    SignalKind,
)
from kith.sessions import IdentityKeyChanged
from kith.signaling import BackoffPolicy, PeerOffline, RelayMessage, SignalingClient
from kith_proto.keys import IdentityKeys
from kith_proto.pair import derive_pair_key, relay_topic
from kith_testkit.signal.process import SignalProcess

pytestmark = pytest.mark.slow
WAIT = 10.0
Rewrite = Callable[[bytes], bytes]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = SignalProcess()
    yield server.url
    server.stop()


@dataclass
class Peer:
    client: SignalingClient
    link: PeerLink
    refused: list[str]
    tasks: list[asyncio.Task[None]]

    async def close(self) -> None:
        await self.link.close()
        await self.client.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def start_peer(
    url: str, own: IdentityKeys, other: bytes, rewrite: Rewrite = lambda p: p
) -> Peer:
    pair_key = derive_pair_key(own, other)
    out = relay_topic(pair_key, own.public_key, other).raw
    inbox = relay_topic(pair_key, other, own.public_key).raw
    client = SignalingClient(own, url, policy=BackoffPolicy(base=0.05, cap=0.3))

    async def send_signal(payload: bytes) -> None:
        await client.relay(out, rewrite(payload))

    link = PeerLink(own, other, send_signal, connect_timeout=3.0)
    refused: list[str] = []

    async def pump() -> None:
        async for event in client.events():
            if isinstance(event, RelayMessage) and event.topic == inbox:
                try:
                    await link.accept(event.payload)
                except PeerP2PError as exc:
                    refused.append(exc.code)

    client.set_subscriptions([inbox])
    peer = Peer(client, link, refused, [asyncio.create_task(client.run())])
    peer.tasks.append(asyncio.create_task(pump()))
    await client.wait_connected(WAIT)
    return peer


async def offer(link: PeerLink) -> None:
    async with asyncio.timeout(WAIT):
        while True:
            try:
                await link.open()
                return
            except PeerOffline:
                continue  # the peer's subscription is not through yet


async def next_event(link: PeerLink) -> LinkEvent:
    return await asyncio.wait_for(link.next_event(), WAIT)


@dataclass
class Attempt:
    alice: IdentityKeys
    bob: IdentityKeys
    a: Peer
    b: Peer

    async def close(self) -> None:
        await self.a.close()
        await self.b.close()


MakeRewrite = Callable[[IdentityKeys, IdentityKeys], Rewrite]


async def attempt(url: str, make_rewrite: MakeRewrite) -> Attempt:
    """Alice offers to bob; the relay applies ``make_rewrite(alice, bob)``."""
    alice, bob = IdentityKeys(os.urandom(32)), IdentityKeys(os.urandom(32))
    b = await start_peer(url, bob, alice.public_key)
    a = await start_peer(url, alice, bob.public_key, make_rewrite(alice, bob))
    await offer(a.link)
    return Attempt(alice, bob, a, b)


async def test_a_swapped_offer_is_refused(server_url: str) -> None:
    mallory = IdentityKeys(os.urandom(32))

    def swap(alice: IdentityKeys, bob: IdentityKeys) -> Rewrite:
        box = SignalBox(mallory, bob.public_key)
        forged = Signal(SignalKind.OFFER, os.urandom(8), "v=0\r\n")
        return lambda payload: box.seal(forged, time.time())

    run = await attempt(server_url, swap)
    try:
        assert await next_event(run.a.link) == ConnectFailed(FailureReason.TIMEOUT)
        assert run.b.refused == ["wrong_direction"]
    finally:
        await run.close()


async def test_an_altered_offer_is_refused(server_url: str) -> None:
    def flip(alice: IdentityKeys, bob: IdentityKeys) -> Rewrite:
        return lambda payload: payload[:-1] + bytes([payload[-1] ^ 1])

    run = await attempt(server_url, flip)
    try:
        assert await next_event(run.a.link) == ConnectFailed(FailureReason.TIMEOUT)
        assert run.b.refused == ["tampered_signal"]
    finally:
        await run.close()


def _with_pair_key(change: Callable[[str], str]) -> MakeRewrite:
    """The worst case: a relay that holds the pair key opens and re-seals."""

    def make(alice: IdentityKeys, bob: IdentityKeys) -> Rewrite:
        def rewrite(payload: bytes) -> bytes:
            signal = SignalBox(bob, alice.public_key).open(payload, time.time())
            forged = Signal(signal.kind, signal.attempt, change(signal.sdp))
            return SignalBox(alice, bob.public_key).seal(forged, time.time())

        return rewrite

    return make


def _other_fingerprint(sdp: str) -> str:
    fake = ":".join(f"{b:02X}" for b in os.urandom(32))
    changed = re.sub(r"(a=fingerprint:sha-256 )[0-9A-F:]+", rf"\g<1>{fake}", sdp)
    assert changed != sdp
    return changed


async def test_a_swapped_dtls_fingerprint_opens_no_channel(server_url: str) -> None:
    run = await attempt(server_url, _with_pair_key(_other_fingerprint))
    try:
        ends = [await next_event(run.a.link), await next_event(run.b.link)]
        assert all(isinstance(end, ConnectFailed) for end in ends), ends
        assert FailureReason.DTLS_FAILED in {end.reason for end in ends}  # type: ignore[union-attr]
    finally:
        await run.close()


async def test_a_relay_terminating_the_channel_faces_the_handshake(server_url: str) -> None:
    # The relay (with the pair key) connects to bob as if it were alice, then
    # runs the session handshake with its own identity: bob refuses it.
    run = await attempt(server_url, lambda alice, bob: lambda payload: payload)
    mallory = IdentityKeys(os.urandom(32))
    try:
        assert await next_event(run.a.link) == ChannelOpen(offerer=True)
        assert await next_event(run.b.link) == ChannelOpen(offerer=False)
        relay_side = SecureChannel(mallory, run.bob.public_key)
        bob_side = SecureChannel(run.bob, run.alice.public_key)
        run.a.link.send(relay_side.start().data)
        received = await next_event(run.b.link)
        assert isinstance(received, FrameReceived)
        with pytest.raises(IdentityKeyChanged) as refused:
            bob_side.receive(received.data)
        assert refused.value.received_identity == mallory.public_key
        assert bob_side.session is None  # nothing will ever be encrypted for it
    finally:
        await run.close()
