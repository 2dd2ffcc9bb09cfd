"""Printing results for people (aligned text) and programs (JSON).

Human output passes every value through :func:`kith.terminal_text.for_terminal`
(:func:`print_line`, :func:`print_pairs`, :func:`print_table`), so text a
contact controls cannot carry escape sequences, control characters or bidi
controls to the terminal; JSON output is escaped by the JSON encoder.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kith.terminal_text import for_terminal

__all__ = ["print_json", "print_line", "print_pairs", "print_table"]


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON (UTF-8)."""
    import msgspec

    data = msgspec.json.format(msgspec.json.encode(value), indent=2)
    sys.stdout.flush()
    sys.stdout.buffer.write(data + b"\n")
    sys.stdout.buffer.flush()


def print_line(text: str) -> None:
    """Print one line of human output, made safe for the terminal."""
    print(for_terminal(text))


def print_pairs(pairs: Sequence[tuple[str, str]]) -> None:
    """Print ``label: value`` lines with aligned values."""
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        print(f"{key + ':':<{width + 1}} {for_terminal(value)}")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print rows under headers, columns padded to fit."""
    rows = [[for_terminal(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    for row in [headers, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
