"""Crossed offers: exactly one side stays offerer (pure)."""

from __future__ import annotations

import pytest

from kith.p2p import GlareAction, keeps_offer, on_crossed_offer
from kith.sessions import wins_tie_break

LOW, HIGH = b"\x01" * 32, b"\x02" * 32


def test_lower_key_keeps_its_offer() -> None:
    assert keeps_offer(LOW, HIGH)
    assert not keeps_offer(HIGH, LOW)


def test_both_sides_reach_opposite_actions() -> None:
    assert on_crossed_offer(LOW, HIGH) is GlareAction.IGNORE_THEIRS
    assert on_crossed_offer(HIGH, LOW) is GlareAction.ANSWER_THEIRS


def test_comparison_is_unsigned_bytewise() -> None:
    assert keeps_offer(b"\x7f" + b"\xff" * 31, b"\x80" + b"\x00" * 31)


def test_same_rule_as_the_session_handshake() -> None:
    assert keeps_offer(LOW, HIGH) == wins_tie_break(LOW, HIGH)


def test_equal_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="different"):
        keeps_offer(LOW, LOW)
