"""Call frames: round trips, the mark, limits, and what is refused."""

from __future__ import annotations

import pytest

from kith.calls import (
    Answer,
    Decline,
    Hangup,
    Ice,
    MalformedCallFrame,
    Missed,
    Ring,
    Sdp,
    decode_call_frame,
    encode_call_frame,
    is_call_frame,
)
from kith.calls.frames import CALL_FRAME_MARK, MAX_SDP
from kith.chat import encode_chat_frame
from kith.chat.frames import Text
from kith.files import encode_file_frame, is_file_frame
from kith.files.frames import Cancel

ID = "0f" * 16


@pytest.mark.parametrize(
    "frame",
    [
        Ring(ID, True, 1_700_000_000),
        Answer(ID),
        Decline(ID, "busy"),
        Decline(ID, "unavailable"),
        Hangup(ID, "cancelled"),
        Missed(ID, False, 1_700_000_000),
        Sdp(ID, "offer", "v=0\r\na=fingerprint:sha-256 AB:CD\r\n"),
        Ice(ID, '{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}'),
    ],
)
def test_frames_round_trip(frame: object) -> None:
    data = encode_call_frame(frame)  # type: ignore[arg-type]
    assert data.startswith(CALL_FRAME_MARK)
    assert is_call_frame(data)
    assert decode_call_frame(data) == frame


def test_call_chat_and_file_frames_are_told_apart_by_their_first_bytes() -> None:
    call = encode_call_frame(Answer(ID))
    file = encode_file_frame(Cancel("0" * 32, "cancelled"))
    assert is_file_frame(file)
    assert not is_call_frame(file)
    assert is_file_frame(call)  # so a peer must route call frames first
    chat = encode_chat_frame(Text("m" * 32, 1, "hi", 1))
    assert not is_call_frame(chat)


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1\xca",
        b"\xc1\xca\x81\xa1t\xa4ring",  # no fields
        encode_call_frame(Answer("not-hex")),
        encode_call_frame(Decline(ID, "whatever")),  # type: ignore[arg-type]
        encode_call_frame(Sdp(ID, "offer", "x" * (MAX_SDP + 1))),
        encode_call_frame(Ice(ID, "c" * 5_000)),
        encode_file_frame(Cancel("0" * 32, "cancelled")),
    ],
)
def test_bad_frames_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedCallFrame):
        decode_call_frame(data)
