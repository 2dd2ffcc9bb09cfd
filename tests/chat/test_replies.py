"""Replies: a message naming the message it answers (pure)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pytest

from kith.chat import (
    Conversation,
    InvalidMessage,
    MalformedChatFrame,
    StoreMessage,
    Text,
    UnknownMessage,
    decode_chat_frame,
    encode_chat_frame,
)

from .conftest import NOW, Ids, connected_pair, deliver

ID = "0123456789abcdef" * 2
OTHER = "f" * 32


def _stored(events: Sequence[object]) -> list[StoreMessage]:
    return [e for e in events if isinstance(e, StoreMessage)]


def test_a_reply_round_trips_in_the_text_frame() -> None:
    frame = Text(ID, 1, "yes", 1_700_000_000_000, reply_to=OTHER)
    assert decode_chat_frame(encode_chat_frame(frame)) == frame


def test_a_text_without_a_reply_is_the_same_bytes_as_before_replies() -> None:
    data = encode_chat_frame(Text(ID, 1, "hi", 5))
    assert msgspec.msgpack.decode(data) == {
        "t": "text",
        "id": ID,
        "q": 1,
        "text": "hi",
        "sent_at": 5,
    }


def test_an_older_text_frame_without_reply_to_still_decodes() -> None:
    data = msgspec.msgpack.encode({"t": "text", "id": ID, "q": 1, "text": "hi", "sent_at": 5})
    assert decode_chat_frame(data) == Text(ID, 1, "hi", 5)


@pytest.mark.parametrize("bad", ["not-an-id", "F" * 32, 7])
def test_a_malformed_reply_to_is_refused(bad: object) -> None:
    data = msgspec.msgpack.encode(
        {"t": "text", "id": ID, "q": 1, "text": "hi", "sent_at": 5, "reply_to": bad}
    )
    with pytest.raises(MalformedChatFrame):
        decode_chat_frame(data)


def test_a_reply_reaches_the_other_side_naming_the_original(ids: Ids) -> None:
    alice, bob = connected_pair()
    original = ids()
    deliver(alice.send_text(original, "lunch?", NOW), bob)
    reply = ids()
    got = _stored(deliver(bob.send_text(reply, "yes", NOW, reply_to=original), alice))
    assert [(s.message.id, s.message.reply_to) for s in got] == [(reply, original)]


def test_a_reply_to_an_unknown_message_is_refused_and_stores_nothing(ids: Ids) -> None:
    chat = Conversation()
    with pytest.raises(UnknownMessage):
        chat.send_text(ids(), "yes", NOW, reply_to=OTHER)
    assert chat.history() == []


def test_a_reply_to_a_message_only_in_the_store_is_accepted(ids: Ids) -> None:
    chat = Conversation(known_ids=[OTHER])
    stored = _stored(chat.send_text(ids(), "yes", NOW, reply_to=OTHER))
    assert stored[0].message.reply_to == OTHER


def test_a_received_reply_to_a_message_never_seen_is_kept(ids: Ids) -> None:
    alice, _ = connected_pair()
    # bob's store alone holds OTHER: a message alice never had
    bob_with_old = Conversation(known_ids=[OTHER])
    bob_with_old.contact_online(NOW)
    bob_with_old.channel_open(NOW)
    got = _stored(deliver(bob_with_old.send_text(ids(), "re", NOW, reply_to=OTHER), alice))
    assert got[0].message.reply_to == OTHER
    assert alice.message(OTHER) is None


def test_a_bad_text_is_still_refused_with_a_reply(ids: Ids) -> None:
    alice, bob = connected_pair()
    original = ids()
    deliver(alice.send_text(original, "lunch?", NOW), bob)
    with pytest.raises(InvalidMessage):
        bob.send_text(ids(), "", NOW, reply_to=original)
