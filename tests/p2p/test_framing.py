"""Data-channel framing: layout, limits and malformed frames (pure)."""

from __future__ import annotations

import pytest

from kith.p2p import (
    MAX_FRAME_SIZE,
    ChannelFrame,
    CloseReason,
    FrameTooLarge,
    FrameType,
    MalformedFrame,
    pack_frame,
    unpack_frame,
)
from kith.p2p.framing import (
    HEADER_SIZE,
    MAX_PAYLOAD_SIZE,
    Feature,
    close_frame,
    features_frame,
    keepalive_frame,
)


def test_header_is_type_then_big_endian_length() -> None:
    assert pack_frame(FrameType.SESSION, b"abc") == b"\x02\x00\x00\x00\x03abc"


@pytest.mark.parametrize("frame_type", [FrameType.HANDSHAKE, FrameType.SESSION])
def test_round_trip(frame_type: FrameType) -> None:
    assert unpack_frame(pack_frame(frame_type, b"payload")) == ChannelFrame(frame_type, b"payload")


def test_keepalive_is_an_empty_frame() -> None:
    assert unpack_frame(keepalive_frame()) == ChannelFrame(FrameType.KEEPALIVE)


def test_features_frame_announces_its_bits() -> None:
    assert features_frame(Feature.BUNDLE) == b"\x05\x00\x00\x00\x01\x01"
    assert unpack_frame(features_frame(Feature.BUNDLE)).features is Feature.BUNDLE
    assert unpack_frame(features_frame(Feature.NONE)).features is Feature.NONE
    assert unpack_frame(b"\x05\x00\x00\x00\x08" + bytes(7) + b"\x03").features is Feature.BUNDLE
    with pytest.raises(ValueError, match="only FEATURES"):
        _ = unpack_frame(keepalive_frame()).features


def test_close_carries_its_reason() -> None:
    assert unpack_frame(close_frame(CloseReason.IDLE)).close_reason is CloseReason.IDLE


def test_largest_payload_fits_the_channel_limit() -> None:
    frame = pack_frame(FrameType.SESSION, bytes(MAX_PAYLOAD_SIZE))
    assert len(frame) == MAX_FRAME_SIZE
    assert unpack_frame(frame).payload == bytes(MAX_PAYLOAD_SIZE)


def test_oversized_payload_is_our_error() -> None:
    with pytest.raises(FrameTooLarge):
        pack_frame(FrameType.SESSION, bytes(MAX_PAYLOAD_SIZE + 1))


def test_oversized_frame_from_peer_is_malformed() -> None:
    data = b"\x02" + (MAX_PAYLOAD_SIZE + 1).to_bytes(4, "big") + bytes(MAX_PAYLOAD_SIZE + 1)
    with pytest.raises(MalformedFrame, match="limited"):
        unpack_frame(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x00\x00",
        b"\x02\x00\x00\x00\x05abc",  # truncated
        b"\x02\x00\x00\x00\x01abc",  # trailing bytes
        b"\x09\x00\x00\x00\x01a",  # unknown type
        b"\x00\x00\x00\x00\x00",  # type zero
        b"\x03\x00\x00\x00\x01a",  # keepalive with payload
        b"\x04\x00\x00\x00\x00",  # close without reason
        b"\x04\x00\x00\x00\x01\x63",  # close with unknown reason
        b"\x01\x00\x00\x00\x00",  # empty handshake
        b"\x02\x00\x00\x00\x00",  # empty session message
        b"\x05\x00\x00\x00\x00",  # features without a byte
        b"\x05\x00\x00\x00\x09" + bytes(9),  # features longer than eight bytes
        b"\x06\x00\x00\x00\x00",  # empty bundle
    ],
)
def test_malformed_frames_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedFrame) as info:
        unpack_frame(data)
    assert info.value.code == "malformed_frame"


def test_header_size_is_five() -> None:
    assert HEADER_SIZE == 5


def test_only_close_frames_have_a_reason() -> None:
    with pytest.raises(ValueError, match="CLOSE"):
        _ = ChannelFrame(FrameType.KEEPALIVE).close_reason
