"""Rules for contact IDs and names (pure)."""

from __future__ import annotations

import pytest
from nacl.bindings import crypto_core_ed25519_add

from kith.contacts import canonical_id, clean_name, new_contact_id, usable_key
from kith.errors import ContactError, KithError
from kith_proto.ids import format_id
from kith_proto.keys import IdentityKeys

OWN = IdentityKeys(bytes(32)).kith_id
PEER = IdentityKeys(bytes(range(32))).kith_id


def _typo(kith_id: str) -> str:
    swapped = "b" if kith_id[10] != "b" else "c"
    return kith_id[:10] + swapped + kith_id[11:]


def test_canonical_id_accepts_case_spaces_and_dashes() -> None:
    messy = " " + "-".join(PEER[i : i + 8] for i in range(0, 56, 8)).upper() + " "
    assert canonical_id(messy)[0] == PEER


@pytest.mark.parametrize("text", ["", "abc", PEER + "a", PEER[:-1] + "1", "!" * 56])
def test_malformed_ids_are_rejected(text: str) -> None:
    with pytest.raises(ContactError) as info:
        canonical_id(text)
    assert info.value.code == "malformed_id"


def test_a_one_character_typo_fails_the_checksum() -> None:
    with pytest.raises(ContactError, match="typo") as info:
        canonical_id(_typo(PEER))
    assert info.value.code == "id_checksum"


def test_own_id_is_refused() -> None:
    with pytest.raises(ContactError, match="your own ID") as info:
        new_contact_id(OWN, OWN)
    assert info.value.code == "own_id"


def test_new_contact_id_returns_the_public_key() -> None:
    assert new_contact_id(PEER, OWN)[1] == IdentityKeys(bytes(range(32))).public_key


PEER_KEY = IdentityKeys(bytes(range(32))).public_key
ORDER_8_POINT = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
UNUSABLE_KEYS = {
    "all zero (order 4)": bytes(32),
    "identity (order 1)": b"\x01" + bytes(31),
    "order 2": b"\xec" + b"\xff" * 30 + b"\x7f",
    "order 8": ORDER_8_POINT,
    "not a curve point": b"\x02" + bytes(31),
    "mixed order": crypto_core_ed25519_add(PEER_KEY, ORDER_8_POINT),
}


@pytest.mark.parametrize("key", UNUSABLE_KEYS.values(), ids=UNUSABLE_KEYS.keys())
def test_an_id_of_an_unusable_key_is_refused(key: bytes) -> None:
    with pytest.raises(ContactError, match="usable key") as info:
        new_contact_id(format_id(key), OWN)
    assert info.value.code == "invalid_key"


def test_an_id_of_an_unusable_key_still_parses_for_lookups() -> None:
    assert canonical_id(format_id(bytes(32)))[1] == bytes(32)


def test_real_identity_keys_are_usable() -> None:
    assert all(usable_key(IdentityKeys(bytes([n]) * 32).public_key) for n in range(16))


def test_clean_name_trims() -> None:
    assert clean_name("  Alice  ") == "Alice"


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\x07bell", "two\nlines"])
def test_clean_name_rejects_bad_names(name: str) -> None:
    with pytest.raises(KithError):
        clean_name(name)
