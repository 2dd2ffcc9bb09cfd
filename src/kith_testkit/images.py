"""Small valid pictures made here, for tests that send or show one (no image library)."""

from __future__ import annotations

import struct
import zlib

RED = (0xFF, 0x00, 0x00)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + body))
    return struct.pack(">I", len(body)) + kind + body + crc


def png(width: int, height: int, rgb: tuple[int, int, int] = RED) -> bytes:
    """A PNG of ``width`` by ``height`` pixels, all of colour ``rgb``."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )
