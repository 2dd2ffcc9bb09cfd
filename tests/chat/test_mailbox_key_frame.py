"""The mailbox key announcement: told apart from chat frames, never one of them."""

from __future__ import annotations

import pytest

from kith.chat import MalformedChatFrame
from kith.chat.frames import (
    Receipt,
    Text,
    decode_chat_frame,
    decode_mailbox_key,
    encode_chat_frame,
    encode_mailbox_key,
    is_mailbox_key_frame,
)


def test_an_announcement_round_trips_and_is_told_apart_from_chat_frames() -> None:
    frame = encode_mailbox_key(b"\x07" * 1216)
    assert is_mailbox_key_frame(frame)
    assert decode_mailbox_key(frame).key == b"\x07" * 1216
    text = Text("0" * 32, 1, "mailbox_key", 1)
    assert not is_mailbox_key_frame(encode_chat_frame(text))
    assert not is_mailbox_key_frame(encode_chat_frame(Receipt("delivered", [])))


def test_an_announcement_is_not_a_chat_frame() -> None:
    # what a node without mailbox keys does with one: drops it as malformed
    with pytest.raises(MalformedChatFrame):
        decode_chat_frame(encode_mailbox_key(b"\x07" * 1216))


@pytest.mark.parametrize("data", [b"", b"\x82\xa1t\xabmailbox_key\xa3key", b"\xc1"])
def test_an_undecodable_announcement_is_refused(data: bytes) -> None:
    with pytest.raises(MalformedChatFrame, match="mailbox key announcement"):
        decode_mailbox_key(data)
