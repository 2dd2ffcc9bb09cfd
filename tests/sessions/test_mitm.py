"""A malicious relay (e.g. the signaling server) that tampers with the handshake."""

from __future__ import annotations

import msgspec
import pytest

from kith.sessions import (
    Handshake,
    HandshakeFailed,
    HandshakeState,
    IdentityKeyChanged,
    Init,
    Response,
    SendFrame,
    decode_frame,
)
from kith.sessions.frames import Finish, encode_frame
from kith.sessions.handshake import LABEL_RESPONSE
from kith.sessions.kdf import KeyPair, transcript_hash
from kith_proto.keys import IdentityKeys

RELAY_KEY = KeyPair.from_private(b"\x42" * 32).public


def swap_ephemeral(data: bytes) -> bytes:
    frame = decode_frame(data)
    assert isinstance(frame, Init | Response)
    return encode_frame(msgspec.structs.replace(frame, ephemeral=RELAY_KEY))


def response_to(initiator: Handshake, responder: Handshake, init: bytes) -> bytes:
    (event,) = responder.receive(init)
    assert isinstance(event, SendFrame)
    return event.data


def test_injected_initiator_ephemeral_fails(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    with pytest.raises(HandshakeFailed):
        theirs.receive(swap_ephemeral(ours.start()))
    assert theirs.state is HandshakeState.FAILED


def test_injected_responder_ephemeral_fails(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    response = response_to(ours, theirs, ours.start())
    with pytest.raises(HandshakeFailed):
        ours.receive(swap_ephemeral(response))
    assert ours.state is HandshakeState.FAILED


def test_readdressed_init_fails(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    init = decode_frame(Handshake(alice, bob.public_key).start())
    assert isinstance(init, Init)
    readdressed = encode_frame(msgspec.structs.replace(init, responder=mallory.public_key))
    with pytest.raises(HandshakeFailed):  # Alice's signature covers the responder
        Handshake(mallory, alice.public_key).receive(readdressed)


def test_relay_answering_with_its_own_identity_is_caught_by_the_initiator(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    ours = Handshake(alice, bob.public_key)
    init = decode_frame(ours.start())
    assert isinstance(init, Init)
    relay = KeyPair.from_private(b"\x42" * 32)
    th = transcript_hash(alice.public_key, mallory.public_key, init.ephemeral, relay.public)
    signature = mallory.sign(LABEL_RESPONSE + th)
    forged = Response(1, mallory.public_key, relay.public, signature, bytes(32))
    with pytest.raises(IdentityKeyChanged):
        ours.receive(encode_frame(forged))


def test_relay_with_its_own_identity_is_caught_by_the_responder(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    theirs = Handshake(bob, alice.public_key)
    with pytest.raises(IdentityKeyChanged):
        theirs.receive(Handshake(mallory, bob.public_key).start())


def test_replayed_response_from_an_old_handshake_fails(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    old = Handshake(alice, bob.public_key)
    old_response = response_to(old, Handshake(bob, alice.public_key), old.start())
    fresh = Handshake(alice, bob.public_key)
    fresh.start()
    with pytest.raises(HandshakeFailed):
        fresh.receive(old_response)


def test_replayed_initiator_side_fails_at_finish(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours = Handshake(alice, bob.public_key)
    init = ours.start()
    finish, _done = ours.receive(response_to(ours, Handshake(bob, alice.public_key), init))
    assert isinstance(finish, SendFrame)
    victim = Handshake(bob, alice.public_key)
    victim.receive(init)  # the relay replays Alice's old Init ...
    with pytest.raises(HandshakeFailed):
        victim.receive(finish.data)  # ... and her old Finish, which no longer confirms


def test_forged_finish_fails(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    theirs.receive(ours.start())
    with pytest.raises(HandshakeFailed):
        theirs.receive(encode_frame(Finish(1, b"\x00" * 32)))


def test_clean_retry_after_an_attack_succeeds(alice: IdentityKeys, bob: IdentityKeys) -> None:
    attacked = Handshake(bob, alice.public_key)
    with pytest.raises(HandshakeFailed):
        attacked.receive(swap_ephemeral(Handshake(alice, bob.public_key).start()))
    ours, theirs = Handshake(alice, bob.public_key), Handshake(bob, alice.public_key)
    finish, _ = ours.receive(response_to(ours, theirs, ours.start()))
    assert isinstance(finish, SendFrame)
    assert theirs.receive(finish.data)
