"""Messages over an established session: ratchet steps, order, replay, tampering."""

from __future__ import annotations

import msgspec
import pytest

from kith.sessions import (
    MAX_PLAINTEXT_SIZE,
    DecryptionFailed,
    DuplicateMessage,
    MalformedFrame,
    Message,
    MessageTooLarge,
    Session,
    SessionMismatch,
    UnexpectedFrame,
    decode_frame,
)
from kith.sessions.frames import Finish, encode_frame
from kith.sessions.kdf import KeyPair

Pair = tuple[Session, Session]
OTHER_KEY = KeyPair.from_private(b"\x07" * 32).public


def ratchet_key(frame: bytes) -> bytes:
    message = decode_frame(frame)
    assert isinstance(message, Message)
    return message.ratchet_key


def tamper(frame: bytes, **changes: object) -> bytes:
    message = decode_frame(frame)
    assert isinstance(message, Message)
    return encode_frame(msgspec.structs.replace(message, **changes))


def flip_last_byte(frame: bytes) -> bytes:
    message = decode_frame(frame)
    assert isinstance(message, Message)
    ciphertext = message.ciphertext[:-1] + bytes([message.ciphertext[-1] ^ 1])
    return encode_frame(msgspec.structs.replace(message, ciphertext=ciphertext))


def test_many_messages_both_ways_with_ratchet_steps(pair: Pair) -> None:
    alice, bob = pair
    keys = set()
    for turn in range(30):
        sender, receiver = (alice, bob) if turn % 2 == 0 else (bob, alice)
        for i in range(3):
            frame = sender.encrypt(b"turn %d message %d" % (turn, i))
            keys.add(ratchet_key(frame))
            assert receiver.decrypt(frame) == b"turn %d message %d" % (turn, i)
    assert len(keys) == 30


def test_empty_message_round_trips(pair: Pair) -> None:
    alice, bob = pair
    assert bob.decrypt(alice.encrypt(b"")) == b""


def test_out_of_order_within_a_chain(pair: Pair) -> None:
    alice, bob = pair
    frames = [alice.encrypt(b"%d" % i) for i in range(5)]
    for i in (3, 0, 4, 2, 1):
        assert bob.decrypt(frames[i]) == b"%d" % i


def test_late_messages_of_an_earlier_chain_still_decrypt(pair: Pair) -> None:
    alice, bob = pair
    early = [alice.encrypt(b"early %d" % i) for i in range(3)]
    assert bob.decrypt(early[0]) == b"early 0"
    assert alice.decrypt(bob.encrypt(b"reply")) == b"reply"
    later = alice.encrypt(b"later")
    assert bob.decrypt(later) == b"later"
    assert [bob.decrypt(f) for f in reversed(early[1:])] == [b"early 2", b"early 1"]


def test_duplicate_is_rejected(pair: Pair) -> None:
    alice, bob = pair
    frame = alice.encrypt(b"once")
    bob.decrypt(frame)
    with pytest.raises(DuplicateMessage):
        bob.decrypt(frame)


def test_duplicate_of_a_skipped_then_delivered_message_is_rejected(pair: Pair) -> None:
    alice, bob = pair
    first, second = alice.encrypt(b"1"), alice.encrypt(b"2")
    bob.decrypt(second)
    bob.decrypt(first)
    with pytest.raises(DuplicateMessage):
        bob.decrypt(first)


def test_replay_from_a_retired_chain_is_rejected(pair: Pair) -> None:
    alice, bob = pair
    old = alice.encrypt(b"old")
    bob.decrypt(old)
    alice.decrypt(bob.encrypt(b"step"))
    bob.decrypt(alice.encrypt(b"new chain"))
    with pytest.raises(DuplicateMessage):
        bob.decrypt(old)


def test_tampered_ciphertext_is_rejected_and_the_session_goes_on(pair: Pair) -> None:
    alice, bob = pair
    frame = alice.encrypt(b"genuine")
    before = bob.to_bytes()
    with pytest.raises(DecryptionFailed):
        bob.decrypt(flip_last_byte(frame))
    assert bob.to_bytes() == before
    assert bob.decrypt(frame) == b"genuine"


@pytest.mark.parametrize(
    "changes",
    [
        {"number": 1},
        {"previous_count": 7},
        {"ratchet_key": KeyPair.from_private(b"\x07" * 32).public},
    ],
    ids=["number", "previous_count", "ratchet_key"],
)
def test_tampered_header_is_rejected_and_the_session_goes_on(
    pair: Pair, changes: dict[str, object]
) -> None:
    alice, bob = pair
    frame = alice.encrypt(b"genuine")
    before = bob.to_bytes()
    with pytest.raises(DecryptionFailed):
        bob.decrypt(tamper(frame, **changes))
    assert bob.to_bytes() == before
    assert bob.decrypt(frame) == b"genuine"


def test_tampering_with_a_skipped_message_keeps_its_key(pair: Pair) -> None:
    alice, bob = pair
    skipped, delivered = alice.encrypt(b"late"), alice.encrypt(b"first")
    bob.decrypt(delivered)
    with pytest.raises(DecryptionFailed):
        bob.decrypt(flip_last_byte(skipped))
    assert bob.decrypt(skipped) == b"late"


def test_low_order_ratchet_key_is_rejected(pair: Pair) -> None:
    alice, bob = pair
    frame = tamper(alice.encrypt(b"x"), ratchet_key=bytes(32))
    with pytest.raises(DecryptionFailed):
        bob.decrypt(frame)


def test_message_of_another_session_is_rejected(pair: Pair) -> None:
    alice, bob = pair
    with pytest.raises(SessionMismatch):
        bob.decrypt(tamper(alice.encrypt(b"x"), session_id=b"\x00" * 16))


def test_handshake_frame_on_a_session_is_rejected(pair: Pair) -> None:
    _alice, bob = pair
    with pytest.raises(UnexpectedFrame):
        bob.decrypt(encode_frame(Finish(1, bytes(32))))


def test_garbage_is_a_malformed_frame(pair: Pair) -> None:
    _alice, bob = pair
    with pytest.raises(MalformedFrame):
        bob.decrypt(b"\x94\x04garbage")


def test_oversized_plaintext_is_our_error(pair: Pair) -> None:
    alice, _bob = pair
    with pytest.raises(MessageTooLarge):
        alice.encrypt(bytes(MAX_PLAINTEXT_SIZE + 1))


def test_largest_plaintext_round_trips(pair: Pair) -> None:
    alice, bob = pair
    assert len(bob.decrypt(alice.encrypt(bytes(MAX_PLAINTEXT_SIZE)))) == MAX_PLAINTEXT_SIZE


def test_repr_shows_no_key(pair: Pair) -> None:
    alice, _bob = pair
    text = repr(alice)
    assert text.startswith("Session(role=initiator")
    assert alice.to_bytes().hex()[:64] not in text
