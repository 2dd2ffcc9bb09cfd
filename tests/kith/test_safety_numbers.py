"""Fingerprints and safety numbers (pure)."""

from __future__ import annotations

from kith.safety import fingerprint, format_digits, safety_number
from kith_proto.keys import IdentityKeys

ALICE = IdentityKeys(bytes(range(32))).public_key
BOB = IdentityKeys(bytes(range(1, 33))).public_key
CAROL = IdentityKeys(bytes(range(2, 34))).public_key


def test_fingerprint_is_30_digits() -> None:
    digits = fingerprint(ALICE)
    assert len(digits) == 30
    assert digits.isdigit()


def test_safety_number_is_the_same_on_both_sides() -> None:
    assert safety_number(ALICE, BOB) == safety_number(BOB, ALICE)


def test_safety_number_is_60_digits_made_of_both_fingerprints() -> None:
    number = safety_number(ALICE, BOB)
    assert len(number) == 60
    assert {number[:30], number[30:]} == {fingerprint(ALICE), fingerprint(BOB)}


def test_different_pairs_have_different_safety_numbers() -> None:
    assert safety_number(ALICE, BOB) != safety_number(ALICE, CAROL)


def test_format_digits_groups_by_five() -> None:
    assert format_digits("1234567890") == "12345 67890"
