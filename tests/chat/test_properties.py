"""Property: any interleaving or duplication of frames is applied exactly once, in order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kith.chat import (
    Conversation,
    MessageState,
    StoreCursor,
    StoreMessage,
    decode_chat_frame,
)
from kith.chat.frames import Text

from .conftest import NOW, frames


def outbox_frames(count: int, edits: list[int]) -> tuple[Conversation, list[bytes], list[str]]:
    """A sender with ``count`` texts (and edits of some) queued; the frames it sends."""
    sender = Conversation()
    message_ids = [f"{n + 1:032x}" for n in range(count)]
    for number, message_id in enumerate(message_ids):
        sender.send_text(message_id, f"message {number}", NOW)
    for op, target in enumerate(edits):
        sender.edit(f"{0xE000 + op:032x}", message_ids[target % count], f"edit {op}", NOW)
    sender.contact_online(NOW)
    return sender, frames(sender.channel_open(NOW)), message_ids


@settings(max_examples=150, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=12),
    edits=st.lists(st.integers(min_value=0, max_value=11), max_size=4),
    schedule=st.lists(st.integers(min_value=0, max_value=15), max_size=40),
)
def test_each_frame_applies_once_in_sender_order(
    count: int, edits: list[int], schedule: list[int]
) -> None:
    sender, sent, message_ids = outbox_frames(count, edits)
    receiver = Conversation()
    events = []
    for index in schedule:  # a first connection: lost, duplicated, reordered frames
        if index < len(sent):
            events += receiver.receive(sent[index], NOW)
    for data in sent:  # a later connection resends the whole outbox in order
        events += receiver.receive(data, NOW)

    texts = [decode_chat_frame(data) for data in sent]
    new_texts = [
        e.message.id for e in events if isinstance(e, StoreMessage) and e.message.edited_at is None
    ]
    assert new_texts == message_ids  # each message once, in the sender's order
    cursors = [e.next_seq for e in events if isinstance(e, StoreCursor)]
    assert cursors == sorted(set(cursors))
    assert cursors[-1] == len(sent) + 1
    final = {m.id: m.text for m in receiver.history()}
    expected = {m.id: m.text for m in sender.history()}
    assert final == expected
    assert all(isinstance(t, Text) for t in texts[:count])


@settings(max_examples=100, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=10),
    schedule=st.lists(st.integers(min_value=0, max_value=12), max_size=30),
)
def test_receipts_empty_the_outbox_whatever_the_order(count: int, schedule: list[int]) -> None:
    sender, sent, message_ids = outbox_frames(count, [])
    receiver = Conversation()
    back = []
    for index in [*schedule, *range(len(sent))]:
        if index < len(sent):
            back += frames(receiver.receive(sent[index], NOW))
    for data in reversed(back):  # receipts in any order, repeated
        sender.receive(data, NOW)
    assert not sender.has_outbox
    states = {sender.message(i).state for i in message_ids}  # type: ignore[union-attr]
    assert states == {MessageState.DELIVERED}
