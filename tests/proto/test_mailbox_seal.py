"""Sealed mailbox items: only the recipient opens, only the pair seals, sizes are
buckets; to a rotating X-Wing key or (fallback) the identity-derived X25519 key."""

from __future__ import annotations

import pytest

from kith_proto.keys import IdentityKeys
from kith_proto.mailbox_seal import (
    BUCKETS,
    ITEM_VERSION,
    KEY_ID_SIZE,
    MAX_FRAME,
    ROTATING_PUBLIC_SIZE,
    BadMailboxKeyError,
    ItemTooLargeError,
    Kem,
    MalformedItemError,
    RotatingKeyPair,
    RotatingPublicKey,
    StaleItemError,
    TamperedItemError,
    UnknownKeyError,
    bucket_for,
    item_key,
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
    sizes = {len(to_bob.seal_mailbox_item(b"x" * n, now_ms=1)) for n in (0, 1, 100, 1400)}
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
        from_alice.open_mailbox_item(b"\x01" + item[1:])  # version 1 is gone
    with pytest.raises(MalformedItemError):
        from_alice.open_mailbox_item(item[:1] + b"\x07" + item[2:])  # no such KEM


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


# -- rotating (X-Wing) mailbox keys ---------------------------------------------


def test_an_item_sealed_to_a_rotating_key_opens_with_it_and_names_its_key() -> None:
    to_bob, from_alice, _ = pair()
    bobs = RotatingKeyPair.generate()
    item = to_bob.seal_mailbox_item(b"hello bob", 1_000, bobs.public_key())
    assert item_key(item) == (Kem.ROTATING, bobs.key_id)
    assert len(bobs.key_id) == KEY_ID_SIZE
    assert item[0] == ITEM_VERSION
    assert from_alice.open_mailbox_item(item, rotating={bobs.key_id: bobs}) == b"hello bob"


def test_a_100_character_message_fits_the_smallest_bucket_with_either_key() -> None:
    to_bob, _, _ = pair()
    frame = b"x" * 180  # a 100-character text frame is about 170 bytes
    bobs = RotatingKeyPair.generate().public_key()
    assert len(to_bob.seal_mailbox_item(frame, 1, bobs)) == BUCKETS[0] == bucket_for(180)
    assert len(to_bob.seal_mailbox_item(frame, 1)) == BUCKETS[0]
    assert len(to_bob.seal_mailbox_item(b"x" * MAX_FRAME, 1, bobs)) == BUCKETS[-1]
    with pytest.raises(ItemTooLargeError):
        to_bob.seal_mailbox_item(b"x" * (MAX_FRAME + 1), 1, bobs)


def test_an_item_sealed_to_a_deleted_rotating_key_is_refused_as_unknown() -> None:
    to_bob, from_alice, _ = pair()
    old, new = RotatingKeyPair.generate(), RotatingKeyPair.generate()
    item = to_bob.seal_mailbox_item(b"sealed to the old key", 1, old.public_key())
    with pytest.raises(UnknownKeyError, match="no longer holds"):
        from_alice.open_mailbox_item(item, rotating={new.key_id: new})
    # nor does the identity key open it: the identity key alone is not enough
    with pytest.raises(UnknownKeyError):
        from_alice.open_mailbox_item(item)


def test_a_rotating_item_with_an_altered_header_or_body_does_not_open() -> None:
    to_bob, from_alice, _ = pair()
    bobs = RotatingKeyPair.generate()
    item = to_bob.seal_mailbox_item(b"hello", 1, bobs.public_key())
    body = bytearray(item)
    body[500] ^= 1
    with pytest.raises(TamperedItemError):
        from_alice.open_mailbox_item(bytes(body), rotating={bobs.key_id: bobs})
    # a key ID swapped for another of Bob's keys: the header is bound into the seal
    other = RotatingKeyPair.generate()
    swapped = item[:2] + other.key_id + item[2 + KEY_ID_SIZE :]
    with pytest.raises(TamperedItemError):
        from_alice.open_mailbox_item(swapped, rotating={other.key_id: bobs})


def test_a_third_party_with_bobs_rotating_public_key_cannot_forge() -> None:
    _, from_alice, _ = pair()
    bobs = RotatingKeyPair.generate()
    mallory = PairChannel(IdentityKeys.generate(), from_alice.peer_public)
    forged = mallory.seal_mailbox_item(b"I am alice", 1, bobs.public_key())
    with pytest.raises(TamperedItemError):
        from_alice.open_mailbox_item(forged, rotating={bobs.key_id: bobs})


def test_key_ids_differ_per_key_and_the_public_key_round_trips() -> None:
    a, b = RotatingKeyPair.generate(), RotatingKeyPair.generate()
    assert a.key_id != b.key_id
    public = a.public_key().public
    assert len(public) == ROTATING_PUBLIC_SIZE
    assert RotatingPublicKey.parse(public).key_id == a.key_id
    assert "private" not in repr(a) or a.private.hex() not in repr(a)


@pytest.mark.parametrize(
    "public",
    [b"", b"\x01" * 32, b"\x01" * (ROTATING_PUBLIC_SIZE - 1), b"\x01" * (ROTATING_PUBLIC_SIZE + 1)],
)
def test_a_public_key_of_the_wrong_length_is_refused(public: bytes) -> None:
    with pytest.raises(BadMailboxKeyError, match="bytes"):
        RotatingPublicKey.parse(public)


def test_a_public_key_that_is_not_an_ml_kem_key_is_refused() -> None:
    # ML-KEM public keys hold 12-bit coefficients below q = 3329: all 0xff is none
    with pytest.raises(BadMailboxKeyError, match="not a valid"):
        RotatingPublicKey.parse(b"\xff" * ROTATING_PUBLIC_SIZE)


def test_a_private_key_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="96 bytes"):
        RotatingKeyPair(b"\x00" * 32)
