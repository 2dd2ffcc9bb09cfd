"""Outgoing messages: outbox, states, receipts and retries (pure)."""

from __future__ import annotations

import pytest

from kith.chat import (
    Conversation,
    DropOutbox,
    InvalidMessage,
    MessageState,
    MessageStateChanged,
    OpenLink,
    Receipt,
    RetryPolicy,
    SendFrame,
    StoreMessage,
    StoreOutbox,
    Text,
    decode_chat_frame,
)

from .conftest import NOW, Ids, connected_pair, deliver, frames


def test_message_to_an_offline_contact_is_stored_and_queued(ids: Ids) -> None:
    events = Conversation().send_text(ids(), "hi", NOW)
    assert [type(e) for e in events] == [StoreMessage, StoreOutbox]
    stored = events[0]
    assert isinstance(stored, StoreMessage)
    assert stored.message.state is MessageState.QUEUED
    assert stored.message.sent_at == 1_700_000_000_000


def test_message_to_an_online_contact_asks_for_a_link(ids: Ids) -> None:
    chat = Conversation()
    chat.contact_online(NOW)
    assert chat.send_text(ids(), "hi", NOW)[-1] == OpenLink()


def test_only_one_link_request_while_connecting(ids: Ids) -> None:
    chat = Conversation()
    chat.contact_online(NOW)
    chat.send_text(ids(), "one", NOW)
    assert OpenLink() not in chat.send_text(ids(), "two", NOW)


def test_message_on_an_open_channel_is_sent_at_once(ids: Ids) -> None:
    chat, _ = connected_pair()
    message_id = ids()
    events = chat.send_text(message_id, "hi", NOW)
    assert isinstance(events[0], StoreMessage)
    assert isinstance(events[1], StoreOutbox)
    assert MessageStateChanged(message_id, MessageState.SENT) in events
    assert isinstance(events[-1], SendFrame)
    assert decode_chat_frame(events[-1].data) == Text(message_id, 1, "hi", 1_700_000_000_000)


def test_contact_coming_online_with_an_outbox_asks_for_a_link(ids: Ids) -> None:
    chat = Conversation()
    chat.send_text(ids(), "waiting", NOW)
    assert chat.contact_online(NOW) == [OpenLink()]


def test_contact_coming_online_with_nothing_to_send_asks_for_nothing() -> None:
    assert Conversation().contact_online(NOW) == []


def test_open_channel_sends_the_outbox_in_order(ids: Ids) -> None:
    chat = Conversation()
    sent = [ids() for _ in range(3)]
    for number, message_id in enumerate(sent):
        chat.send_text(message_id, f"m{number}", NOW)
    out = [decode_chat_frame(data) for data in frames(chat.channel_open(NOW))]
    assert [(f.id, f.q) for f in out if isinstance(f, Text)] == list(
        zip(sent, [1, 2, 3], strict=True)
    )


def test_delivered_receipt_clears_the_outbox(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = ids()
    receipt = deliver(deliver(a.send_text(message_id, "hi", NOW), b), a)
    assert DropOutbox(message_id) in receipt
    assert MessageStateChanged(message_id, MessageState.DELIVERED) in receipt
    assert not a.has_outbox


def test_read_receipt_marks_read(ids: Ids) -> None:
    a, b = connected_pair()
    b.read_receipts = True
    message_id = ids()
    deliver(deliver(a.send_text(message_id, "hi", NOW), b), a)
    deliver(b.mark_read([message_id], NOW), a)
    assert a.message(message_id) is not None
    assert a.message(message_id).state is MessageState.READ  # type: ignore[union-attr]


def test_receipts_never_move_a_state_back(ids: Ids) -> None:
    a, _ = connected_pair()
    message_id = ids()
    a.send_text(message_id, "hi", NOW)
    a.receive(SendFrame.of(Receipt("read", [message_id])).data, NOW)
    assert a.receive(SendFrame.of(Receipt("delivered", [message_id])).data, NOW) == [
        DropOutbox(message_id)
    ]
    assert a.message(message_id).state is MessageState.READ  # type: ignore[union-attr]


def test_failed_connection_marks_messages_failed_and_backs_off(ids: Ids) -> None:
    chat = Conversation(retry=RetryPolicy(base=2.0, cap=60.0))
    chat.contact_online(NOW)
    message_id = ids()
    chat.send_text(message_id, "hi", NOW)
    assert MessageStateChanged(message_id, MessageState.FAILED) in chat.connect_failed(NOW)
    assert chat.next_deadline() == NOW + 2
    assert chat.tick(NOW + 1) == []
    assert chat.tick(NOW + 2) == [OpenLink()]
    chat.connect_failed(NOW + 2)
    assert chat.next_deadline() == NOW + 2 + 4


def test_backoff_is_capped() -> None:
    assert RetryPolicy(base=2.0, cap=60.0).delay(20) == 60.0


def test_open_channel_resets_the_backoff(ids: Ids) -> None:
    chat = Conversation()
    chat.contact_online(NOW)
    chat.send_text(ids(), "hi", NOW)
    chat.connect_failed(NOW)
    chat.channel_open(NOW + 5)
    chat.channel_closed(NOW + 6)
    assert chat.next_deadline() == NOW + 6 + 2


def test_unacknowledged_message_is_resent_with_the_same_id(ids: Ids) -> None:
    chat = Conversation()
    chat.contact_online(NOW)
    message_id = ids()
    chat.send_text(message_id, "hi", NOW)
    first = frames(chat.channel_open(NOW))
    chat.channel_closed(NOW + 1)
    assert frames(chat.channel_open(NOW + 5)) == first


def test_restored_outbox_goes_out_after_a_restart(ids: Ids) -> None:
    chat = Conversation()
    events = chat.send_text(ids(), "survives", NOW)
    stored = [e.message for e in events if isinstance(e, StoreMessage)]
    outbox = [e.entry for e in events if isinstance(e, StoreOutbox)]
    restarted = Conversation(messages=stored, outbox=outbox, next_seq=2)
    assert restarted.contact_online(NOW) == [OpenLink()]
    assert frames(restarted.channel_open(NOW)) == [outbox[0].frame]


def test_reused_message_id_is_refused(ids: Ids) -> None:
    chat = Conversation()
    message_id = ids()
    chat.send_text(message_id, "once", NOW)
    with pytest.raises(InvalidMessage):
        chat.send_text(message_id, "twice", NOW)


@pytest.mark.parametrize("text", ["", "x" * 16_001])
def test_text_out_of_bounds_is_refused(ids: Ids, text: str) -> None:
    with pytest.raises(InvalidMessage):
        Conversation().send_text(ids(), text, NOW)
