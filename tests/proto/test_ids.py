"""Pure tests of the ID codec and identity keys."""

from __future__ import annotations

import pytest

from kith_proto import ID_LENGTH, IdentityKeys, InvalidIdError, format_id, parse_id


def test_id_round_trips_public_key() -> None:
    keys = IdentityKeys.generate()
    assert len(keys.kith_id) == ID_LENGTH
    assert parse_id(keys.kith_id) == keys.public_key


def test_id_parse_ignores_case_spaces_and_dashes() -> None:
    kid = IdentityKeys.generate().kith_id
    decorated = "-".join(kid[i : i + 8] for i in range(0, len(kid), 8)).upper()
    assert parse_id(f"  {decorated} ") == parse_id(kid)


@pytest.mark.parametrize("text", ["", "abc", "0" * ID_LENGTH, "a" * (ID_LENGTH + 1)])
def test_malformed_id_is_rejected(text: str) -> None:
    with pytest.raises(InvalidIdError) as err:
        parse_id(text)
    assert err.value.code == "malformed"


def test_every_one_character_typo_is_rejected() -> None:
    kid = IdentityKeys.generate().kith_id
    for pos in range(len(kid)):
        typo_char = "b" if kid[pos] != "b" else "c"
        typo = kid[:pos] + typo_char + kid[pos + 1 :]
        with pytest.raises(InvalidIdError):
            parse_id(typo)


def test_format_id_rejects_wrong_key_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        format_id(b"short")


def test_x25519_agreement_is_symmetric() -> None:
    alice, bob = IdentityKeys.generate(), IdentityKeys.generate()
    assert alice.agree(bob.public_key) == bob.agree(alice.public_key)
    assert alice.agree(bob.public_key) != alice.agree(IdentityKeys.generate().public_key)


def test_identity_repr_hides_seed() -> None:
    keys = IdentityKeys.generate()
    assert keys.seed.hex() not in repr(keys)
