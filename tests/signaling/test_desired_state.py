"""The desired-state bookkeeping, without an event loop."""

from __future__ import annotations

import pytest

from kith.signaling.desired import DesiredState

A, B, C = (bytes([n]) * 32 for n in (1, 2, 3))


def test_subscription_change_lists_added_and_removed_topics() -> None:
    state = DesiredState()
    state.set_subscriptions([A, B])
    change = state.set_subscriptions([B, C])
    assert change.added == (C,)
    assert change.removed == (A,)
    assert state.subscriptions == {B, C}


def test_same_subscriptions_change_nothing() -> None:
    state = DesiredState()
    state.set_subscriptions([A])
    change = state.set_subscriptions([A, A])
    assert change.added == ()
    assert change.removed == ()


def test_latest_publication_per_topic_is_kept() -> None:
    state = DesiredState()
    state.publish(A, b"one")
    state.publish(B, b"x")
    state.publish(A, b"two")
    assert state.publications == {B: b"x", A: b"two"}
    assert list(state.publications) == [B, A]


def test_retract_forgets_publications() -> None:
    state = DesiredState()
    state.publish(A, b"one")
    assert state.retract([A, B]) == (A, B)
    assert state.payload(A) is None


@pytest.mark.parametrize("topic", [b"", b"x" * 31, b"x" * 33])
def test_topics_must_be_32_bytes(topic: bytes) -> None:
    state = DesiredState()
    with pytest.raises(ValueError, match="32 bytes"):
        state.publish(topic, b"p")
    with pytest.raises(ValueError, match="32 bytes"):
        state.set_subscriptions([topic])
