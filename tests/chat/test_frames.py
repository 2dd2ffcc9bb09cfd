"""Chat frames: encoding, validation and malformed input (pure)."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kith.chat import (
    MAX_TEXT_LENGTH,
    ChatFrame,
    Delete,
    Edit,
    MalformedChatFrame,
    Reaction,
    Receipt,
    Text,
    Typing,
    decode_chat_frame,
    encode_chat_frame,
    new_message_id,
    short_id,
)

ID = "0123456789abcdef" * 2
OTHER = "f" * 32


@pytest.mark.parametrize(
    "frame",
    [
        Text(ID, 1, "hello", 1_700_000_000_000),
        Edit(ID, 2, OTHER, "hello again", 1_700_000_000_001),
        Delete(ID, 3, OTHER, 1_700_000_000_002),
        Reaction(ID, 4, OTHER, "👍", "add"),
        Reaction(ID, 5, OTHER, "👍", "remove"),
        Receipt("delivered", [ID, OTHER]),
        Receipt("read", [ID]),
        Typing(True),
    ],
)
def test_round_trip(frame: ChatFrame) -> None:
    assert decode_chat_frame(encode_chat_frame(frame)) == frame


def test_frames_are_tagged_maps() -> None:
    assert msgspec.msgpack.decode(encode_chat_frame(Typing(False))) == {
        "t": "typing",
        "active": False,
    }


def test_unknown_fields_are_ignored_for_later_versions() -> None:
    data = msgspec.msgpack.encode({"t": "typing", "active": True, "future": 1})
    assert decode_chat_frame(data) == Typing(True)


def test_message_ids_are_32_hex_digits() -> None:
    assert len(new_message_id()) == 32
    assert new_message_id() != new_message_id()


def test_message_id_is_the_time_then_the_random_source() -> None:
    made = new_message_id(lambda n: bytes(range(n)), lambda: 0x0123456789AB)
    assert made == "0123456789ab00010203040506070809"


def test_message_ids_made_later_sort_later() -> None:
    """Time first, so a batch of new messages lands together in the (contact, ID) index."""

    def made_at(ms: int) -> str:
        return new_message_id(lambda n: bytes([255 - ms]) * n, lambda: ms)

    ids = [made_at(ms) for ms in range(50)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_ids_made_in_the_same_minute_differ_in_their_short_form() -> None:
    """Logs name files and messages by a short form: the start of an ID is its
    time, so the short form is taken from the random end."""
    one = new_message_id(lambda n: bytes(n), lambda: 1_700_000_000_000)
    two = new_message_id(lambda n: bytes(n - 1) + b"\x01", lambda: 1_700_000_000_001)
    assert one[:8] == two[:8]  # the same minute
    assert (short_id(one), short_id(two)) == ("00000000", "00000001")


def test_message_id_keeps_48_bits_of_an_out_of_range_clock() -> None:
    """A clock past the year 10889 (or a bogus one) still gives 32 hex digits."""
    far = new_message_id(lambda n: bytes(n), lambda: (1 << 48) + 5)
    assert far == "000000000005" + "00" * 10
    assert len(new_message_id(lambda n: bytes(n), lambda: -1)) == 32


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xc1",
        msgspec.msgpack.encode({"t": "nope"}),
        msgspec.msgpack.encode({"t": "text", "id": ID}),
        encode_chat_frame(Text("not-an-id", 1, "x", 0)),
        encode_chat_frame(Text(ID.upper(), 1, "x", 0)),
        encode_chat_frame(Text(ID, 0, "x", 0)),
        encode_chat_frame(Text(ID, 1, "", 0)),
        encode_chat_frame(Text(ID, 1, "x" * (MAX_TEXT_LENGTH + 1), 0)),
        encode_chat_frame(Edit(ID, 1, "bad", "x", 0)),
        encode_chat_frame(Reaction(ID, 1, OTHER, "", "add")),
        encode_chat_frame(Reaction(ID, 1, OTHER, "x" * 33, "add")),
        encode_chat_frame(Reaction(ID, 1, OTHER, "\n", "add")),
        msgspec.msgpack.encode(
            {"t": "reaction", "id": ID, "q": 1, "target": OTHER, "emoji": "x", "action": "toggle"}
        ),
        encode_chat_frame(Receipt("delivered", [ID] * 1001)),
        encode_chat_frame(Receipt("delivered", ["zz"])),
        msgspec.msgpack.encode({"t": "receipt", "kind": "seen", "ids": []}),
        b"\x81\xa1t\xa1\xff",
        encode_chat_frame(Text(ID, 1, "x", 0)).replace(b"\xa1x", b"\xa1\xff"),
        b"\x82\xa1t\xa6typing\xa1z" + b"\x91" * 5_000 + b"\xc0",
    ],
)
def test_malformed_frames_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedChatFrame) as info:
        decode_chat_frame(data)
    assert info.value.code == "malformed_chat_frame"


frame_starts = st.sampled_from(
    [b"", b"\x81\xa1t", b"\x85\xa1t\xa4text\xa2id", b"\x82\xa1t\xa6typing"]
)


@given(frame_starts, st.binary(max_size=200))
def test_random_bytes_decode_or_are_malformed(start: bytes, rest: bytes) -> None:
    with contextlib.suppress(MalformedChatFrame):
        decode_chat_frame(start + rest)
