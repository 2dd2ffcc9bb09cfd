"""The sealed contact request: only the recipient opens it, and only an authentic one."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith_proto.intro import (
    INTRO_SIZE,
    MAX_DISPLAY_NAME,
    ForgedIntroError,
    IntroError,
    MalformedIntroError,
    UnreadableIntroError,
    open_intro,
    seal_intro,
)
from kith_proto.keys import IdentityKeys

ALICE = IdentityKeys(bytes(range(32)))
BOB = IdentityKeys(bytes(range(32, 64)))
CAROL = IdentityKeys(bytes(range(64, 96)))


def test_the_recipient_opens_the_senders_key_name_and_time() -> None:
    sealed = seal_intro(ALICE, BOB.public_key, "Alice", 1_700_000_000_000)
    request = open_intro(BOB, sealed)
    assert (request.sender, request.name, request.sent_at) == (ALICE.public_key, "Alice", 1.7e12)


@pytest.mark.parametrize("name", ["", "A", "𝔸" * MAX_DISPLAY_NAME])
def test_every_request_has_the_same_size(name: str) -> None:
    assert len(seal_intro(ALICE, BOB.public_key, name, 1)) == INTRO_SIZE


def test_the_payload_shows_neither_the_sender_nor_the_name() -> None:
    sealed = seal_intro(ALICE, BOB.public_key, "Alice Liddell", 1)
    assert ALICE.public_key not in sealed
    assert b"Alice" not in sealed


def test_two_requests_to_the_same_recipient_look_unrelated() -> None:
    one, two = (seal_intro(ALICE, BOB.public_key, "A", 1) for _ in range(2))
    assert one[1:45] != two[1:45]


def test_another_identity_cannot_open_it() -> None:
    sealed = seal_intro(ALICE, BOB.public_key, "Alice", 1)
    with pytest.raises(UnreadableIntroError) as caught:
        open_intro(CAROL, sealed)
    assert caught.value.code == "unreadable_intro"


@pytest.mark.parametrize("where", [0, 1, 40, 50, INTRO_SIZE - 1])
def test_a_flipped_byte_is_refused(where: int) -> None:
    sealed = bytearray(seal_intro(ALICE, BOB.public_key, "Alice", 1))
    sealed[where] ^= 0x01
    with pytest.raises(IntroError):
        open_intro(BOB, bytes(sealed))


def test_a_request_signed_by_someone_else_is_forged() -> None:
    """Mallory seals a request naming Alice but can only sign it with her own key."""
    eph = os.urandom(32)
    genuine = seal_intro(CAROL, BOB.public_key, "Alice", 5, ephemeral_private=eph)
    from kith_proto import intro

    request = open_intro(BOB, genuine)
    forged_body = intro.ContactRequest(ALICE.public_key, "Alice", 5, request.signature)
    payload = _reseal(forged_body, BOB.public_key, eph)
    with pytest.raises(ForgedIntroError) as caught:
        open_intro(BOB, payload)
    assert caught.value.code == "forged_intro"


def test_a_request_claiming_to_come_from_the_recipient_is_forged() -> None:
    from kith_proto import intro

    body = intro.ContactRequest(BOB.public_key, "me", 5, bytes(64))
    with pytest.raises(ForgedIntroError):
        open_intro(BOB, _reseal(body, BOB.public_key, os.urandom(32)))


def _reseal(body: object, recipient: bytes, eph: bytes) -> bytes:
    """Seal ``body`` as is (a forger's tool: no signing)."""
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from nacl import bindings

    from kith_proto import intro
    from kith_proto.keys import x25519_public_from_ed25519

    eph_public = bytes(bindings.crypto_scalarmult_base(eph))
    shared = bytes(bindings.crypto_scalarmult(eph, x25519_public_from_ed25519(recipient)))
    key = intro._key(shared, eph_public, recipient)
    nonce = os.urandom(12)
    sealed = ChaCha20Poly1305(key).encrypt(
        nonce,
        intro._pad(body),  # type: ignore[arg-type]
        intro._aad(eph_public, recipient),
    )
    return bytes([1]) + eph_public + nonce + sealed


@pytest.mark.parametrize("size", [0, 1, INTRO_SIZE - 1, INTRO_SIZE + 1, 32768])
def test_a_payload_of_the_wrong_size_is_malformed(size: int) -> None:
    with pytest.raises(MalformedIntroError) as caught:
        open_intro(BOB, os.urandom(size))
    assert caught.value.code == "malformed_intro"


def test_a_name_longer_than_the_limit_cannot_be_sealed() -> None:
    with pytest.raises(ValueError, match="at most 64"):
        seal_intro(ALICE, BOB.public_key, "x" * (MAX_DISPLAY_NAME + 1), 1)


def test_an_unusable_recipient_key_cannot_be_sealed_for() -> None:
    with pytest.raises(ValueError, match="recipient key"):
        seal_intro(ALICE, b"\x01" * 31, "A", 1)


@given(st.binary(min_size=INTRO_SIZE, max_size=INTRO_SIZE))
def test_random_bytes_never_open_and_raise_only_intro_errors(payload: bytes) -> None:
    with pytest.raises(IntroError):
        open_intro(BOB, payload)
