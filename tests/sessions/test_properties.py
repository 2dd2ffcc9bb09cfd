"""Property tests: any delivery order works; no input crashes, only typed errors."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from kith.sessions import (
    DuplicateMessage,
    Handshake,
    HandshakeState,
    LocalSessionError,
    Message,
    PeerError,
    Session,
)
from kith.sessions.frames import encode_frame

from .conftest import handshake, identity

FAST = settings(max_examples=60, deadline=None, database=None)
ACTIONS = st.sampled_from(["send", "send", "deliver", "deliver", "drop", "replay"])


class Conversation:
    """Two sessions and, per direction, the frames in flight and those delivered."""

    def __init__(self) -> None:
        self.sides = handshake(identity(1), identity(2))
        self.in_flight: tuple[list[tuple[bytes, bytes]], ...] = ([], [])
        self.delivered: tuple[list[bytes], ...] = ([], [])
        self.received: list[bytes] = []
        self.sent = 0

    def send(self, side: int) -> None:
        plaintext = b"message %d" % self.sent
        self.sent += 1
        self.in_flight[side].append((self.sides[side].encrypt(plaintext), plaintext))

    def deliver(self, side: int, index: int) -> None:
        frame, plaintext = self.in_flight[side].pop(index)
        assert self.sides[1 - side].decrypt(frame) == plaintext
        self.delivered[side].append(frame)
        self.received.append(plaintext)

    def replay(self, side: int, index: int) -> None:
        with pytest.raises(DuplicateMessage):
            self.sides[1 - side].decrypt(self.delivered[side][index])


def step(talk: Conversation, data: st.DataObject) -> None:
    action, side = data.draw(ACTIONS), data.draw(st.integers(0, 1))
    pending, delivered = talk.in_flight[side], talk.delivered[side]
    if action == "send":
        talk.send(side)
    elif action == "deliver" and pending:
        talk.deliver(side, data.draw(st.integers(0, len(pending) - 1)))
    elif action == "drop" and pending:
        pending.pop(data.draw(st.integers(0, len(pending) - 1)))
    elif action == "replay" and delivered:
        talk.replay(side, data.draw(st.integers(0, len(delivered) - 1)))


@FAST
@given(st.data())
def test_random_interleavings_and_drops_deliver_every_message_once(data: st.DataObject) -> None:
    talk = Conversation()
    for _ in range(data.draw(st.integers(1, 80))):
        step(talk, data)
    for side in (0, 1):
        while talk.in_flight[side]:
            talk.deliver(side, data.draw(st.integers(0, len(talk.in_flight[side]) - 1)))
    assert len(talk.received) == len(set(talk.received))


@pytest.fixture(scope="module")
def session_pair() -> tuple[Session, Session]:
    return handshake(identity(1), identity(2))


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_peer_errors(
    session_pair: tuple[Session, Session], data: bytes
) -> None:
    _alice, bob = session_pair
    before = bob.to_bytes()
    with pytest.raises(PeerError):
        bob.decrypt(data)
    assert bob.to_bytes() == before


@FAST
@given(
    ratchet_key=st.binary(min_size=32, max_size=32),
    previous_count=st.integers(0, 2**32 - 1),
    number=st.integers(0, 2**32 - 1),
    ciphertext=st.binary(min_size=16, max_size=64),
)
def test_well_formed_forged_messages_only_raise_peer_errors(
    session_pair: tuple[Session, Session],
    ratchet_key: bytes,
    previous_count: int,
    number: int,
    ciphertext: bytes,
) -> None:
    alice, bob = session_pair
    forged = Message(alice.session_id, ratchet_key, previous_count, number, ciphertext)
    before = bob.to_bytes()
    with pytest.raises(PeerError):
        bob.decrypt(encode_frame(forged))
    assert bob.to_bytes() == before


@FAST
@given(position=st.integers(min_value=0), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused_and_the_genuine_frame_still_decrypts(
    position: int, bit: int
) -> None:
    alice, bob = handshake(identity(1), identity(2))
    frame = alice.encrypt(b"genuine")
    index = position % len(frame)
    flipped = frame[:index] + bytes([frame[index] ^ (1 << bit)]) + frame[index + 1 :]
    with pytest.raises(PeerError):
        bob.decrypt(flipped)
    assert bob.decrypt(frame) == b"genuine"


@FAST
@given(st.binary(max_size=300))
def test_random_bytes_fail_a_handshake_with_a_peer_error(data: bytes) -> None:
    hs = Handshake(identity(1), identity(2).public_key)
    with pytest.raises(PeerError):
        hs.receive(data)
    assert hs.state is HandshakeState.FAILED


@FAST
@given(st.binary(max_size=300))
def test_random_stored_bytes_only_raise_local_errors(data: bytes) -> None:
    with pytest.raises(LocalSessionError):
        Session.from_bytes(data)
