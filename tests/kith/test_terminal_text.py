"""Text a contact controls, made safe for the terminal; status text refused at the source."""

from __future__ import annotations

import pytest

from kith.presence import InvalidStatusTextError, check_status_text
from kith.terminal_text import BIDI_CONTROLS, first_unsafe, for_terminal

HOSTILE = [
    pytest.param("a\x1b]0;owned\x07b", "ab", id="osc-title-bel"),
    pytest.param(
        "a\x1b]8;;https://x.example\x1b\\link\x1b]8;;\x1b\\b", "alinkb", id="osc-hyperlink"
    ),
    pytest.param("x\x1b[2K\x1b[1A\x1b[31my", "xy", id="csi-erase-up-colour"),
    pytest.param("x\x9b2Ky", "xy", id="c1-csi"),
    pytest.param("x\x9d0;t\x9cy", "xy", id="c1-osc"),
    pytest.param("x\x1bPq#0\x1b\\y", "xy", id="dcs"),
    pytest.param("x\x1bcy", "xy", id="reset"),
    pytest.param("a\x00b\x07c\x7fd\x85e", "abcd e", id="c0-c1-del"),
    pytest.param("line1\nline2\r\tend", "line1 line2  end", id="line-breaks"),
    pytest.param("\u202etxt.exe\u202c", "txt.exe", id="bidi-override"),
    pytest.param("a\u2066b\u2069\u200e\u200f\u061cc", "abc", id="bidi-isolates-marks"),
    pytest.param("a\u2028b", "a b", id="line-separator"),
    pytest.param("\x1b]0;never ends", "", id="unterminated-osc"),
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_for_terminal_removes_escapes_controls_and_bidi(text: str, shown: str) -> None:
    assert for_terminal(text) == shown


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_for_terminal_output_has_nothing_unsafe(text: str, shown: str) -> None:
    cleaned = for_terminal(text)
    assert "\x1b" not in cleaned
    assert first_unsafe(cleaned) is None


@pytest.mark.parametrize(
    "text", ["plain", "émoji 👩‍💻 ok", "שלום עולם", "tab-free [brackets] ; semicolons", ""]
)
def test_for_terminal_leaves_ordinary_text_alone(text: str) -> None:
    assert for_terminal(text) == text


def test_every_bidi_control_is_unsafe() -> None:
    for char in BIDI_CONTROLS:
        assert first_unsafe(f"a{char}b") == char


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\n", "\u202e", "\u2067"])
def test_status_text_with_a_control_or_bidi_character_is_refused(char: str) -> None:
    with pytest.raises(InvalidStatusTextError, match="control characters or bidi") as info:
        check_status_text(f"busy{char}now")
    assert info.value.code == "invalid_status_text"
    assert f"U+{ord(char):04X}" in str(info.value)


def test_status_text_with_emoji_and_other_scripts_is_accepted() -> None:
    assert check_status_text("lunch 🍜 — שלום") == "lunch 🍜 — שלום"
