"""Pure tests of pair keys, pair topics and the presence envelope."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from kith_proto import IdentityKeys
from kith_proto import envelope as envelope_module
from kith_proto import pair as pair_module
from kith_proto.envelope import (
    ENVELOPE_VERSION,
    MAX_AHEAD_MS,
    MAX_DISPLAY_NAME,
    MAX_DISPLAY_NAME_BYTES,
    MAX_STATUS_TEXT_BYTES,
    PADDED_SIZE,
    fit_utf8,
)
from kith_proto.pair import (
    ENVELOPE_SIZE,
    MAX_STATUS_TEXT,
    EnvelopeError,
    FutureEnvelopeError,
    InvalidPeerKeyError,
    MalformedEnvelopeError,
    PairChannel,
    PresenceRecord,
    PresenceStatus,
    ReplayedEnvelopeError,
    ReplayGuard,
    TamperedEnvelopeError,
    Topic,
    WrongKeyError,
    derive_pair_key,
    intro_topic,
    presence_token,
    presence_topic,
    relay_topic,
)

ALICE = IdentityKeys(bytes(range(32)))
BOB = IdentityKeys(bytes(range(32, 64)))
CAROL = IdentityKeys(bytes(range(64, 96)))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "presence.md"


def record(
    seq: int = 1, text: str = "", status: PresenceStatus = PresenceStatus.ONLINE
) -> PresenceRecord:
    return PresenceRecord(status=status, text=text, seq=seq, sent_at=1_700_000_000_000)


def channels() -> tuple[PairChannel, PairChannel]:
    return PairChannel(ALICE, BOB.public_key), PairChannel(BOB, ALICE.public_key)


# -- keys and topics --------------------------------------------------------


def test_both_sides_derive_the_same_pair_key() -> None:
    assert derive_pair_key(ALICE, BOB.public_key) == derive_pair_key(BOB, ALICE.public_key)


def test_pair_key_is_not_the_raw_x25519_secret() -> None:
    assert derive_pair_key(ALICE, BOB.public_key) != ALICE.agree(BOB.public_key)


def test_strangers_derive_different_pair_keys() -> None:
    assert derive_pair_key(ALICE, BOB.public_key) != derive_pair_key(ALICE, CAROL.public_key)


def test_one_side_publishes_where_the_other_subscribes() -> None:
    alice, bob = channels()
    assert alice.publish_topic == bob.subscribe_topic
    assert bob.publish_topic == alice.subscribe_topic


def test_one_side_relays_into_the_other_sides_inbox() -> None:
    alice, bob = channels()
    assert alice.relay_out_topic == bob.relay_in_topic
    assert bob.relay_out_topic == alice.relay_in_topic


def test_every_topic_of_a_pair_is_distinct() -> None:
    alice, _ = channels()
    topics = {
        alice.publish_topic,
        alice.subscribe_topic,
        alice.relay_out_topic,
        alice.relay_in_topic,
        intro_topic(ALICE.public_key),
        intro_topic(BOB.public_key),
    }
    assert len(topics) == 6


def test_strangers_get_different_topics_for_the_same_contact() -> None:
    with_bob = PairChannel(ALICE, BOB.public_key)
    with_carol = PairChannel(ALICE, CAROL.public_key)
    assert with_bob.publish_topic != with_carol.publish_topic
    assert with_bob.subscribe_topic != PairChannel(CAROL, BOB.public_key).subscribe_topic


def test_topics_depend_on_the_pair_key_not_only_the_ids() -> None:
    key = derive_pair_key(ALICE, BOB.public_key)
    other_key = bytes(32)
    a, b = ALICE.public_key, BOB.public_key
    assert presence_topic(key, a, b) != presence_topic(other_key, a, b)
    assert relay_topic(key, a, b) != relay_topic(other_key, a, b)


def test_topic_text_is_43_characters_of_base64url() -> None:
    topic = PairChannel(ALICE, BOB.public_key).publish_topic
    assert len(topic.text) == 43
    assert str(topic) == topic.text
    assert Topic.from_text(topic.text) == topic


@pytest.mark.parametrize(
    "text",
    ["", "A" * 42, "A" * 44, "A" * 42 + "B", "+" * 43, "A" * 42 + "=", "Ä" * 43],
)
def test_non_canonical_topic_text_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        Topic.from_text(text)


def test_topic_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Topic(b"short")


def test_intro_topic_depends_on_the_public_key_alone() -> None:
    assert intro_topic(ALICE.public_key) == intro_topic(ALICE.public_key)
    assert intro_topic(ALICE.public_key) != intro_topic(BOB.public_key)
    with pytest.raises(ValueError, match="32 bytes"):
        intro_topic(b"short")


@pytest.mark.parametrize(
    "peer",
    [b"", b"\x01" * 31, ALICE.public_key, b"\xff" * 32, bytes(32)],
    ids=["empty", "short", "own-key", "not-a-point", "low-order"],
)
def test_unusable_peer_key_is_rejected(peer: bytes) -> None:
    with pytest.raises(InvalidPeerKeyError) as err:
        PairChannel(ALICE, peer)
    assert err.value.code == "invalid_key"


def test_channel_repr_shows_no_key_material() -> None:
    alice, _ = channels()
    key = derive_pair_key(ALICE, BOB.public_key)
    assert key.hex() not in repr(alice)
    assert ALICE.seed.hex() not in repr(alice)


# -- envelope ---------------------------------------------------------------


def test_sealed_record_round_trips() -> None:
    alice, bob = channels()
    sent = PresenceRecord(PresenceStatus.BUSY, "in a meeting", 7, 1_700_000_000_123, True)
    assert bob.open(alice.seal(sent)) == sent


@pytest.mark.parametrize(
    "text", ["", "a", "x" * MAX_STATUS_TEXT, "é" * 100, "😀" * (MAX_STATUS_TEXT_BYTES // 4)]
)
def test_envelope_length_does_not_depend_on_text(text: str) -> None:
    alice, _ = channels()
    assert len(alice.seal(record(text=text))) == ENVELOPE_SIZE


def test_sealing_twice_uses_fresh_nonces() -> None:
    alice, _ = channels()
    assert alice.seal(record()) != alice.seal(record())


def test_given_nonce_makes_sealing_deterministic() -> None:
    alice, _ = channels()
    nonce = bytes(12)
    assert alice.seal(record(), nonce) == alice.seal(record(), nonce)
    with pytest.raises(ValueError, match="nonce"):
        alice.seal(record(), b"short")


def test_flipped_ciphertext_byte_is_tampered() -> None:
    alice, bob = channels()
    envelope = bytearray(alice.seal(record()))
    envelope[100] ^= 0x01
    with pytest.raises(TamperedEnvelopeError) as err:
        bob.open(bytes(envelope))
    assert err.value.code == "tampered"


def test_flipped_nonce_byte_is_tampered() -> None:
    alice, bob = channels()
    envelope = bytearray(alice.seal(record()))
    envelope[10] ^= 0x80
    with pytest.raises(TamperedEnvelopeError):
        bob.open(bytes(envelope))


def test_envelope_from_another_pair_is_wrong_key() -> None:
    carol_to_bob = PairChannel(CAROL, BOB.public_key)
    _, bob = channels()
    with pytest.raises(WrongKeyError) as err:
        bob.open(carol_to_bob.seal(record()))
    assert err.value.code == "wrong_key"


def test_reflected_own_envelope_is_wrong_key() -> None:
    alice, _ = channels()
    with pytest.raises(WrongKeyError):
        alice.open(alice.seal(record()))


def test_envelope_moved_to_another_topic_fails_authentication() -> None:
    key = pair_module._direction_key(derive_pair_key(ALICE, BOB.public_key), b"a", b"b")
    topic, other = Topic(b"\x01" * 32), Topic(b"\x02" * 32)
    envelope = envelope_module.seal_envelope(key, topic.raw, record(), bytes(12))
    assert envelope_module.open_envelope(key, topic.raw, envelope) == record()
    with pytest.raises(TamperedEnvelopeError):
        envelope_module.open_envelope(key, other.raw, envelope)


@pytest.mark.parametrize(
    "cut", [0, 1, 21, ENVELOPE_SIZE - 1, ENVELOPE_SIZE + 1], ids=lambda n: f"len{n}"
)
def test_wrong_length_is_malformed(cut: int) -> None:
    alice, bob = channels()
    envelope = alice.seal(record())
    payload = envelope[:cut] if cut <= ENVELOPE_SIZE else envelope + b"\x00"
    with pytest.raises(MalformedEnvelopeError) as err:
        bob.open(payload)
    assert err.value.code == "malformed"


def test_envelopes_are_version_2_of_367_bytes() -> None:
    alice, _ = channels()
    envelope = alice.seal(record())
    assert (envelope[0], len(envelope), ENVELOPE_SIZE) == (2, 367, 367)


@pytest.mark.parametrize("version", [0, 1, 3])
def test_unknown_version_is_malformed(version: int) -> None:
    alice, bob = channels()
    envelope = bytes([version]) + alice.seal(record())[1:]
    with pytest.raises(MalformedEnvelopeError):
        bob.open(envelope)


def _seal_plaintext(plain: bytes) -> bytes:
    """Seal arbitrary plaintext from Alice to Bob with the real direction key."""
    pair_key = derive_pair_key(ALICE, BOB.public_key)
    key = pair_module._direction_key(pair_key, ALICE.public_key, BOB.public_key)
    topic = presence_topic(pair_key, ALICE.public_key, BOB.public_key)
    nonce = bytes(12)
    sealed = ChaCha20Poly1305(key.key).encrypt(
        nonce, plain, envelope_module._aad(key.check, topic.raw)
    )
    sealed_envelope = bytes([ENVELOPE_VERSION]) + key.check + nonce + sealed
    assert len(sealed_envelope) == ENVELOPE_SIZE  # so only the content can be wrong
    return sealed_envelope


def _padded(body: bytes) -> bytes:
    plain = len(body).to_bytes(2, "big") + body
    return plain + bytes(PADDED_SIZE - len(plain))


def test_sealed_plaintext_helper_opens_a_valid_record() -> None:
    body = envelope_module._ENCODER.encode(["online", "hi", 1, 1, False, "Al"])
    _, bob = channels()
    assert bob.open(_seal_plaintext(_padded(body))).name == "Al"


@pytest.mark.parametrize(
    "plain",
    [
        b"\xff\xff" + bytes(PADDED_SIZE - 2),
        b"\x00\x01\xc1" + bytes(PADDED_SIZE - 3),
        b"\x00\x01\x90" + b"\x01" + bytes(PADDED_SIZE - 4),
        _padded(b"\x94\x01\xa0\x01\x01"),
        _padded(b"\x94\xa6online\xa1\xff\x01\x01"),
        _padded(b"\x94\xa1\xff\xa0\x01\x01"),
        _padded(b"\x84\xa1s\xa6online\xa1t\xa0\xa1q\x01\xa2at\x01"),
    ],
    ids=[
        "bad-length",
        "bad-msgpack",
        "nonzero-padding",
        "bad-schema",
        "bad-utf8",
        "bad-utf8-status",
        "version-1-map",
    ],
)
def test_authentic_but_undecodable_content_is_malformed(plain: bytes) -> None:
    _, bob = channels()
    with pytest.raises(MalformedEnvelopeError):
        bob.open(_seal_plaintext(plain))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("x" * (MAX_STATUS_TEXT + 1), ""),
        ("é" * 101, ""),
        ("", "x" * (MAX_DISPLAY_NAME + 1)),
        ("", "é" * 49),
    ],
    ids=["text-characters", "text-bytes", "name-characters", "name-bytes"],
)
def test_authentic_record_over_a_limit_is_malformed(text: str, name: str) -> None:
    body = envelope_module._ENCODER.encode(["online", text, 1, 1, False, name])
    plain = len(body).to_bytes(2, "big") + body
    _, bob = channels()
    with pytest.raises(MalformedEnvelopeError):
        bob.open(_seal_plaintext(plain[:PADDED_SIZE] + bytes(max(0, PADDED_SIZE - len(plain)))))


def test_error_messages_carry_no_key_material() -> None:
    alice, bob = channels()
    secrets = [derive_pair_key(ALICE, BOB.public_key).hex(), BOB.seed.hex()]
    envelope = bytearray(alice.seal(record()))
    envelope[-1] ^= 1
    with pytest.raises(EnvelopeError) as err:
        bob.open(bytes(envelope))
    assert all(secret not in str(err.value) for secret in secrets)
    assert err.value.__cause__ is None


# -- replay -----------------------------------------------------------------


def test_older_record_is_replayed() -> None:
    alice, bob = channels()
    old = alice.seal(record(seq=1))
    bob.open(alice.seal(record(seq=2)))
    with pytest.raises(ReplayedEnvelopeError) as err:
        bob.open(old)
    assert err.value.code == "replayed"


def test_same_seq_with_other_content_is_replayed() -> None:
    alice, bob = channels()
    bob.open(alice.seal(record(seq=5, text="a")))
    with pytest.raises(ReplayedEnvelopeError):
        bob.open(alice.seal(record(seq=5, text="b")))


def test_redelivered_latest_record_is_accepted() -> None:
    alice, bob = channels()
    envelope = alice.seal(record(seq=3))
    bob.open(envelope)
    assert bob.open(envelope) == record(seq=3)


def test_rejected_record_does_not_move_the_guard() -> None:
    guard = ReplayGuard()
    guard.accept(record(seq=10))
    with pytest.raises(ReplayedEnvelopeError):
        guard.accept(record(seq=4))
    assert guard.last_seq == 10


def test_persisted_last_seq_rejects_older_seq() -> None:
    alice = PairChannel(ALICE, BOB.public_key)
    bob = PairChannel(BOB, ALICE.public_key, floor=9)
    with pytest.raises(ReplayedEnvelopeError):
        bob.open(alice.seal(record(seq=8)))
    bob.open(alice.seal(record(seq=10)))
    assert bob.last_seq == 10


def test_persisted_last_seq_takes_the_retained_record_once() -> None:
    """After a restart the server re-delivers the record accepted last."""
    alice = PairChannel(ALICE, BOB.public_key)
    bob = PairChannel(BOB, ALICE.public_key, floor=9)
    retained = record(seq=9)
    assert bob.open(alice.seal(retained)) == retained
    assert bob.open(alice.seal(retained)) == retained  # re-delivered again
    with pytest.raises(ReplayedEnvelopeError):
        bob.open(alice.seal(record(seq=9, text="another")))
    assert bob.floor_to_keep == 9


def test_after_gone_the_last_record_is_refused_and_the_floor_says_so() -> None:
    alice, bob = channels()
    last = record(seq=5)
    bob.open(alice.seal(last))
    bob.ended()
    with pytest.raises(ReplayedEnvelopeError):
        bob.open(alice.seal(last))
    assert bob.floor_to_keep == 6
    restarted = PairChannel(BOB, ALICE.public_key, floor=bob.floor_to_keep)
    with pytest.raises(ReplayedEnvelopeError):
        restarted.open(alice.seal(last))
    assert restarted.open(alice.seal(record(seq=6))).seq == 6


def test_a_record_dated_far_ahead_is_refused_and_moves_nothing() -> None:
    alice, bob = channels()
    now = 1_700_000_000.0
    ahead = int(now * 1000) + MAX_AHEAD_MS + 1
    with pytest.raises(FutureEnvelopeError) as caught:
        bob.open(alice.seal(record(seq=ahead)), now)
    assert caught.value.code == "future"
    assert bob.last_seq is None
    skewed = int(now * 1000) + MAX_AHEAD_MS  # a clock up to a day ahead is fine
    assert bob.open(alice.seal(record(seq=skewed)), now).seq == skewed


def test_failed_open_does_not_move_the_guard() -> None:
    alice, bob = channels()
    envelope = bytearray(alice.seal(record(seq=50)))
    envelope[200] ^= 1
    with pytest.raises(TamperedEnvelopeError):
        bob.open(bytes(envelope))
    assert bob.last_seq is None


# -- record validation ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seq", "sent_at"),
    [
        ("x" * (MAX_STATUS_TEXT + 1), 1, 1),
        ("é" * (MAX_STATUS_TEXT_BYTES // 2 + 1), 1, 1),
        ("\ud800", 1, 1),
        ("", -1, 1),
        ("", 1, 2**63),
    ],
    ids=["long-text", "text-over-byte-limit", "surrogate", "negative-seq", "huge-sent-at"],
)
def test_invalid_record_is_refused(text: str, seq: int, sent_at: int) -> None:
    with pytest.raises(ValueError, match=r"status text|seq"):
        PresenceRecord(PresenceStatus.ONLINE, text, seq, sent_at)


def test_text_and_name_at_their_byte_limits_are_accepted() -> None:
    sent = PresenceRecord(PresenceStatus.ONLINE, "é" * 100, 1, 1, name="é" * 48)
    alice, bob = channels()
    assert bob.open(alice.seal(sent)) == sent


@pytest.mark.parametrize(
    ("text", "limit", "fitted"),
    [("abc", 3, "abc"), ("abcd", 3, "abc"), ("aé", 2, "a"), ("😀😀", 7, "😀"), ("", 0, "")],
)
def test_fit_utf8_cuts_at_a_character_boundary(text: str, limit: int, fitted: str) -> None:
    assert fit_utf8(text, limit) == fitted


# -- properties -------------------------------------------------------------

records = st.builds(
    PresenceRecord,
    status=st.sampled_from(PresenceStatus),
    text=st.text(max_size=MAX_STATUS_TEXT).map(lambda t: fit_utf8(t, MAX_STATUS_TEXT_BYTES)),
    seq=st.integers(0, 2**63 - 1),
    sent_at=st.integers(0, 2**63 - 1),
    has_messages=st.booleans(),
    name=st.text(max_size=MAX_DISPLAY_NAME).map(lambda t: fit_utf8(t, MAX_DISPLAY_NAME_BYTES)),
)


@given(records)
def test_any_record_round_trips_at_fixed_size(sent: PresenceRecord) -> None:
    alice, bob = channels()
    envelope = alice.seal(sent)
    assert len(envelope) == ENVELOPE_SIZE
    assert bob.open(envelope) == sent


@given(st.binary(max_size=2 * ENVELOPE_SIZE))
def test_random_bytes_raise_only_envelope_errors(payload: bytes) -> None:
    _, bob = channels()
    with pytest.raises(EnvelopeError):
        bob.open(payload)


record_starts = st.sampled_from([b"", b"\x94", b"\x96\xa4busy", b"\x96\xa6online\xa1t"])


@given(record_starts, st.binary(max_size=PADDED_SIZE - 12))
def test_random_authentic_content_opens_or_is_malformed(start: bytes, rest: bytes) -> None:
    _, bob = channels()
    with contextlib.suppress(MalformedEnvelopeError):
        bob.open(_seal_plaintext(_padded(start + rest)))


@given(st.binary(min_size=ENVELOPE_SIZE - 9, max_size=ENVELOPE_SIZE - 9))
def test_random_body_behind_a_valid_header_is_tampered(body: bytes) -> None:
    alice, bob = channels()
    header = alice.seal(record())[:9]
    with pytest.raises(TamperedEnvelopeError):
        bob.open(header + body)


# -- the document -----------------------------------------------------------


def test_docs_carry_the_current_test_vectors() -> None:
    pair_key = derive_pair_key(ALICE, BOB.public_key)
    a, b = ALICE.public_key, BOB.public_key
    key = pair_module._direction_key(pair_key, a, b)
    sent = PresenceRecord(PresenceStatus.BUSY, "in a meeting", 1, 1_700_000_000_000)
    envelope = PairChannel(ALICE, b).seal(sent, bytes(12))
    expected = [
        a.hex(),
        b.hex(),
        ALICE.agree(b).hex(),
        pair_key.hex(),
        presence_token(pair_key, a, b).hex(),
        presence_topic(pair_key, a, b).text,
        presence_topic(pair_key, b, a).text,
        relay_topic(pair_key, a, b).text,
        relay_topic(pair_key, b, a).text,
        intro_topic(a).text,
        key.key.hex(),
        key.check.hex(),
        hashlib.sha256(envelope).hexdigest(),
    ]
    text = DOCS.read_text(encoding="utf-8")
    assert [value for value in expected if value not in text] == []


def test_the_longest_record_fills_the_padding_exactly() -> None:
    longest = PresenceRecord(
        PresenceStatus.OFFLINE,
        "𝔸" * (MAX_STATUS_TEXT_BYTES // 4),
        2**63 - 1,
        2**63 - 1,
        True,
        "𝔹" * (MAX_DISPLAY_NAME_BYTES // 4),
    )
    assert len(envelope_module._pad(longest)) == PADDED_SIZE
    assert envelope_module._pad(longest)[-1] != 0  # no zero byte of padding left
    alice, bob = channels()
    assert len(alice.seal(longest)) == ENVELOPE_SIZE
    assert bob.open(alice.seal(longest)) == longest


@pytest.mark.parametrize(
    "name", ["x" * (MAX_DISPLAY_NAME + 1), "é" * (MAX_DISPLAY_NAME_BYTES // 2 + 1)]
)
def test_a_display_name_longer_than_the_limit_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="display name"):
        PresenceRecord(PresenceStatus.ONLINE, "", 1, 1, name=name)
