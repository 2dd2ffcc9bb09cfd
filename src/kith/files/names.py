"""File names as sent by a peer, made safe to show and to save (pure).

A name that arrives in an offer is only ever a label: it is never joined to a
directory as it was sent. :func:`sanitise_name` keeps the last path component,
drops control and format characters, replaces characters that Windows refuses,
defuses ``.``/``..`` and reserved device names (``CON``, ``NUL``, ``COM1``…)
and bounds the length, keeping the extension when it can.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["FALLBACK_NAME", "MAX_NAME_BYTES", "sanitise_name"]

FALLBACK_NAME: Final = "file"
"""The name used when nothing usable is left."""
MAX_NAME_BYTES: Final = 200
"""Longest sanitised name in UTF-8 bytes (file systems allow 255)."""

_SEPARATORS: Final = re.compile(r"[/\\]")
_WINDOWS_FORBIDDEN: Final = frozenset('<>:"|?*')
_RESERVED: Final = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{n}" for n in "123456789¹²³"}
    | {f"LPT{n}" for n in "123456789¹²³"}
)


def sanitise_name(name: str) -> str:
    """A safe, non-empty, single-component file name for ``name``."""
    base = _SEPARATORS.split(name)[-1]
    cleaned = "".join(_clean_char(c) for c in unicodedata.normalize("NFC", base))
    cleaned = cleaned.strip(" .")  # Windows drops trailing dots and spaces; leading dots hide
    if not cleaned:
        return FALLBACK_NAME
    stem = cleaned.split(".", 1)[0].rstrip(" ")
    if stem.upper() in _RESERVED:
        cleaned = "_" + cleaned
    return _bounded(cleaned)


def _clean_char(char: str) -> str:
    if char in _WINDOWS_FORBIDDEN:
        return "_"
    category = unicodedata.category(char)
    if category[0] == "C" or category in ("Zl", "Zp"):
        return ""  # control, format (bidi overrides), surrogate, private use, unassigned
    return char


def _bounded(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    room = MAX_NAME_BYTES - len(suffix.encode())
    short = stem.encode()[:room].decode(errors="ignore").rstrip(" .")
    return (short or FALLBACK_NAME) + suffix
