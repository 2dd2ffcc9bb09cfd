"""SecureChannel: the handshake over the first frames, then encrypted messages (pure)."""

from __future__ import annotations

import msgspec
import pytest

from kith.p2p import (
    FrameType,
    LinkStateError,
    MalformedFrame,
    MessageReceived,
    PeerClosing,
    SecureChannel,
    SecureEvent,
    SecureState,
    SendData,
    SessionEstablished,
    pack_frame,
    unpack_frame,
)
from kith.p2p.framing import CloseReason, Feature, features_frame
from kith.p2p.secure import MAX_MESSAGE_SIZE
from kith.sessions import (
    DecryptionFailed,
    DuplicateMessage,
    HandshakeFailed,
    IdentityKeyChanged,
    Init,
    Response,
    Session,
    UnexpectedFrame,
    decode_frame,
)
from kith.sessions.frames import encode_frame
from kith.sessions.kdf import KeyPair
from kith_proto.keys import IdentityKeys


def sends(events: list[SecureEvent]) -> list[bytes]:
    return [event.data for event in events if isinstance(event, SendData)]


def pump(first: bytes, a: SecureChannel, b: SecureChannel) -> None:
    """Deliver frames back and forth until both sides are quiet."""
    queue: list[tuple[SecureChannel, bytes]] = [(b, first)]
    while queue:
        target, data = queue.pop(0)
        other = a if target is b else b
        queue += [(other, out) for out in sends(target.receive(data))]


def established(alice: IdentityKeys, bob: IdentityKeys) -> tuple[SecureChannel, SecureChannel]:
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    pump(a.start().data, a, b)
    return a, b


