"""A call frame sealed on the pair's secure channel: it arrives intact, and a frame
altered on the way (an offer with another DTLS fingerprint) is refused, not delivered."""

from __future__ import annotations

import pytest

from kith.calls import Sdp, decode_call_frame, encode_call_frame
from kith.p2p import MessageReceived, SecureChannel, SecureEvent, SendData
from kith.sessions import PeerError
from kith_proto.keys import IdentityKeys

ID = "5a" * 16
OFFER = "v=0\r\na=fingerprint:sha-256 AA:BB:CC:DD\r\n"


def _pump(first: bytes, a: SecureChannel, b: SecureChannel) -> None:
    queue: list[tuple[SecureChannel, bytes]] = [(b, first)]
    while queue:
        target, data = queue.pop(0)
        other = a if target is b else b
        queue += [(other, e.data) for e in target.receive(data) if isinstance(e, SendData)]


def _plain(events: list[SecureEvent]) -> list[bytes]:
    return [e.plaintext for e in events if isinstance(e, MessageReceived)]


@pytest.fixture
def channels() -> tuple[SecureChannel, SecureChannel]:
    alice, bob = IdentityKeys(bytes(range(32))), IdentityKeys(bytes(range(1, 33)))
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    _pump(a.start().data, a, b)
    return a, b


def test_a_sealed_offer_arrives_intact(channels: tuple[SecureChannel, SecureChannel]) -> None:
    a, b = channels
    sealed = a.seal(encode_call_frame(Sdp(ID, "offer", OFFER))).data
    assert OFFER.encode() not in sealed  # the relay path never sees the fingerprint
    [plaintext] = _plain(b.receive(sealed))
    assert decode_call_frame(plaintext) == Sdp(ID, "offer", OFFER)


def test_an_altered_offer_is_refused(channels: tuple[SecureChannel, SecureChannel]) -> None:
    a, b = channels
    sealed = bytearray(a.seal(encode_call_frame(Sdp(ID, "offer", OFFER))).data)
    sealed[-20] ^= 0x01
    with pytest.raises(PeerError):
        b.receive(bytes(sealed))
    # the session goes on: the next frame is delivered
    [plaintext] = _plain(b.receive(a.seal(encode_call_frame(Sdp(ID, "answer", OFFER))).data))
    assert decode_call_frame(plaintext) == Sdp(ID, "answer", OFFER)
