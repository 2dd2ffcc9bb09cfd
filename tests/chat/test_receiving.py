"""Incoming frames: exactly once, in order, stored before acknowledged (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from kith.chat import (
    Conversation,
    FrameRejected,
    MessageState,
    Receipt,
    SendFrame,
    StoreCursor,
    StoreMessage,
    Text,
    decode_chat_frame,
    encode_chat_frame,
)

from .conftest import NOW, Ids, frames


def text(message_id: str, seq: int, body: str = "hi") -> bytes:
    return encode_chat_frame(Text(message_id, seq, body, 1_700_000_000_000))


def receipts(events: Sequence[object]) -> list[Receipt]:
    out = [decode_chat_frame(e.data) for e in events if isinstance(e, SendFrame)]
    return [frame for frame in out if isinstance(frame, Receipt)]


def test_text_is_stored_then_acknowledged(ids: Ids) -> None:
    message_id = ids()
    events = Conversation().receive(text(message_id, 1), NOW)
    assert [type(e) for e in events] == [StoreMessage, StoreCursor, SendFrame]
    stored = events[0]
    assert isinstance(stored, StoreMessage)
    assert stored.message.state is MessageState.RECEIVED
    assert events[1] == StoreCursor(2)
    assert receipts(events) == [Receipt("delivered", [message_id])]


def test_duplicate_is_acknowledged_but_not_stored_again(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.receive(text(message_id, 1), NOW)
    again = chat.receive(text(message_id, 1), NOW)
    assert receipts(again) == [Receipt("delivered", [message_id])]
    assert not any(isinstance(e, StoreMessage) for e in again)


def test_later_frame_waits_for_the_missing_one(ids: Ids) -> None:
    chat, first, second = Conversation(), ids(), ids()
    assert chat.receive(text(second, 2), NOW) == []
    events = chat.receive(text(first, 1), NOW)
    stored = [e.message.id for e in events if isinstance(e, StoreMessage)]
    assert stored == [first, second]
    assert StoreCursor(3) in events


def test_cursor_survives_a_restart(ids: Ids) -> None:
    message_id = ids()
    restarted = Conversation(peer_next_seq=2)
    assert receipts(restarted.receive(text(message_id, 1), NOW)) == [
        Receipt("delivered", [message_id])
    ]


def test_reused_id_from_the_peer_is_rejected(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.receive(text(message_id, 1, "first"), NOW)
    events = chat.receive(text(message_id, 2, "impostor"), NOW)
    assert isinstance(events[0], FrameRejected)
    assert chat.message(message_id).text == "first"  # type: ignore[union-attr]
    assert receipts(events) == [Receipt("delivered", [message_id])]


def test_mark_read_without_read_receipts_tells_the_peer_nothing(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.contact_online(NOW)
    chat.channel_open(NOW)
    chat.receive(text(message_id, 1), NOW)
    events = chat.mark_read([message_id], NOW)
    assert frames(events) == []
    assert chat.message(message_id).state is MessageState.READ  # type: ignore[union-attr]


def test_read_receipt_waits_for_the_channel(ids: Ids) -> None:
    chat, message_id = Conversation(read_receipts=True), ids()
    chat.receive(text(message_id, 1), NOW)
    assert frames(chat.mark_read([message_id], NOW)) == []
    assert receipts(chat.channel_open(NOW)) == [Receipt("read", [message_id])]


def test_mark_read_twice_does_nothing(ids: Ids) -> None:
    chat, message_id = Conversation(), ids()
    chat.receive(text(message_id, 1), NOW)
    chat.mark_read([message_id], NOW)
    assert chat.mark_read([message_id], NOW) == []
