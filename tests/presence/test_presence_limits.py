"""The byte limits of what a presence record carries, where the user sets it.

Every presence envelope has one size (``ENVELOPE_SIZE``), sized for a status
text of at most 200 bytes of UTF-8 and a display name of at most 96: the
settings registry (``kith settings set status_text``), the presence manager
(``kith status set --text``, the API) and the display-name check (``kith name
set``, ``kith init --name``, the API) refuse more with an error naming it.
"""

from __future__ import annotations

import pytest

from kith.contacts import clean_display_name, clean_name
from kith.errors import KithError, SettingError
from kith.presence import MAX_STATUS_TEXT_BYTES, InvalidStatusTextError, check_status_text
from kith.settings import definition
from kith_proto import IdentityKeys
from kith_proto.envelope import (
    ENVELOPE_SIZE,
    MAX_DISPLAY_NAME_BYTES,
    PresenceRecord,
    PresenceStatus,
)
from kith_proto.pair import PairChannel

FITS = ["x" * 140, "é" * 100, "中" * 66, "😀" * 50]
OVER = ["é" * 101, "中" * 67, "😀" * 51, "x" * 99 + "中" * 34]
NAMES_THAT_FIT = ["x" * 64, "Ж" * 48, "中" * 32, "😀" * 24]
NAMES_OVER = ["Ж" * 49, "中" * 33, "😀" * 25]


@pytest.mark.parametrize("text", FITS)
def test_status_text_setting_takes_200_bytes(text: str) -> None:
    assert definition("status_text").parse(text) == text


@pytest.mark.parametrize("text", OVER)
def test_status_text_setting_refuses_more_than_200_bytes_and_says_so(text: str) -> None:
    with pytest.raises(SettingError, match="140 characters and 200 bytes of UTF-8"):
        definition("status_text").parse(text)


@pytest.mark.parametrize("text", FITS)
def test_status_text_check_takes_200_bytes(text: str) -> None:
    assert check_status_text(text) == text


@pytest.mark.parametrize("text", OVER)
def test_status_text_check_refuses_more_than_200_bytes(text: str) -> None:
    with pytest.raises(InvalidStatusTextError, match=f"at most {MAX_STATUS_TEXT_BYTES}"):
        check_status_text(text)


@pytest.mark.parametrize("name", NAMES_THAT_FIT)
def test_display_name_takes_96_bytes(name: str) -> None:
    assert clean_display_name(f"  {name} ") == name


@pytest.mark.parametrize("name", NAMES_OVER)
def test_display_name_refuses_more_than_96_bytes_and_says_so(name: str) -> None:
    with pytest.raises(KithError, match="bytes of UTF-8, at most 96") as err:
        clean_display_name(name)
    assert err.value.code == "invalid_name"


@pytest.mark.parametrize("name", ["", "x" * 65, "a\x1bb"])
def test_display_name_keeps_the_other_name_rules(name: str) -> None:
    with pytest.raises(KithError):
        clean_display_name(name)


def test_a_nickname_is_local_and_keeps_the_character_limit_only() -> None:
    assert clean_name("中" * 64, "nickname") == "中" * 64


@pytest.mark.parametrize(("text", "name"), list(zip(FITS, NAMES_THAT_FIT, strict=True)))
def test_every_accepted_value_seals_into_one_envelope_size(text: str, name: str) -> None:
    alice, bob = IdentityKeys(bytes(range(32))), IdentityKeys(bytes(range(32, 64)))
    sent = PresenceRecord(PresenceStatus.BUSY, text, 1, 1, name=name)
    envelope = PairChannel(alice, bob.public_key).seal(sent)
    assert len(envelope) == ENVELOPE_SIZE
    assert PairChannel(bob, alice.public_key).open(envelope) == sent
    assert len(name.encode()) <= MAX_DISPLAY_NAME_BYTES
