"""Saving a session to bytes and restoring it (sessions survive restarts)."""

from __future__ import annotations

import msgspec
import pytest

from kith.sessions import (
    MAX_SKIPPED_KEYS,
    STATE_VERSION,
    CorruptSessionState,
    DuplicateMessage,
    MessageTooLarge,
    Session,
    UnsupportedStateVersion,
)
from kith.sessions.state import decode_record

Pair = tuple[Session, Session]


def restored(session: Session) -> Session:
    return Session.from_bytes(session.to_bytes())


def test_round_trip_keeps_every_field(pair: Pair) -> None:
    alice, _bob = pair
    copy = restored(alice)
    assert copy.to_bytes() == alice.to_bytes()
    assert (copy.role, copy.session_id) == (alice.role, alice.session_id)
    assert (copy.local_identity, copy.peer_identity) == (alice.local_identity, alice.peer_identity)


def test_conversation_continues_after_restoring_both_sides(pair: Pair) -> None:
    alice, bob = pair
    for i in range(3):
        bob.decrypt(alice.encrypt(b"before %d" % i))
        alice.decrypt(bob.encrypt(b"reply %d" % i))
    alice, bob = restored(alice), restored(bob)
    assert bob.decrypt(alice.encrypt(b"after")) == b"after"
    assert alice.decrypt(bob.encrypt(b"after too")) == b"after too"


def test_skipped_keys_survive_a_restart(pair: Pair) -> None:
    alice, bob = pair
    late, on_time = alice.encrypt(b"late"), alice.encrypt(b"on time")
    bob.decrypt(on_time)
    bob = restored(bob)
    assert bob.decrypt(late) == b"late"


def test_replay_is_still_rejected_after_a_restart(pair: Pair) -> None:
    alice, bob = pair
    frame = alice.encrypt(b"once")
    bob.decrypt(frame)
    bob = restored(bob)
    with pytest.raises(DuplicateMessage):
        bob.decrypt(frame)


def test_state_is_a_versioned_msgpack_map(pair: Pair) -> None:
    alice, _bob = pair
    decoded = msgspec.msgpack.decode(alice.to_bytes())
    assert decoded["version"] == STATE_VERSION
    assert decoded["role"] == "initiator"


def test_unknown_state_version_is_refused(pair: Pair) -> None:
    alice, _bob = pair
    decoded = msgspec.msgpack.decode(alice.to_bytes())
    decoded["version"] = STATE_VERSION + 1
    with pytest.raises(UnsupportedStateVersion):
        Session.from_bytes(msgspec.msgpack.encode(decoded))


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x81\xa7version\x01", b"\xff" * 40])
def test_damaged_state_is_refused(data: bytes) -> None:
    with pytest.raises(CorruptSessionState):
        Session.from_bytes(data)


def test_state_with_a_short_key_is_refused(pair: Pair) -> None:
    alice, _bob = pair
    decoded = msgspec.msgpack.decode(alice.to_bytes())
    decoded["ratchet"]["root_key"] = b"short"
    with pytest.raises(CorruptSessionState):
        Session.from_bytes(msgspec.msgpack.encode(decoded))


def test_truncated_state_is_refused(pair: Pair) -> None:
    alice, _bob = pair
    with pytest.raises(CorruptSessionState):
        Session.from_bytes(alice.to_bytes()[:-5])


def test_error_message_holds_no_state_bytes(pair: Pair) -> None:
    alice, _bob = pair
    data = alice.to_bytes()[:-5]
    with pytest.raises(CorruptSessionState) as caught:
        Session.from_bytes(data)
    assert data.hex()[40:80] not in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("send_count", -1),
        ("skipped", [[b"k" * 32, 0, b"short"]]),
        ("skipped", [[b"k" * 32, -3, b"m" * 32]]),
        ("skipped", [[b"k" * 32, n, b"m" * 32] for n in range(MAX_SKIPPED_KEYS + 1)]),
    ],
    ids=["negative-count", "short-skipped-key", "negative-skipped-number", "too-many-skipped"],
)
def test_state_with_an_invalid_ratchet_field_is_refused(
    pair: Pair, field: str, value: object
) -> None:
    alice, _bob = pair
    decoded = msgspec.msgpack.decode(alice.to_bytes())
    decoded["ratchet"][field] = value
    with pytest.raises(CorruptSessionState):
        Session.from_bytes(msgspec.msgpack.encode(decoded))


def test_exhausted_sending_chain_is_our_error(pair: Pair) -> None:
    alice, _bob = pair
    decoded = msgspec.msgpack.decode(alice.to_bytes())
    decoded["ratchet"]["send_count"] = 2**32 - 1
    with pytest.raises(MessageTooLarge):
        Session.from_bytes(msgspec.msgpack.encode(decoded)).encrypt(b"one too many")


def test_stored_records_hide_their_keys(pair: Pair) -> None:
    alice, _bob = pair
    record = decode_record(alice.to_bytes())
    assert repr(record) == "SessionRecord(version=1, role=initiator)"
    assert repr(record.ratchet) == "RatchetRecord(<secret>)"
