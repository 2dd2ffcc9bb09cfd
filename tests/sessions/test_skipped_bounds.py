"""The bounds on skipped message keys."""

from __future__ import annotations

import pytest

from kith.sessions import (
    MAX_SKIP,
    MAX_SKIPPED_KEYS,
    DuplicateMessage,
    Session,
    TooManySkippedMessages,
)

Pair = tuple[Session, Session]


def send(sender: Session, count: int) -> list[bytes]:
    return [sender.encrypt(b"%d" % i) for i in range(count)]


def test_skipping_up_to_the_bound_is_allowed(pair: Pair) -> None:
    alice, bob = pair
    frames = send(alice, MAX_SKIP + 1)
    assert bob.decrypt(frames[-1]) == b"%d" % MAX_SKIP
    assert bob.decrypt(frames[0]) == b"0"


def test_skipping_beyond_the_bound_is_refused_and_the_session_goes_on(pair: Pair) -> None:
    alice, bob = pair
    frames = send(alice, MAX_SKIP + 2)
    before = bob.to_bytes()
    with pytest.raises(TooManySkippedMessages):
        bob.decrypt(frames[-1])
    assert bob.to_bytes() == before
    assert bob.decrypt(frames[0]) == b"0"


def test_skipping_beyond_the_bound_in_the_previous_chain_is_refused(pair: Pair) -> None:
    alice, bob = pair
    bob.decrypt(alice.encrypt(b"first"))
    alice.decrypt(bob.encrypt(b"turn"))  # bob's new key; alice will step on her next turn
    bob.decrypt(alice.encrypt(b"ok"))
    alice.decrypt(bob.encrypt(b"turn again"))  # message 0 of bob's chain
    gap = send(bob, MAX_SKIP + 2)  # messages 1 .. MAX_SKIP + 2
    alice.decrypt(gap[0])
    bob.decrypt(alice.encrypt(b"step"))
    after_step = bob.encrypt(b"new chain")  # says the previous chain had MAX_SKIP + 3
    # alice received 2 of that chain, so closing it would skip MAX_SKIP + 1
    with pytest.raises(TooManySkippedMessages):
        alice.decrypt(after_step)


def test_stored_keys_are_capped_and_the_oldest_dropped(pair: Pair) -> None:
    alice, bob = pair
    first_chain = send(alice, MAX_SKIP + 1)
    bob.decrypt(first_chain[-1])
    alice.decrypt(bob.encrypt(b"turn"))
    second_chain = send(alice, MAX_SKIP + 1)
    bob.decrypt(second_chain[-1])
    alice.decrypt(bob.encrypt(b"turn"))
    third_chain = send(alice, 11)
    bob.decrypt(third_chain[-1])
    with pytest.raises(DuplicateMessage):
        bob.decrypt(first_chain[9])
    assert bob.decrypt(first_chain[10]) == b"10"
    assert bob.decrypt(third_chain[0]) == b"0"
    assert MAX_SKIPPED_KEYS == 2 * MAX_SKIP
