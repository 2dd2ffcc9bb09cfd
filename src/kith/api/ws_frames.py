"""WebSocket text frames as a server writes them (RFC 6455 §5.2), for a burst.

The events socket sends a burst of live events (a committed batch of
messages makes one ``message_state`` event per message) in one transport
write: one system call and one wake-up of the reader instead of one per
event. Each event is still its own text frame, so a client sees exactly the
messages it would see one write at a time. Frames from a server are never
masked; the socket is opened without compression, so no frame sets RSV1.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Final

__all__ = ["text_frames"]

_FIN_TEXT: Final = 0x81
_LEN16: Final = struct.Struct("!BBH")
_LEN64: Final = struct.Struct("!BBQ")


def text_frames(texts: Iterable[str | bytes]) -> bytes:
    """Every text (a ``str``, or ``bytes`` already UTF-8) as one final,
    unmasked text frame, concatenated."""
    parts: list[bytes] = []
    for text in texts:
        payload = text if isinstance(text, bytes) else text.encode("utf-8")
        size = len(payload)
        if size < 126:
            parts.append(bytes((_FIN_TEXT, size)))
        elif size < 65536:
            parts.append(_LEN16.pack(_FIN_TEXT, 126, size))
        else:
            parts.append(_LEN64.pack(_FIN_TEXT, 127, size))
        parts.append(payload)
    return b"".join(parts)
