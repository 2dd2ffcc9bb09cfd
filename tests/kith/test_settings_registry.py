"""The settings registry: defaults, parsing and validation (pure)."""

from __future__ import annotations

import pytest

from kith.errors import SettingError
from kith.settings import SETTINGS, definition, format_value
from kith_proto.ids import format_id


def test_defaults_match_the_brief() -> None:
    defaults = {key: spec.default for key, spec in SETTINGS.items()}
    assert defaults == {
        "user_status": "online",
        "status_text": "",
        "signaling_url": "ws://127.0.0.1:8765",
        "auto_away_minutes": 10,
        "stun_servers": [],
        "notifications": True,
        "notifications_private": False,
        "muted_contacts": [],
        "read_receipts": False,
        "relay_only": False,
        "ui_port": 0,
    }


def _an_id(seed: int) -> str:
    return format_id(bytes([seed]) * 32)


def test_muted_contacts_parse_ids_in_any_case_to_canonical_ids() -> None:
    first, second = _an_id(1), _an_id(2)
    typed = f" {first.upper()} , {second[:8]}-{second[8:]},{first}"
    assert definition("muted_contacts").parse(typed) == [first, second]


def test_muted_contacts_refuse_a_mistyped_id_and_name_it() -> None:
    typo = _an_id(1)[:-1] + ("a" if _an_id(1)[-1] != "a" else "b")
    with pytest.raises(SettingError, match="Kith IDs separated by commas") as info:
        definition("muted_contacts").parse(f"{_an_id(2)},{typo}")
    assert info.value.code == "invalid_value"


def test_muted_contacts_refuse_a_stored_value_that_is_not_a_list_of_ids() -> None:
    with pytest.raises(SettingError):
        definition("muted_contacts").validate([_an_id(1), 7])


def test_unknown_key_names_the_known_keys() -> None:
    with pytest.raises(SettingError, match="known settings are user_status") as info:
        definition("colour")
    assert info.value.code == "unknown_setting"


@pytest.mark.parametrize("word", ["online", "away", "busy", "invisible", " Busy "])
def test_user_status_accepts_each_status(word: str) -> None:
    assert definition("user_status").parse(word) == word.strip().lower()


def test_invalid_status_names_allowed_values() -> None:
    with pytest.raises(SettingError, match="online, away, busy, invisible") as info:
        definition("user_status").parse("offline")
    assert info.value.code == "invalid_value"


def test_status_text_limit_is_140_characters() -> None:
    spec = definition("status_text")
    assert spec.parse("x" * 140) == "x" * 140
    with pytest.raises(SettingError, match="at most 140"):
        spec.parse("x" * 141)


def test_status_text_is_one_line() -> None:
    with pytest.raises(SettingError):
        definition("status_text").parse("a\nb")


@pytest.mark.parametrize("url", ["ws://example.org:8765", "wss://signal.example.org/ws"])
def test_signaling_url_accepts_websocket_urls(url: str) -> None:
    assert definition("signaling_url").parse(url) == url


@pytest.mark.parametrize("url", ["http://example.org", "example.org", "ws://", ""])
def test_signaling_url_rejects_other_urls(url: str) -> None:
    with pytest.raises(SettingError, match="ws:// or wss://"):
        definition("signaling_url").parse(url)


def test_auto_away_accepts_zero_to_disable() -> None:
    assert definition("auto_away_minutes").parse("0") == 0


@pytest.mark.parametrize("text", ["-1", "ten", "1.5"])
def test_auto_away_rejects_non_natural_numbers(text: str) -> None:
    with pytest.raises(SettingError, match="from 0 to 10080"):
        definition("auto_away_minutes").parse(text)


def test_auto_away_accepts_one_week() -> None:
    assert definition("auto_away_minutes").parse("10080") == 10080


@pytest.mark.parametrize("text", ["10081", "9" * 300, "9" * 5000])
def test_auto_away_refuses_more_than_a_week_naming_the_range(text: str) -> None:
    with pytest.raises(SettingError, match="from 0 to 10080") as info:
        definition("auto_away_minutes").parse(text)
    assert info.value.code == "invalid_value"
    assert len(str(info.value)) < 200


