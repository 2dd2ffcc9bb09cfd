"""File names as sent by a peer are made safe to show and to save."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.files.names import FALLBACK_NAME, MAX_NAME_BYTES, sanitise_name


@pytest.mark.parametrize(
    ("sent", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("Ünïcödé photo 1.jpeg", "Ünïcödé photo 1.jpeg"),
        ("archive.tar.gz", "archive.tar.gz"),
    ],
)
def test_an_ordinary_name_is_kept(sent: str, safe: str) -> None:
    assert sanitise_name(sent) == safe


@pytest.mark.parametrize(
    ("sent", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("/absolute/path.txt", "path.txt"),
        ("..", FALLBACK_NAME),
        (".", FALLBACK_NAME),
        ("dir/", FALLBACK_NAME),
        ("   ", FALLBACK_NAME),
        (".hidden", "hidden"),
        ("evil\x00name\n.txt", "evilname.txt"),
        ("gnp.\u202eexe", "gnp.exe"),  # a right-to-left override is dropped
        ('a<b>c:d"e|f?g*h.txt', "a_b_c_d_e_f_g_h.txt"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("LPT9", "_LPT9"),
        ("console.txt", "console.txt"),
        ("trailing. . ", "trailing"),
    ],
)
def test_a_dangerous_name_is_defused(sent: str, safe: str) -> None:
    assert sanitise_name(sent) == safe


def test_a_long_name_is_cut_keeping_its_extension() -> None:
    safe = sanitise_name("é" * 300 + ".jpeg")
    assert safe.endswith(".jpeg")
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert safe.startswith("é")


_RESERVED_STEMS = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}


@given(st.text(max_size=400))
def test_any_name_becomes_one_safe_component(sent: str) -> None:
    safe = sanitise_name(sent)
    assert safe
    assert "/" not in safe
    assert "\\" not in safe
    assert safe not in (".", "..")
    assert not safe.startswith(".")
    assert not safe.endswith((".", " "))
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert all(unicodedata.category(c)[0] != "C" for c in safe)
    assert not set('<>:"|?*') & set(safe)
    stem = safe.split(".", 1)[0].upper()
    assert stem not in _RESERVED_STEMS
    assert not (len(stem) == 4 and stem[:3] in ("COM", "LPT") and stem[3] in "123456789")


@given(st.text(max_size=100))
def test_sanitising_twice_changes_nothing(sent: str) -> None:
    once = sanitise_name(sent)
    assert sanitise_name(once) == once
