"""A voice message's metadata in the file offer: good values travel, bad ones are refused."""

from __future__ import annotations

import msgspec
import pytest

from kith.files import CHUNK_SIZE, MalformedFileFrame, Offer, decode_file_frame, encode_file_frame
from kith.files.frames import FILE_FRAME_MARK, MAX_VOICE_MS, check_voice_ms

ID = "0123456789abcdef" * 2
SHA = "ab" * 32


def _offer(voice_ms: int | None) -> Offer:
    return Offer(ID, "voice.webm", 24_000, SHA, CHUNK_SIZE, 1_700_000_000, "", voice_ms)


@pytest.mark.parametrize("value", [1, 1_500, MAX_VOICE_MS])
def test_a_voice_length_in_bounds_is_accepted(value: int) -> None:
    assert check_voice_ms(value) is None
    assert decode_file_frame(encode_file_frame(_offer(value))) == _offer(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "lasts 1 to"),
        (-5, "lasts 1 to"),
        (MAX_VOICE_MS + 1, "lasts 1 to"),
        (1.5, "whole number"),
        ("1500", "whole number"),
        (True, "whole number"),
        (None, "whole number"),
    ],
)
def test_a_voice_length_out_of_bounds_is_refused(value: object, message: str) -> None:
    problem = check_voice_ms(value)
    assert problem is not None
    assert message in problem


@pytest.mark.parametrize("value", [0, -1, MAX_VOICE_MS + 1])
def test_an_offer_with_a_bad_voice_length_is_malformed(value: int) -> None:
    with pytest.raises(MalformedFileFrame, match="the file frame is invalid: a voice message"):
        decode_file_frame(encode_file_frame(_offer(value)))


def test_an_offer_with_a_voice_length_of_the_wrong_type_does_not_decode() -> None:
    fields = msgspec.to_builtins(_offer(1_000))
    fields["voice_ms"] = "long"
    data = FILE_FRAME_MARK + msgspec.msgpack.encode(fields)
    with pytest.raises(MalformedFileFrame, match="does not decode"):
        decode_file_frame(data)


def test_an_offer_from_an_older_node_is_an_ordinary_file() -> None:
    fields = msgspec.to_builtins(_offer(None))
    del fields["voice_ms"]
    frame = decode_file_frame(FILE_FRAME_MARK + msgspec.msgpack.encode(fields))
    assert isinstance(frame, Offer)
    assert frame.voice_ms is None


def test_an_older_node_reads_a_voice_offer_as_a_file() -> None:
    class OldOffer(msgspec.Struct, frozen=True, tag_field="t", tag="offer"):
        id: str
        name: str
        size: int
        sha256: str
        chunk_size: int
        sent_at: int
        caption: str = ""

    data = encode_file_frame(_offer(2_000))
    old = msgspec.msgpack.decode(data[1:], type=OldOffer)
    assert (old.name, old.size) == ("voice.webm", 24_000)