def test_handshake_establishes_both_sides(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert a.state is b.state is SecureState.ESTABLISHED
    assert a.session is not None
    assert b.session is not None
    assert a.session.session_id == b.session.session_id


def test_handshake_frames_are_tagged_handshake(alice: IdentityKeys, bob: IdentityKeys) -> None:
    frame = SecureChannel(alice, bob.public_key).start().data
    assert unpack_frame(frame).type is FrameType.HANDSHAKE


def test_established_event_carries_a_persistable_session(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    (response,) = b.receive(a.start().data)
    assert isinstance(response, SendData)
    _finish, done, features = a.receive(response.data)
    assert isinstance(done, SessionEstablished)
    assert isinstance(features, SendData)
    assert unpack_frame(features.data).features is Feature.BUNDLE
    restored = Session.from_bytes(done.session.to_bytes())
    assert restored.session_id == done.session.session_id


def test_messages_both_ways(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert b.receive(a.seal(b"hello bob").data) == [MessageReceived(b"hello bob")]
    assert a.receive(b.seal(b"hello alice").data) == [MessageReceived(b"hello alice")]


def test_both_sides_starting_resolves(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    init_a, init_b = a.start().data, b.start().data
    from_a, from_b = sends(a.receive(init_b)), sends(b.receive(init_a))
    assert len(from_a + from_b) == 1  # only the tie-break loser answers
    winner, loser = (a, b) if from_b else (b, a)
    pump((from_a + from_b)[0], loser, winner)
    assert a.state is b.state is SecureState.ESTABLISHED


def test_seal_before_established_is_our_error(alice: IdentityKeys, bob: IdentityKeys) -> None:
    with pytest.raises(LinkStateError):
        SecureChannel(alice, bob.public_key).seal(b"too early")


def test_message_before_handshake_is_unexpected(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, _ = established(alice, bob)
    with pytest.raises(UnexpectedFrame):
        SecureChannel(bob, alice.public_key).receive(a.seal(b"x").data)


def test_handshake_after_established_is_unexpected(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    with pytest.raises(UnexpectedFrame):
        b.receive(SecureChannel(alice, bob.public_key).start().data)
    assert b.receive(a.seal(b"still fine").data) == [MessageReceived(b"still fine")]


def test_replayed_message_is_refused_and_session_goes_on(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    frame = a.seal(b"once").data
    b.receive(frame)
    with pytest.raises(DuplicateMessage):
        b.receive(frame)
    assert b.receive(a.seal(b"twice").data) == [MessageReceived(b"twice")]


def test_malformed_frame_is_refused_and_session_goes_on(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    with pytest.raises(MalformedFrame):
        b.receive(b"\x02\x00")
    assert b.receive(a.seal(b"next").data) == [MessageReceived(b"next")]


def test_keepalive_yields_nothing(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert b.receive(a.keepalive().data) == []


def test_close_frame_is_reported(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert b.receive(a.closing(CloseReason.IDLE).data) == [PeerClosing(CloseReason.IDLE)]


def test_largest_message_fits_one_frame(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    big = bytes(MAX_MESSAGE_SIZE)
    assert b.receive(a.seal(big).data) == [MessageReceived(big)]


# -- a malicious relay between the two channels ------------------------------


def rewrite_handshake(data: bytes, **changes: bytes) -> bytes:
    frame = decode_frame(unpack_frame(data).payload)
    assert isinstance(frame, Init | Response)
    return pack_frame(FrameType.HANDSHAKE, encode_frame(msgspec.structs.replace(frame, **changes)))


def test_relay_swapping_the_initiator_ephemeral_fails(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    relay_key = KeyPair.from_private(b"\x42" * 32).public
    with pytest.raises(HandshakeFailed):
        b.receive(rewrite_handshake(a.start().data, ephemeral=relay_key))
    assert b.state is SecureState.FAILED


def test_relay_swapping_the_responder_ephemeral_fails(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    (response,) = sends(b.receive(a.start().data))
    relay_key = KeyPair.from_private(b"\x42" * 32).public
    with pytest.raises(HandshakeFailed):
        a.receive(rewrite_handshake(response, ephemeral=relay_key))
    assert a.state is SecureState.FAILED


def test_relay_presenting_its_own_identity_is_detected(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    """A relay that terminates the channel itself (its own DTLS and keys) is
    caught by the handshake: Bob expects Alice's key, not Mallory's."""
    to_bob = SecureChannel(mallory, bob.public_key)
    b = SecureChannel(bob, alice.public_key)
    with pytest.raises(IdentityKeyChanged) as info:
        b.receive(to_bob.start().data)
    assert info.value.received_identity == mallory.public_key
    assert b.state is SecureState.FAILED


def test_relay_cannot_read_a_message(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, _ = established(alice, bob)
    assert b"secret words" not in a.seal(b"secret words").data


# -- features and bundles ----------------------------------------------------


def test_both_sides_learn_the_other_takes_bundles(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert a.peer_features is Feature.BUNDLE
    assert b.peer_features is Feature.BUNDLE


def test_a_burst_goes_as_one_bundle_and_arrives_as_messages_in_order(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    burst = [f"message {i}".encode() for i in range(50)]
    (frame,) = a.seal_all(burst)
    assert unpack_frame(frame.data).type is FrameType.BUNDLE
    assert b.receive(frame.data) == [MessageReceived(m) for m in burst]
    assert a.receive(b.seal_all([b"one"])[0].data) == [MessageReceived(b"one")]


def test_a_large_message_travels_alone_between_bundles(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    chunk = b"c" * 20_000
    frames = a.seal_all([b"1", b"2", chunk, b"3", b"4"])
    kinds = [unpack_frame(f.data).type for f in frames]
    assert kinds == [FrameType.BUNDLE, FrameType.SESSION, FrameType.BUNDLE]
    received = [e for f in frames for e in b.receive(f.data)]
    assert received == [MessageReceived(m) for m in (b"1", b"2", chunk, b"3", b"4")]


def test_a_peer_that_announced_nothing_gets_one_frame_per_message(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    """An older peer drops the FEATURES frame it does not know and never sends one."""
    a, b = SecureChannel(alice, bob.public_key), SecureChannel(bob, alice.public_key)
    queue: list[tuple[SecureChannel, bytes]] = [(b, a.start().data)]
    while queue:
        target, data = queue.pop(0)
        other = a if target is b else b
        outs = sends(target.receive(data))
        if target is b:  # bob plays the older peer: no FEATURES from him
            outs = [o for o in outs if unpack_frame(o).type is not FrameType.FEATURES]
        queue += [(other, out) for out in outs]
    assert a.peer_features is Feature.NONE
    frames = a.seal_all([b"x", b"y"])
    assert [unpack_frame(f.data).type for f in frames] == [FrameType.SESSION] * 2
    assert [e for f in frames for e in b.receive(f.data)] == [
        MessageReceived(b"x"),
        MessageReceived(b"y"),
    ]


def test_unknown_feature_bits_are_ignored(alice: IdentityKeys, bob: IdentityKeys) -> None:
    a, b = established(alice, bob)
    assert a.receive(pack_frame(FrameType.FEATURES, b"\xff\xff")) == []
    assert a.peer_features is Feature.BUNDLE
    assert b.receive(features_frame(Feature.NONE)) == []  # the latest announcement counts
    assert b.peer_features is Feature.NONE
    assert [unpack_frame(f.data).type for f in b.seal_all([b"x", b"y"])] == [FrameType.SESSION] * 2


def test_a_tampered_bundle_is_refused_and_the_session_goes_on(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    (frame,) = a.seal_all([b"first", b"second"])
    tampered = bytearray(frame.data)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionFailed):
        b.receive(bytes(tampered))
    assert b.receive(a.seal(b"after").data) == [MessageReceived(b"after")]


def test_a_bundle_of_garbage_inside_good_encryption_is_malformed(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    a, b = established(alice, bob)
    assert a.session is not None
    sealed = a.session.encrypt(b"\x00\x00\x00\x09short")  # claims 9 bytes, has 5
    with pytest.raises(MalformedFrame):
        b.receive(pack_frame(FrameType.BUNDLE, sealed))
    assert b.receive(a.seal(b"after").data) == [MessageReceived(b"after")]


def test_seal_all_before_established_is_our_error(alice: IdentityKeys, bob: IdentityKeys) -> None:
    with pytest.raises(LinkStateError):
        SecureChannel(alice, bob.public_key).seal_all([b"x", b"y"])
