"""A conversation holding only part of its history; pacing and resending (pure)."""

from __future__ import annotations

import pytest

from kith.chat import (
    Conversation,
    Edit,
    FrameRejected,
    Message,
    MessageState,
    Party,
    Reaction,
    Receipt,
    SendFrame,
    StoreMessage,
    Text,
    UnknownMessage,
    decode_chat_frame,
    encode_chat_frame,
)
from kith.chat.outbox import RESEND_AFTER, SEND_WINDOW

from .conftest import NOW, Ids, frames


def stored(message_id: str, sender: Party = Party.ME, seq: int = 1) -> Message:
    return Message(message_id, sender, "old", 1, MessageState.DELIVERED, seq)


def test_an_old_message_needs_recalling_before_an_edit(ids: Ids) -> None:
    old = ids()
    chat = Conversation(known_ids=[old])
    assert chat.missing([old]) == [old]
    with pytest.raises(UnknownMessage):
        chat.edit(ids(), old, "new", NOW)
    chat.recall([stored(old)])
    events = chat.edit(ids(), old, "new", NOW)
    assert StoreMessage in [type(e) for e in events]
    assert chat.message(old).text == "new"  # type: ignore[union-attr]


def test_a_peer_frame_naming_an_old_message_says_what_it_needs(ids: Ids) -> None:
    old = ids()
    chat = Conversation(known_ids=[old])
    data = encode_chat_frame(Reaction(ids(), 1, old, "👍", "add"))
    assert chat.needs(data) == [old]
    chat.recall([stored(old)])
    assert chat.needs(data) == []
    chat.receive(data, NOW)
    assert chat.message(old).reactions == {(Party.PEER, "👍")}  # type: ignore[union-attr]


def test_a_read_receipt_for_old_messages_needs_them(ids: Ids) -> None:
    old = ids()
    chat = Conversation(known_ids=[old])
    assert chat.needs(encode_chat_frame(Receipt("read", [old, ids()]))) == [old]


def test_frames_with_nothing_to_recall_need_nothing(ids: Ids) -> None:
    chat = Conversation(known_ids=[ids()])
    assert chat.needs(encode_chat_frame(Text(ids(), 1, "hi", 1))) == []
    assert chat.needs(b"\xc1 garbage") == []


def test_a_peer_text_reusing_a_stored_id_is_refused(ids: Ids) -> None:
    old = ids()
    chat = Conversation(known_ids=[old])
    events = chat.receive(encode_chat_frame(Text(old, 1, "impostor", 1)), NOW)
    assert isinstance(events[0], FrameRejected)
    assert not any(isinstance(e, StoreMessage) for e in events)


def test_an_edit_waiting_behind_a_gap_is_covered_by_needs(ids: Ids) -> None:
    old = ids()
    chat = Conversation(known_ids=[old])
    chat.receive(encode_chat_frame(Edit(ids(), 2, old, "later", 2)), NOW)  # held back
    assert chat.needs(encode_chat_frame(Text(ids(), 1, "first", 1))) == [old]


def test_the_held_history_stays_bounded(ids: Ids) -> None:
    chat = Conversation(recent=10)
    for seq in range(1, 101):
        chat.receive(encode_chat_frame(Text(ids(), seq, "hi", seq)), NOW)
    assert len(chat.history()) == 10


def test_an_open_channel_sends_at_most_a_window_ahead_of_receipts(ids: Ids) -> None:
    chat = Conversation()
    sent = [ids() for _ in range(SEND_WINDOW + 5)]
    for message_id in sent:
        chat.send_text(message_id, "m", NOW)
    chat.contact_online(NOW)
    first = frames(chat.channel_open(NOW))
    assert len(first) == SEND_WINDOW
    more = frames(chat.receive(encode_chat_frame(Receipt("delivered", sent[:3])), NOW))
    assert [decode_chat_frame(d).id for d in more] == sent[SEND_WINDOW : SEND_WINDOW + 3]  # type: ignore[union-attr]


def test_frames_left_without_receipt_are_resent(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.contact_online(NOW)
    chat.channel_open(NOW)
    first = frames(chat.send_text(message_id, "m", NOW))
    assert chat.next_deadline() == NOW + RESEND_AFTER
    assert frames(chat.tick(NOW + 1)) == []
    assert frames(chat.tick(NOW + RESEND_AFTER)) == first


def test_nothing_is_resent_once_receipted(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.contact_online(NOW)
    chat.channel_open(NOW)
    chat.send_text(message_id, "m", NOW)
    chat.receive(encode_chat_frame(Receipt("delivered", [message_id])), NOW)
    assert chat.next_deadline() is None
    assert frames(chat.tick(NOW + RESEND_AFTER)) == []


def test_a_decoded_frame_is_taken_as_its_bytes_are(ids: Ids) -> None:
    old, later = ids(), ids()
    chat = Conversation(known_ids=[old])
    chat.receive_frame(Edit(ids(), 2, old, "later", 2), NOW)  # held back behind seq 1
    first = Text(later, 1, "first", 1)
    assert chat.needs_frame(first) == chat.needs(encode_chat_frame(first)) == [old]
    chat.recall([stored(old, Party.PEER)])
    assert chat.needs_frame(first) == []
    events = chat.receive_frame(first, NOW)
    assert chat.message(old).text == "later"  # type: ignore[union-attr]
    receipt = [e for e in events if isinstance(e, SendFrame)]
    assert len(receipt) == 1
    assert receipt[0].delivered is not None
    assert set(receipt[0].delivered) == set(decode_chat_frame(receipt[0].data).ids)  # type: ignore[union-attr]


def test_only_a_delivery_receipt_names_what_it_acknowledges(ids: Ids) -> None:
    message_id = ids()
    assert SendFrame.of(Receipt("delivered", [message_id])).delivered == (message_id,)
    assert SendFrame.of(Receipt("read", [message_id])).delivered is None
    assert SendFrame.of(Text(message_id, 1, "hi", 1)).delivered is None
