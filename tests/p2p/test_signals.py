"""Sealed offers and answers: the relay can neither read, alter, redirect nor replay them."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from kith.p2p import (
    MalformedSignal,
    ReplayedSignal,
    Signal,
    SignalBox,
    SignalKind,
    StaleSignal,
    TamperedSignal,
    WrongDirectionSignal,
    signals,
)
from kith.p2p.signals import MAX_SDP_SIZE, MAX_SIGNAL_SIZE
from kith_proto.keys import IdentityKeys
from kith_proto.pair import derive_pair_key

from .conftest import identity

NOW = 1_700_000_000.0
SDP = "v=0\r\na=fingerprint:sha-256 AA:BB:CC\r\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\n"
OFFER = Signal(SignalKind.OFFER, b"\x01" * 8, SDP)


def boxes(a: IdentityKeys, b: IdentityKeys) -> tuple[SignalBox, SignalBox]:
    return SignalBox(a, b.public_key), SignalBox(b, a.public_key)


def test_round_trip(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    assert theirs.open(ours.seal(OFFER, NOW), NOW) == OFFER


def test_sdp_is_not_readable_on_the_wire(alice: IdentityKeys, bob: IdentityKeys) -> None:
    sealed = SignalBox(alice, bob.public_key).seal(OFFER, NOW)
    assert b"fingerprint" not in sealed
    assert b"10.0.0.1" not in sealed


def test_size_is_padded_to_buckets(alice: IdentityKeys, bob: IdentityKeys) -> None:
    box = SignalBox(alice, bob.public_key)
    short = box.seal(Signal(SignalKind.OFFER, b"\x01" * 8, "v=0"), NOW)
    longer = box.seal(Signal(SignalKind.OFFER, b"\x01" * 8, "v=0" + "x" * 300), NOW)
    assert len(short) == len(longer)


def test_longer_sdp_is_refused() -> None:
    with pytest.raises(ValueError, match="SDP"):
        Signal(SignalKind.OFFER, b"\x01" * 8, "\u00e9" * (MAX_SDP_SIZE // 2 + 1))


def test_largest_signal_fits_the_limit(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    big = Signal(SignalKind.ANSWER, b"\x01" * 8, "\U0001f600" * (MAX_SDP_SIZE // 4))
    sealed = ours.seal(big, NOW)
    assert len(sealed) <= MAX_SIGNAL_SIZE
    assert theirs.open(sealed, NOW) == big


@pytest.mark.parametrize("index", [0, 5, 15, 30, -1])
def test_any_flipped_byte_is_refused(alice: IdentityKeys, bob: IdentityKeys, index: int) -> None:
    ours, theirs = boxes(alice, bob)
    sealed = bytearray(ours.seal(OFFER, NOW))
    sealed[index] ^= 0x01
    with pytest.raises((TamperedSignal, WrongDirectionSignal, MalformedSignal)):
        theirs.open(bytes(sealed), NOW)


def test_altered_ciphertext_is_tampered(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    sealed = bytearray(ours.seal(OFFER, NOW))
    sealed[40] ^= 0x80
    with pytest.raises(TamperedSignal) as info:
        theirs.open(bytes(sealed), NOW)
    assert info.value.code == "tampered_signal"


def test_own_signal_reflected_back_is_wrong_direction(
    alice: IdentityKeys, bob: IdentityKeys
) -> None:
    ours = SignalBox(alice, bob.public_key)
    with pytest.raises(WrongDirectionSignal):
        ours.open(ours.seal(OFFER, NOW), NOW)


def test_signal_of_another_pair_is_wrong_direction(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    from_mallory = SignalBox(mallory, bob.public_key).seal(OFFER, NOW)
    with pytest.raises(WrongDirectionSignal):
        SignalBox(bob, alice.public_key).open(from_mallory, NOW)


def test_relay_cannot_swap_in_its_own_sdp(
    alice: IdentityKeys, bob: IdentityKeys, mallory: IdentityKeys
) -> None:
    """A relay knows neither pair key: whatever it builds fails to open."""
    ours, theirs = boxes(alice, bob)
    genuine = ours.seal(OFFER, NOW)
    forged_sdp = SDP.replace("AA:BB:CC", "DE:AD:00")
    relay_box = SignalBox(mallory, bob.public_key)
    forged = relay_box.seal(Signal(SignalKind.OFFER, OFFER.attempt, forged_sdp), NOW)
    spliced = genuine[:21] + forged[21:]  # the genuine header on the relay's ciphertext
    with pytest.raises(TamperedSignal):
        theirs.open(spliced, NOW)
    assert theirs.open(genuine, NOW) == OFFER


def test_replay_is_refused(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    sealed = ours.seal(OFFER, NOW)
    theirs.open(sealed, NOW)
    with pytest.raises(ReplayedSignal):
        theirs.open(sealed, NOW + 1)


def test_older_signal_after_a_newer_one_is_refused(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    first, second = ours.seal(OFFER, NOW), ours.seal(OFFER, NOW)
    theirs.open(second, NOW)
    with pytest.raises(ReplayedSignal):
        theirs.open(first, NOW)


def test_sequence_increases_within_one_millisecond(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    sealed = [ours.seal(OFFER, NOW) for _ in range(3)]
    assert [theirs.open(s, NOW) for s in sealed] == [OFFER] * 3


def test_stale_signal_is_refused_after_a_restart(alice: IdentityKeys, bob: IdentityKeys) -> None:
    sealed = SignalBox(alice, bob.public_key).seal(OFFER, NOW)
    restarted = SignalBox(bob, alice.public_key, max_age=600)
    with pytest.raises(StaleSignal):
        restarted.open(sealed, NOW + 601)


def test_refused_signal_leaves_the_guard_unchanged(alice: IdentityKeys, bob: IdentityKeys) -> None:
    ours, theirs = boxes(alice, bob)
    sealed = ours.seal(OFFER, NOW)
    with pytest.raises(StaleSignal):
        theirs.open(sealed, NOW + 10_000)
    assert theirs.open(sealed, NOW) == OFFER


@pytest.mark.parametrize("payload", [b"", b"\x01", b"\x02" + bytes(600), bytes(20_000)])
def test_garbage_is_malformed(alice: IdentityKeys, bob: IdentityKeys, payload: bytes) -> None:
    with pytest.raises(MalformedSignal):
        SignalBox(bob, alice.public_key).open(payload, NOW)


def seal_content(sender: IdentityKeys, receiver: IdentityKeys, body: bytes) -> bytes:
    """Seal any record bytes with the real direction key, as a contact could."""
    pair_key = derive_pair_key(sender, receiver.public_key)
    key = signals._DirectionKey.derive(pair_key, sender.public_key, receiver.public_key)
    padded = signals._LENGTH.pack(len(body)) + body
    padded += bytes(-len(padded) % signals.PAD_TO)
    nonce = bytes(signals.NONCE_SIZE)
    sealed = ChaCha20Poly1305(key.key).encrypt(nonce, padded, key.aad)
    return bytes([signals.SIGNAL_VERSION]) + key.check + nonce + sealed


def record(**fields: object) -> bytes:
    return msgspec.msgpack.encode(
        {"k": "offer", "a": b"\x01" * 8, "q": 1, "at": 0, "d": "v=0"} | fields
    )


@pytest.mark.parametrize(
    "body",
    [
        b"\xc1",
        msgspec.msgpack.encode({"k": "offer"}),
        record(k="hello"),
        record(a=b"short"),
        record(d="\u00e9").replace(b"\xa2\xc3\xa9", b"\xa2\xc3("),
        record(k="offer").replace(b"\xa5offer", b"\xa5offe\xff"),
        record(z=[]).replace(b"\x90", b"\x91" * 5_000 + b"\xc0"),
    ],
    ids=[
        "bad-msgpack",
        "missing-fields",
        "bad-kind",
        "bad-attempt",
        "bad-utf8-sdp",
        "bad-utf8-kind",
        "deep-nesting",
    ],
)
def test_authentic_but_undecodable_content_is_malformed(
    alice: IdentityKeys, bob: IdentityKeys, body: bytes
) -> None:
    with pytest.raises(MalformedSignal):
        SignalBox(bob, alice.public_key, max_age=None).open(seal_content(alice, bob, body), NOW)


record_starts = st.sampled_from([b"", b"\x85\xa1k", b"\x85\xa1d", b"\x85\xa1k\xa5offer\xa1d"])


@given(record_starts, st.binary(max_size=300))
def test_random_authentic_content_opens_or_is_malformed(start: bytes, rest: bytes) -> None:
    alice, bob = identity(1), identity(2)
    sealed = seal_content(alice, bob, start + rest)
    with contextlib.suppress(MalformedSignal):
        SignalBox(bob, alice.public_key, max_age=None).open(sealed, NOW)


def test_repr_shows_no_sdp() -> None:
    assert "fingerprint" not in repr(OFFER)


def test_repr_shows_no_direction_key(alice: IdentityKeys, bob: IdentityKeys) -> None:
    pair_key = derive_pair_key(alice, bob.public_key)
    key = signals._DirectionKey.derive(pair_key, alice.public_key, bob.public_key)
    assert key.key.hex() not in repr(key)
    assert repr(key.key) not in repr(key)
    assert "check=" in repr(key)


def test_attempt_must_be_eight_bytes() -> None:
    with pytest.raises(ValueError, match="attempt"):
        Signal(SignalKind.OFFER, b"\x01", SDP)
