"""Sender Keys: chains seal and sign, receivers open once each, in any order within a bound."""

from __future__ import annotations

import msgspec
import pytest

from kith.groups.errors import NotAMember, SkippedTooFar, TamperedMessage
from kith.groups.keyring import GroupKeyring
from kith.groups.membership import create_group, next_change
from kith.groups.sender_keys import (
    MAX_SKIP,
    OwnChain,
    PeerChain,
    decode_group_message,
    decode_sender_key,
    encode_group_message,
    encode_sender_key,
)
from kith_proto.keys import IdentityKeys

ALICE, BOB, CAROL, DAVE = (IdentityKeys(bytes([n]) * 32) for n in (1, 2, 3, 4))
GID = bytes(range(16))


def _pair() -> tuple[OwnChain, PeerChain]:
    own = OwnChain.new(GID, ALICE.kith_id)
    key = decode_sender_key(encode_sender_key(own.sender_key()))
    return own, PeerChain.from_sender_key(key)


def test_a_receiver_opens_each_message_of_a_chain() -> None:
    own, peer = _pair()
    for text in (b"one", b"two", b"three"):
        own, message = own.seal(text)
        peer, plain = peer.open(decode_group_message(encode_group_message(message)))
        assert plain == text
    assert peer.iteration == own.iteration == 3
    assert text not in encode_group_message(message)


def test_a_message_opens_once_only() -> None:
    own, peer = _pair()
    own, message = own.seal(b"hi")
    opened, _ = peer.open(message)
    with pytest.raises(SkippedTooFar, match="opened already"):
        opened.open(message)


def test_out_of_order_messages_open_once_each_within_the_bound() -> None:
    own, peer = _pair()
    messages = []
    for n in range(5):
        own, message = own.seal(b"m%d" % n)
        messages.append(message)
    for n in (4, 1, 3, 0, 2):
        peer, plain = peer.open(messages[n])
        assert plain == b"m%d" % n
    assert peer.skipped == ()
    with pytest.raises(SkippedTooFar):
        peer.open(messages[1])


def test_a_message_too_far_ahead_is_refused_and_changes_nothing() -> None:
    own, peer = _pair()
    far = own
    for _ in range(MAX_SKIP + 1):
        far, _message = far.seal(b"")
    far, message = far.seal(b"too far")
    with pytest.raises(SkippedTooFar, match="ahead"):
        peer.open(message)
    _, first = own.seal(b"first")
    assert peer.open(first)[1] == b"first"


def test_a_tampered_message_is_rejected_and_the_chain_is_unchanged() -> None:
    own, peer = _pair()
    own, message = own.seal(b"pay 10")
    flipped = bytes([message.ciphertext[0] ^ 1]) + message.ciphertext[1:]
    with pytest.raises(TamperedMessage, match="signature"):
        peer.open(msgspec.structs.replace(message, ciphertext=flipped))
    with pytest.raises(TamperedMessage, match="signature"):
        peer.open(msgspec.structs.replace(message, iteration=1))
    assert peer.open(message)[1] == b"pay 10"
    with pytest.raises(TamperedMessage):
        decode_group_message(b"\x01\x02")


def test_a_member_holding_the_chain_key_cannot_forge_as_its_owner() -> None:
    own, peer = _pair()
    key = own.sender_key()
    forger = OwnChain(GID, ALICE.kith_id, key.chain_id, key.chain_key, 0, bytes(32))
    _, forged = forger.seal(b"I am Alice")
    with pytest.raises(TamperedMessage):
        peer.open(forged)
    _, genuine = own.seal(b"I am Alice")
    assert peer.open(genuine)[1] == b"I am Alice"


def test_keyring_takes_keys_and_messages_from_members_only() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    bob = GroupKeyring.start(state.group_id, BOB.kith_id)
    alice = GroupKeyring.start(state.group_id, ALICE.kith_id)
    alice = alice.accept(state, bob.own.sender_key(), BOB.kith_id)
    with pytest.raises(NotAMember, match="own sender key"):
        alice.accept(state, bob.own.sender_key(), CAROL.kith_id)
    dave = GroupKeyring.start(state.group_id, DAVE.kith_id)
    with pytest.raises(NotAMember, match="not a member"):
        alice.accept(state, dave.own.sender_key(), DAVE.kith_id)
    _, from_dave = dave.seal(b"let me in")
    with pytest.raises(NotAMember):
        alice.open(state, from_dave)
    bob, from_bob = bob.seal(b"hello")
    assert alice.open(state, from_bob)[1] == b"hello"


def test_after_a_removal_the_removed_member_cannot_open_the_next_message() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id, CAROL.kith_id])
    rings = {k.kith_id: GroupKeyring.start(state.group_id, k.kith_id) for k in (ALICE, BOB, CAROL)}
    for sender in rings:
        for receiver in rings:
            if sender != receiver:
                rings[receiver] = rings[receiver].accept(
                    state, rings[sender].own.sender_key(), sender
                )
    applied, _ = next_change(state, ALICE, "remove", subject=CAROL.kith_id)
    alice, rotated = rings[ALICE.kith_id].after_change(applied)
    bob, bob_rotated = rings[BOB.kith_id].after_change(applied)
    assert rotated
    assert bob_rotated
    assert all(sender != CAROL.kith_id for sender, _ in alice.peers)
    alice = alice.accept(applied.state, bob.own.sender_key(), BOB.kith_id)
    bob = bob.accept(applied.state, alice.own.sender_key(), ALICE.kith_id)
    alice, message = alice.seal(b"after Carol left")
    assert bob.open(applied.state, message)[1] == b"after Carol left"
    with pytest.raises(NotAMember):  # Carol holds only Alice's old chain
        rings[CAROL.kith_id].open(state, message)
    old_chain = rings[CAROL.kith_id].peers[(ALICE.kith_id, rings[ALICE.kith_id].own.chain_id)]
    forced = msgspec.structs.replace(message, chain_id=old_chain.chain_id)
    with pytest.raises(TamperedMessage):
        old_chain.open(forced)


def test_a_chain_handed_over_again_keeps_the_receivers_place_and_skipped_keys() -> None:
    state, _ = create_group(ALICE, "Hikers", [BOB.kith_id])
    bob = GroupKeyring.start(state.group_id, BOB.kith_id)
    alice = GroupKeyring.start(state.group_id, ALICE.kith_id)
    alice = alice.accept(state, bob.own.sender_key(), BOB.kith_id)
    bob, first = bob.seal(b"first")
    bob, second = bob.seal(b"second")
    alice, _ = alice.open(state, second)
    again = alice.accept(state, bob.own.sender_key(), BOB.kith_id)
    assert again is alice
    assert again.open(state, first)[1] == b"first"
