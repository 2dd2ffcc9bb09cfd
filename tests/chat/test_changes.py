"""Edits, deletes and reactions, applied on both sides (pure)."""

from __future__ import annotations

import pytest

from kith.chat import (
    Conversation,
    Edit,
    FrameRejected,
    NotOwnMessage,
    Party,
    UnknownMessage,
    encode_chat_frame,
)

from .conftest import NOW, Ids, connected_pair, deliver


def sent(a: Conversation, b: Conversation, ids: Ids, body: str = "hello") -> str:
    message_id = ids()
    deliver(deliver(a.send_text(message_id, body, NOW), b), a)
    return message_id


def test_edit_applies_on_both_sides(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    deliver(a.edit(ids(), message_id, "hello, edited", NOW + 1), b)
    for side in (a, b):
        message = side.message(message_id)
        assert message is not None
        assert message.text == "hello, edited"
        assert message.edited


def test_editing_someone_elses_message_is_refused_locally(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    with pytest.raises(NotOwnMessage):
        b.edit(ids(), message_id, "not mine", NOW)


def test_peer_editing_our_message_is_rejected(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    forged = encode_chat_frame(Edit(ids(), 1, message_id, "forged", 0))
    events = a.receive(forged, NOW)
    assert isinstance(events[0], FrameRejected)
    assert a.message(message_id).text == "hello"  # type: ignore[union-attr]


def test_edit_of_an_unknown_message_is_refused(ids: Ids) -> None:
    with pytest.raises(UnknownMessage):
        Conversation().edit(ids(), ids(), "x", NOW)


def test_delete_applies_on_both_sides_and_drops_the_text(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    deliver(a.delete(ids(), message_id, NOW), b)
    for side in (a, b):
        message = side.message(message_id)
        assert message is not None
        assert message.deleted
        assert message.text == ""


def test_deleting_someone_elses_message_is_refused(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    with pytest.raises(NotOwnMessage):
        b.delete(ids(), message_id, NOW)


def test_deleted_message_cannot_be_edited(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    a.delete(ids(), message_id, NOW)
    with pytest.raises(NotOwnMessage):
        a.edit(ids(), message_id, "back", NOW)


def test_reactions_add_and_remove_on_both_sides(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    deliver(b.react(ids(), message_id, "👍", True, NOW), a)
    assert a.message(message_id).reactions == {(Party.PEER, "👍")}  # type: ignore[union-attr]
    assert b.message(message_id).reactions == {(Party.ME, "👍")}  # type: ignore[union-attr]
    deliver(b.react(ids(), message_id, "👍", False, NOW), a)
    assert a.message(message_id).reactions == frozenset()  # type: ignore[union-attr]


def test_repeated_reaction_does_nothing(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    a.react(ids(), message_id, "🎉", True, NOW)
    assert a.react(ids(), message_id, "🎉", True, NOW) == []
    assert b.react(ids(), message_id, "🎉", False, NOW) == []


def test_both_sides_may_react_with_the_same_emoji(ids: Ids) -> None:
    a, b = connected_pair()
    message_id = sent(a, b, ids)
    deliver(a.react(ids(), message_id, "❤", True, NOW), b)
    deliver(b.react(ids(), message_id, "❤", True, NOW), a)
    assert b.message(message_id).reactions == {  # type: ignore[union-attr]
        (Party.PEER, "❤"),
        (Party.ME, "❤"),
    }
