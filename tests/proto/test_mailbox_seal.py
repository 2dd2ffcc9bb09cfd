"""Sealed mailbox items: only the recipient opens, only the pair seals, sizes are buckets."""

from __future__ import annotations

import pytest

from kith_proto.keys import IdentityKeys
from kith_proto.mailbox_seal import (
    BUCKETS,
    MAX_FRAME,
    ItemTooLargeError,
    MalformedItemError,
    StaleItemError,
    TamperedItemError,
    bucket_for,
)
from kith_proto.pair import PairChannel


def pair() -> tuple[PairChannel, PairChannel, IdentityKeys]:
    """Alice's channel to Bob, Bob's to Alice, and Alice's keys."""
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    return PairChannel(alice, bob.public_key), PairChannel(bob, alice.public_key), alice


def test_the_recipient_opens_what_the_sender_sealed() -> None:
    to_bob, from_alice, _ = pair()
    item = to_bob.seal_mailbox_item(b"hello bob", now_ms=1_000)
    assert from_alice.open_mailbox_item(item) == b"hello bob"
    assert to_bob.mailbox_out_topic == from_alice.mailbox_in_topic


def test_every_item_is_padded_to_a_bucket() -> None:
    to_bob, _, _ = pair()
    sizes = {len(to_bob.seal_mailbox_item(b"x" * n, now_ms=1)) for n in (0, 1, 100, 900)}
    assert sizes == {BUCKETS[0]}
    assert len(to_bob.seal_mailbox_item(b"x" * 2000, now_ms=1)) == BUCKETS[1]
    assert len(to_bob.seal_mailbox_item(b"x" * MAX_FRAME, now_ms=1)) == BUCKETS[-1]


def test_a_frame_beyond_the_largest_bucket_is_refused() -> None:
    to_bob, _, _ = pair()
    with pytest.raises(ItemTooLargeError):
        to_bob.seal_mailbox_item(b"x" * (MAX_FRAME + 1), now_ms=1)
    with pytest.raises(ItemTooLargeError):
        bucket_for(MAX_FRAME + 1)


def test_a_tampered_item_does_not_open() -> None:
    to_bob, from_alice, _ = pair()
    item = bytearray(to_bob.seal_mailbox_item(b"hello", now_ms=1))
    item[100] ^= 1
    with pytest.raises(TamperedItemError):
        from_alice.open_mailbox_item(bytes(item))


def test_a_third_party_cannot_open_or_forge_items() -> None:
    to_bob, from_alice, _ = pair()
    mallory = PairChannel(IdentityKeys.generate(), from_alice.peer_public)
    # Mallory knows Bob's public key, not the pair key: her seal does not open as Alice's.
    forged = mallory.seal_mailbox_item(b"I am alice", now_ms=1)
    with pytest.raises(TamperedItemError):
        from_alice.open_mailbox_item(forged)
    # Nor can Alice's item to Bob be opened by Alice herself (sealed to Bob's key).
    with pytest.raises(TamperedItemError):
        to_bob.open_mailbox_item(to_bob.seal_mailbox_item(b"x", now_ms=1))


def test_wrong_size_or_version_is_malformed() -> None:
    to_bob, from_alice, _ = pair()
    item = to_bob.seal_mailbox_item(b"hello", now_ms=1)
    with pytest.raises(MalformedItemError):
        from_alice.open_mailbox_item(item[:-1])
    with pytest.raises(MalformedItemError):
        from_alice.open_mailbox_item(b"\x09" + item[1:])


def test_an_item_older_than_the_floor_is_stale() -> None:
    to_bob, from_alice, _ = pair()
    item = to_bob.seal_mailbox_item(b"old", now_ms=1_000)
    with pytest.raises(StaleItemError):
        from_alice.open_mailbox_item(item, not_before_ms=2_000)
    assert from_alice.open_mailbox_item(item, not_before_ms=1_000) == b"old"


def test_the_mailbox_topic_is_the_hash_of_the_owners_token() -> None:
    from kith_proto.wire import token_topic

    _, from_alice, _ = pair()
    assert token_topic(from_alice.mailbox_in_token) == from_alice.mailbox_in_topic.raw
