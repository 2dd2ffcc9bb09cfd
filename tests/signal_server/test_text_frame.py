"""The server's own framing of a text frame matches what websockets writes."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from kith_signal.transport import text_frame


def _websockets_frame(payload: bytes) -> bytes:
    return Frame(Opcode.TEXT, payload).serialize(mask=False)


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_text_frame_is_the_frame_websockets_writes(size: int) -> None:
    payload = b"x" * size
    assert text_frame(payload) == _websockets_frame(payload)


def test_text_frame_keeps_multibyte_utf8_as_is() -> None:
    payload = '{"type":"event","topic":"\u00e9\u6f22"}'.encode()
    framed = text_frame(payload)
    assert framed[:2] == bytes((0x81, len(payload)))
    assert framed[2:].decode() == payload.decode()