def test_auto_away_refuses_a_huge_stored_number() -> None:
    with pytest.raises(SettingError, match="from 0 to 10080"):
        definition("auto_away_minutes").validate(10**300)


@pytest.mark.parametrize("text", ["a\x00b", "ring\x07", "\u202eevil", "\x1b]0;title\x07", "a\tb"])
def test_status_text_refuses_control_and_bidi_characters(text: str) -> None:
    with pytest.raises(SettingError, match="without control characters or bidi controls"):
        definition("status_text").parse(text)


def test_status_text_keeps_emoji_and_other_scripts() -> None:
    text = "in a meeting 👩‍💻 — שלום"
    assert definition("status_text").parse(text) == text


def test_signaling_url_takes_several_urls_separated_by_spaces() -> None:
    spec = definition("signaling_url")
    typed = "  ws://a.example:8765   wss://b.example/ws\tws://a.example:8765 "
    assert spec.parse(typed) == "ws://a.example:8765 wss://b.example/ws"
    assert spec.validate("ws://a.example:8765 wss://b.example/ws") == (
        "ws://a.example:8765 wss://b.example/ws"
    )


@pytest.mark.parametrize("bad", ["http://b.example", "b.example", "ws://", "wss://x\x07"])
def test_signaling_url_names_the_bad_one_among_several(bad: str) -> None:
    with pytest.raises(SettingError, match="ws:// or wss://") as info:
        definition("signaling_url").parse(f"ws://a.example:8765 {bad} wss://c.example")
    assert repr(bad) in str(info.value)
    assert "a.example" not in str(info.value)
    assert info.value.code == "invalid_value"


def test_signaling_url_takes_at_most_sixteen_urls() -> None:
    spec = definition("signaling_url")
    urls = [f"ws://s{n}.example" for n in range(17)]
    assert spec.parse(" ".join(urls[:16])) == " ".join(urls[:16])
    with pytest.raises(SettingError, match="up to 16"):
        spec.parse(" ".join(urls))
    with pytest.raises(SettingError):
        spec.validate(["ws://a.example"])
    with pytest.raises(SettingError):
        spec.parse("   ")


def test_signaling_url_is_bounded_in_length() -> None:
    with pytest.raises(SettingError, match="at most 2048 characters"):
        definition("signaling_url").parse("wss://" + "a" * 2048)


def test_signaling_url_refuses_control_characters() -> None:
    with pytest.raises(SettingError):
        definition("signaling_url").parse("ws://example.org/\x1b[2J")


def test_stun_servers_are_bounded_in_number() -> None:
    spec = definition("stun_servers")
    assert len(spec.parse(",".join(["stun:a.example"] * 16))) == 16  # type: ignore[arg-type]
    with pytest.raises(SettingError, match="at most 16 URLs"):
        spec.parse(",".join(["stun:a.example"] * 17))


def test_stun_servers_refuse_huge_text_before_splitting() -> None:
    with pytest.raises(SettingError, match="at most 16 URLs"):
        definition("stun_servers").parse("stun:a," * 100_000)


def test_auto_away_rejects_booleans_from_storage() -> None:
    with pytest.raises(SettingError):
        definition("auto_away_minutes").validate(True)


def test_stun_servers_parse_a_comma_separated_list() -> None:
    spec = definition("stun_servers")
    assert spec.parse("stun:a.example:3478, stun:b.example") == [
        "stun:a.example:3478",
        "stun:b.example",
    ]
    assert spec.parse("") == []


def test_stun_servers_reject_other_schemes() -> None:
    with pytest.raises(SettingError, match="stun:"):
        definition("stun_servers").parse("stun:ok, turn:bad")


@pytest.mark.parametrize(("text", "value"), [("yes", True), ("off", False), ("TRUE", True)])
def test_booleans_accept_common_words(text: str, value: bool) -> None:
    assert definition("notifications").parse(text) is value


def test_booleans_reject_other_words() -> None:
    with pytest.raises(SettingError, match="true or false"):
        definition("read_receipts").parse("maybe")


def test_format_value_round_trips_through_parse() -> None:
    for spec in SETTINGS.values():
        assert spec.parse(format_value(spec.default)) == spec.default
