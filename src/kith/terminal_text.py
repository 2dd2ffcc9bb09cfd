"""Text a contact controls, made safe to print on a terminal (pure).

A contact chooses their status text and the text of their messages; names
come from contact lists and shared profiles. Printed raw, such text could
carry terminal escape sequences (set the window title, move the cursor,
erase lines) or bidirectional overrides that reorder what the user reads,
and so forge lines in the user's terminal. :func:`for_terminal` removes all
of them before the CLI prints human output; JSON output is escaped by the
JSON encoder instead. :func:`first_unsafe` lets a source refuse such text
outright (status text is refused when it is set).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["BIDI_CONTROLS", "first_unsafe", "for_terminal"]

#: Bidirectional embeddings, overrides, isolates and marks (Unicode UAX #9).
BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
#: Line and paragraph separators: a line break by another name.
_SEPARATORS: Final = frozenset("\u2028\u2029")

# ESC or its 8-bit C1 form, then: a CSI sequence (ESC [ or U+009B, parameters,
# intermediates, final byte); a string sequence (OSC, DCS, SOS, PM, APC) up to
# its terminator (BEL or ST) or the end of the text; or any one other character.
_ESCAPE_SEQUENCE: Final = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b.?",
    re.DOTALL,
)
_WHITESPACE_CONTROLS: Final = frozenset("\t\n\v\f\r\x85") | _SEPARATORS


def _is_unsafe(char: str) -> bool:
    return char in BIDI_CONTROLS or char in _SEPARATORS or unicodedata.category(char) == "Cc"


def first_unsafe(text: str) -> str | None:
    """The first control character or bidi control in ``text``, or None."""
    return next((c for c in text if _is_unsafe(c)), None)


def _clean_char(char: str) -> str:
    if char in _WHITESPACE_CONTROLS:
        return " "
    return "" if _is_unsafe(char) else char


def for_terminal(text: str) -> str:
    """``text`` on one line with no escape sequence, control character or bidi control.

    Escape sequences are removed whole; line breaks, tabs and other
    whitespace controls become a space (so words stay apart); every other
    C0/C1 control character and every bidi embedding, override, isolate or
    mark is removed.
    """
    without_sequences = _ESCAPE_SEQUENCE.sub("", text)
    if first_unsafe(without_sequences) is None:
        return without_sequences
    return "".join(_clean_char(c) for c in without_sequences)
