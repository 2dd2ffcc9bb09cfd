"""PeerLink: real aiortc peers in one process on loopback, signals through an
in-memory relay (the signaling server has its own tests)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from kith.p2p import (
    ChannelClosed,
    ChannelNotOpen,
    ChannelOpen,
    CloseCause,
    ConnectFailed,
    FailureReason,
    FrameReceived,
    LinkEvent,
    LinkState,
    MalformedSignal,
    MessageReceived,
    PeerLink,
    PeerP2PError,
    SecureChannel,
    SecureState,
    SendData,
    Signal,
    SignalBox,
    SignalKind,
    TamperedSignal,
    WrongDirectionSignal,
)
from kith.p2p.framing import Feature
from kith.p2p.link import failure_event
from kith_proto.keys import IdentityKeys

WAIT = 10.0
Transform = Callable[[bytes], bytes | None]


def unchanged(payload: bytes) -> bytes | None:
    return payload


@dataclass
class Relay:
    """Carries sealed signals between two links; ``transform`` may alter or drop them."""

    transform: Transform = unchanged
    errors: list[PeerP2PError] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def wire(self, target: Callable[[], PeerLink]) -> Callable[[bytes], Awaitable[None]]:
        async def send(payload: bytes) -> None:
            altered = self.transform(payload)
            if altered is not None:
                self.tasks.append(asyncio.ensure_future(self._deliver(target(), altered)))

        return send

    async def _deliver(self, link: PeerLink, payload: bytes) -> None:
        try:
            await link.accept(payload)
        except PeerP2PError as exc:
            self.errors.append(exc)


@dataclass
class Pair:
    links: dict[str, PeerLink]
    relay: Relay

    @property
    def a(self) -> PeerLink:
        return self.links["a"]

    @property
    def b(self) -> PeerLink:
        return self.links["b"]


def make_pair(
    alice: IdentityKeys,
    bob: IdentityKeys,
    relay: Relay,
    *,
    connect_timeout: float = 10.0,
    idle_timeout: float = 300.0,
) -> Pair:
    links: dict[str, PeerLink] = {}

    def link(own: IdentityKeys, peer: IdentityKeys, target: str) -> PeerLink:
        send = relay.wire(lambda: links[target])
        return PeerLink(
            own, peer.public_key, send, connect_timeout=connect_timeout, idle_timeout=idle_timeout
        )

    links["a"], links["b"] = link(alice, bob, "b"), link(bob, alice, "a")
    return Pair(links, relay)


@pytest.fixture
async def pair(alice: IdentityKeys, bob: IdentityKeys) -> AsyncIterator[Pair]:
    made = make_pair(alice, bob, Relay())
    yield made
    await made.a.close()
    await made.b.close()


async def event(link: PeerLink) -> LinkEvent:
    return await asyncio.wait_for(link.next_event(), WAIT)


async def opened(p: Pair) -> None:
    assert isinstance(await event(p.a), ChannelOpen)
    assert isinstance(await event(p.b), ChannelOpen)


async def test_channel_opens_and_carries_frames_both_ways(pair: Pair) -> None:
    await pair.a.open()
    assert await event(pair.a) == ChannelOpen(offerer=True)
    assert await event(pair.b) == ChannelOpen(offerer=False)
    pair.a.send(b"to bob")
    pair.b.send(b"to alice")
    assert await event(pair.b) == FrameReceived(b"to bob")
    assert await event(pair.a) == FrameReceived(b"to alice")


async def test_frames_arrive_in_order(pair: Pair) -> None:
    await pair.a.open()
    await opened(pair)
    for number in range(200):
        pair.a.send(number.to_bytes(2, "big"))
    received = [await event(pair.b) for _ in range(200)]
    assert received == [FrameReceived(n.to_bytes(2, "big")) for n in range(200)]


async def test_simultaneous_open_resolves_to_one_connection(pair: Pair) -> None:
    await asyncio.gather(pair.a.open(), pair.b.open())
    first_a, first_b = await event(pair.a), await event(pair.b)
    assert isinstance(first_a, ChannelOpen)
    assert isinstance(first_b, ChannelOpen)
    assert first_a.offerer != first_b.offerer
    pair.b.send(b"one channel")
    assert await event(pair.a) == FrameReceived(b"one channel")
    assert pair.a.pending_events() == pair.b.pending_events() == []


async def test_open_while_open_is_a_no_op(pair: Pair) -> None:
    await pair.a.open()
    await opened(pair)
    await pair.a.open()
    assert pair.a.state is LinkState.OPEN


async def test_connect_timeout_when_the_peer_never_answers(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    p = make_pair(alice, bob, Relay(transform=lambda payload: None), connect_timeout=0.5)
    await p.a.open()
    assert await event(p.a) == ConnectFailed(FailureReason.TIMEOUT)
    assert p.a.state is LinkState.IDLE


async def test_tampered_signal_is_rejected(alice: IdentityKeys, bob: IdentityKeys) -> None:
    def flip(payload: bytes) -> bytes:
        return payload[:-1] + bytes([payload[-1] ^ 1])

    p = make_pair(alice, bob, Relay(transform=flip), connect_timeout=0.5)
    await p.a.open()
    assert await event(p.a) == ConnectFailed(FailureReason.TIMEOUT)
    assert [type(e) for e in p.relay.errors] == [TamperedSignal]
    assert p.b.state is LinkState.IDLE


def bad_candidate_in(sender: IdentityKeys, receiver: IdentityKeys, kind: SignalKind) -> Transform:
    """Re-seal ``sender``'s ``kind`` signals with an ``a=candidate:`` line aiortc
    cannot parse: authentic (a peer with the pair key sent it) but malformed."""
    opener, sealer = SignalBox(receiver, sender.public_key), SignalBox(sender, receiver.public_key)

    def corrupt(payload: bytes) -> bytes:
        try:
            signal = opener.open(payload, time.time())
        except WrongDirectionSignal:
            return payload
        if signal.kind is not kind:
            return payload
        sdp = re.sub(r"a=candidate:[^\r\n]*", "a=candidate:bad", signal.sdp, count=1)
        assert sdp != signal.sdp
        return sealer.seal(Signal(signal.kind, signal.attempt, sdp), time.time())

    return corrupt


async def test_a_sealed_offer_with_a_bad_candidate_fails_at_once(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    relay = Relay(transform=bad_candidate_in(alice, bob, SignalKind.OFFER))
    p = make_pair(alice, bob, relay, connect_timeout=60.0)
    await p.a.open()
    assert await event(p.b) == ConnectFailed(FailureReason.BAD_SIGNAL)
    assert [type(e) for e in relay.errors] == [MalformedSignal]
    assert p.b.state is LinkState.IDLE
    await p.a.close()


async def test_a_sealed_answer_with_a_bad_candidate_fails_at_once(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    relay = Relay(transform=bad_candidate_in(bob, alice, SignalKind.ANSWER))
    p = make_pair(alice, bob, relay, connect_timeout=60.0)
    await p.a.open()
    assert await event(p.a) == ConnectFailed(FailureReason.BAD_SIGNAL)
    assert [type(e) for e in relay.errors] == [MalformedSignal]
    assert p.a.state is LinkState.IDLE
    await p.b.close()


async def test_local_close_is_reported_on_both_sides(pair: Pair) -> None:
    await pair.a.open()
    await opened(pair)
    await pair.a.close()
    assert await event(pair.a) == ChannelClosed(CloseCause.LOCAL)
    assert await event(pair.b) == ChannelClosed(CloseCause.REMOTE)
    with pytest.raises(ChannelNotOpen):
        pair.a.send(b"after close")


async def test_idle_timeout_closes_the_channel(alice: IdentityKeys, bob: IdentityKeys) -> None:
    p = make_pair(alice, bob, Relay(), idle_timeout=0.4)
    await p.a.open()
    await opened(p)
    closed = await event(p.a)
    assert isinstance(closed, ChannelClosed)
    assert closed.reason in (CloseCause.IDLE, CloseCause.REMOTE)
    assert p.a.state is LinkState.IDLE
    await p.a.close()
    await p.b.close()


async def test_link_reopens_on_demand_after_close(pair: Pair) -> None:
    await pair.a.open()
    await opened(pair)
    await pair.a.close()
    await event(pair.a)
    await event(pair.b)
    await pair.a.open()
    await opened(pair)
    pair.a.send(b"again")
    assert await event(pair.b) == FrameReceived(b"again")


async def test_new_offer_replaces_an_open_connection(
    alice: IdentityKeys, bob: IdentityKeys, pair: Pair
) -> None:
    await pair.a.open()
    await opened(pair)
    old = pair.b
    restarted = PeerLink(bob, alice.public_key, pair.relay.wire(lambda: pair.a))
    pair.links["b"] = restarted
    await restarted.open()  # bob restarted and offers again
    assert await event(pair.a) == ChannelClosed(CloseCause.REPLACED)
    assert await event(pair.a) == ChannelOpen(offerer=False)
    assert await event(restarted) == ChannelOpen(offerer=True)
    await old.close()


def flip_first_byte(match: re.Match[str]) -> str:
    """Another first byte, whatever the first byte was: a fixed replacement
    such as 00 left one fingerprint in 256 unchanged."""
    return f"sha-256 {int(match.group(1), 16) ^ 0xFF:02X}"


def test_the_fingerprint_swap_changes_every_first_byte() -> None:
    for byte in range(256):
        line = f"a=fingerprint:sha-256 {byte:02X}:AB"
        swapped = re.sub(r"sha-256 ([0-9A-F]{2})", flip_first_byte, line)
        assert swapped != line


async def test_swapped_dtls_fingerprint_fails_the_connection(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    """Even a relay holding the pair key (it cannot: see test_signals) that
    swaps the fingerprint in an answer only breaks the connection."""
    opener, sealer = SignalBox(alice, bob.public_key), SignalBox(bob, alice.public_key)

    def swap_fingerprint(payload: bytes) -> bytes:
        try:
            signal = opener.open(payload, time.time())
        except WrongDirectionSignal:  # an offer from alice to bob
            return payload
        sdp = re.sub(r"sha-256 ([0-9A-F]{2})", flip_first_byte, signal.sdp)
        assert sdp != signal.sdp
        return sealer.seal(Signal(signal.kind, signal.attempt, sdp), time.time())

    p = make_pair(alice, bob, Relay(transform=swap_fingerprint), connect_timeout=5.0)
    await p.a.open()
    assert await event(p.a) == ConnectFailed(FailureReason.DTLS_FAILED)
    await p.b.close()


def test_failure_events_from_aiortc_states() -> None:
    assert failure_event("connecting", "checking", opened=False) is None
    assert failure_event("failed", "failed", opened=False) == ConnectFailed(
        FailureReason.ICE_FAILED
    )
    assert failure_event("failed", "completed", opened=False) == ConnectFailed(
        FailureReason.DTLS_FAILED
    )
    assert failure_event("failed", "failed", opened=True) == ChannelClosed(
        CloseCause.CONNECTION_LOST
    )


async def test_secure_channel_over_a_real_link(
    alice: IdentityKeys, bob: IdentityKeys, pair: Pair
) -> None:
    sa, sb = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    await pair.a.open()
    await opened(pair)
    pair.a.send(sa.start().data)

    async def drive(link: PeerLink, channel: SecureChannel) -> None:
        while channel.state is SecureState.HANDSHAKING:
            received = await event(link)
            assert isinstance(received, FrameReceived)
            for out in channel.receive(received.data):
                if isinstance(out, SendData):
                    link.send(out.data)

    await asyncio.gather(drive(pair.a, sa), drive(pair.b, sb))
    pair.a.send(sa.seal(b"end to end").data)
    received = await event(pair.b)  # alice announced her features after her Finish
    assert isinstance(received, FrameReceived)
    assert sb.receive(received.data) == []
    assert sb.peer_features is Feature.BUNDLE
    received = await event(pair.b)
    assert isinstance(received, FrameReceived)
    assert sb.receive(received.data) == [MessageReceived(b"end to end")]


async def test_second_offer_while_answering_the_first_wins(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    to_bob: list[bytes] = []
    to_alice: list[bytes] = []

    async def capture_to_bob(payload: bytes) -> None:
        to_bob.append(payload)

    async def capture_to_alice(payload: bytes) -> None:
        to_alice.append(payload)

    first = PeerLink(alice, bob.public_key, capture_to_bob)
    second = PeerLink(alice, bob.public_key, capture_to_bob, clock=lambda: time.time() + 1)
    receiver = PeerLink(bob, alice.public_key, capture_to_alice)
    await first.open()
    await second.open()  # alice restarted before bob answered
    await asyncio.gather(receiver.accept(to_bob[0]), receiver.accept(to_bob[1]))
    for answer in to_alice:
        await second.accept(answer)
    assert await event(second) == ChannelOpen(offerer=True)
    assert await event(receiver) == ChannelOpen(offerer=False)
    for link in (first, second, receiver):
        await link.close()
