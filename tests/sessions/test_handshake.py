"""The handshake state machine between two honest peers."""

from __future__ import annotations

import msgspec
import pytest

from kith.sessions import (
    Handshake,
    HandshakeComplete,
    HandshakeFailed,
    HandshakeState,
    HandshakeStateError,
    IdentityKeyChanged,
    MalformedFrame,
    Role,
    SendFrame,
    Session,
    UnexpectedFrame,
    UnsupportedVersion,
    decode_frame,
    wins_tie_break,
)
from kith.sessions.frames import Init, encode_frame
from kith.sessions.handshake import init_signed_bytes
from kith_proto.keys import IdentityKeys


def frames(events: tuple[object, ...]) -> list[bytes]:
    return [event.data for event in events if isinstance(event, SendFrame)]


def test_initiator_and_responder_agree_on_one_session(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    (response,) = frames(theirs.receive(ours.start()))
    finish, done = ours.receive(response)
    assert isinstance(finish, SendFrame)
    assert isinstance(done, HandshakeComplete)
    (done_bob,) = theirs.receive(finish.data)
    assert isinstance(done_bob, HandshakeComplete)
    assert done.session.session_id == done_bob.session.session_id
    assert (ours.state, theirs.state) == (HandshakeState.ESTABLISHED,) * 2


def test_roles_follow_who_started(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(bob, alice.public_key), Handshake(alice, bob.public_key)
    theirs.receive(ours.start())
    assert (ours.role, theirs.role) == (Role.INITIATOR, Role.RESPONDER)


def test_sessions_know_both_identities(
    pair: tuple[Session, Session], alice: IdentityKeys, bob: IdentityKeys
) -> None:
    ours, theirs = pair
    assert (ours.local_identity, ours.peer_identity) == (alice.public_key, bob.public_key)
    assert (theirs.local_identity, theirs.peer_identity) == (bob.public_key, alice.public_key)


def test_responder_can_send_first(pair: tuple[Session, Session]) -> None:
    ours, theirs = pair
    assert ours.decrypt(theirs.encrypt(b"first from responder")) == b"first from responder"


def test_tie_break_prefers_lower_identity_key(alice: IdentityKeys, bob: IdentityKeys) -> None:
    low, high = sorted([alice.public_key, bob.public_key])
    assert wins_tie_break(low, high)
    assert not wins_tie_break(high, low)


def both_start(first: IdentityKeys, second: IdentityKeys) -> tuple[Handshake, Handshake]:
    """Both sides send Init before either receives; returns (low key's, high key's)."""
    low, high = sorted([first, second], key=lambda keys: keys.public_key)
    hl, hh = Handshake(low, high.public_key), Handshake(high, low.public_key)
    init_low, init_high = hl.start(), hh.start()
    assert hl.receive(init_high) == ()
    (response,) = frames(hh.receive(init_low))
    finish, _done = hl.receive(response)
    assert isinstance(finish, SendFrame)
    hh.receive(finish.data)
    return hl, hh


@pytest.mark.parametrize("swap", [False, True], ids=["alice-first", "bob-first"])
def test_simultaneous_start_makes_the_lower_key_initiator(
    alice: IdentityKeys, bob: IdentityKeys, swap: bool
) -> None:
    low, high = both_start(*((bob, alice) if swap else (alice, bob)))
    assert (low.role, high.role) == (Role.INITIATOR, Role.RESPONDER)


def test_simultaneous_start_ends_with_one_shared_session(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    ha, hb = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    init_a, init_b = ha.start(), hb.start()
    pending = [(ha, init_b), (hb, init_a)]
    sessions: dict[int, Session] = {}
    while pending:
        receiver, data = pending.pop(0)
        other = hb if receiver is ha else ha
        for event in receiver.receive(data):
            if isinstance(event, SendFrame):
                pending.append((other, event.data))
            else:
                sessions[id(receiver)] = event.session
    first, second = sessions.values()
    assert first.session_id == second.session_id
    assert second.decrypt(first.encrypt(b"hello")) == b"hello"


def test_start_twice_is_our_error(alice: IdentityKeys, bob: IdentityKeys) -> None:
    hs = Handshake(alice, bob.public_key)
    hs.start()
    with pytest.raises(HandshakeStateError):
        hs.start()


def test_receive_after_completion_is_our_error(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    (response,) = frames(theirs.receive(ours.start()))
    ours.receive(response)
    with pytest.raises(HandshakeStateError):
        ours.receive(response)


def test_unexpected_frame_fails_the_handshake(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    (response,) = frames(theirs.receive(ours.start()))
    with pytest.raises(UnexpectedFrame):
        Handshake(alice, bob.public_key).receive(response)
    with pytest.raises(UnexpectedFrame):
        theirs.receive(response)
    assert theirs.state is HandshakeState.FAILED


def test_garbage_fails_the_handshake(alice: IdentityKeys, bob: IdentityKeys) -> None:
    hs = Handshake(alice, bob.public_key)
    with pytest.raises(MalformedFrame):
        hs.receive(b"\x00not a frame")
    assert hs.state is HandshakeState.FAILED


def test_unknown_version_is_refused(alice: IdentityKeys, bob: IdentityKeys) -> None:
    init = decode_frame(Handshake(alice, bob.public_key).start())
    assert isinstance(init, Init)
    future = encode_frame(msgspec.structs.replace(init, version=2))
    with pytest.raises(UnsupportedVersion):
        Handshake(bob, alice.public_key).receive(future)


def test_init_for_someone_else_is_refused(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    init = Handshake(alice, mallory.public_key).start()
    with pytest.raises(HandshakeFailed):
        Handshake(bob, alice.public_key).receive(init)


def test_changed_identity_key_is_reported(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    init = Handshake(mallory, bob.public_key).start()
    with pytest.raises(IdentityKeyChanged) as caught:
        Handshake(bob, alice.public_key).receive(init)
    assert caught.value.received_identity == mallory.public_key


def test_error_messages_hold_no_key_material(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    init = Handshake(mallory, bob.public_key).start()
    with pytest.raises(IdentityKeyChanged) as caught:
        Handshake(bob, alice.public_key).receive(init)
    text = str(caught.value) + repr(caught.value)
    assert mallory.public_key.hex() not in text
    assert mallory.public_key.hex()[:8] not in text


def test_repr_shows_no_secret(alice: IdentityKeys, bob: IdentityKeys) -> None:
    hs = Handshake(alice, bob.public_key)
    hs.start()
    assert alice.seed.hex() not in repr(hs)
    assert repr(hs) == "Handshake(state=init_sent, role=initiator)"


def test_handshake_with_oneself_is_refused(alice: IdentityKeys) -> None:
    with pytest.raises(ValueError, match="another"):
        Handshake(alice, alice.public_key)


def test_message_frame_during_the_handshake_is_refused(
    alice: IdentityKeys, bob: IdentityKeys, pair: tuple[Session, Session]
) -> None:
    sender, _ = pair
    hs = Handshake(bob, alice.public_key)
    with pytest.raises(UnexpectedFrame):
        hs.receive(sender.encrypt(b"too early"))
    assert hs.state is HandshakeState.FAILED


def test_signed_low_order_ephemeral_is_refused(alice: IdentityKeys, bob: IdentityKeys) -> None:
    zero = bytes(32)
    signature = alice.sign(init_signed_bytes(alice.public_key, bob.public_key, zero))
    init = encode_frame(Init(1, alice.public_key, bob.public_key, zero, signature))
    with pytest.raises(HandshakeFailed):
        Handshake(bob, alice.public_key).receive(init)


def test_injected_randomness_makes_handshakes_repeatable(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    def fixed(size: int) -> bytes:
        return b"\x05" * size

    first = Handshake(alice, bob.public_key, random=fixed).start()
    assert Handshake(alice, bob.public_key, random=fixed).start() == first
