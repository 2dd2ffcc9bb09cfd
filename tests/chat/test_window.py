"""The part of the history a conversation holds (pure)."""

from __future__ import annotations

import pytest

from kith.chat import Message, MessageState, MessageWindow, Party

from .conftest import Ids


def message(message_id: str, text: str = "hi") -> Message:
    return Message(message_id, Party.PEER, text, 1, MessageState.RECEIVED, 1)


def test_trim_keeps_only_the_most_recent(ids: Ids) -> None:
    window = MessageWindow(capacity=2)
    first, second, third = (ids() for _ in range(3))
    for each in (first, second, third):
        window.put(message(each))
    window.trim()
    assert window.get(first) is None
    assert [window.get(i) is not None for i in (second, third)] == [True, True]


def test_a_trimmed_message_stays_known_and_missing(ids: Ids) -> None:
    window = MessageWindow(capacity=1)
    old, new = ids(), ids()
    window.put(message(old))
    window.put(message(new))
    window.trim()
    assert window.knows(old)
    assert window.missing([old, new, ids()]) == [old]


def test_a_pinned_message_is_never_trimmed(ids: Ids) -> None:
    queued = ids()
    window = MessageWindow(capacity=1, pinned=lambda i: i == queued)
    window.put(message(queued))
    for _ in range(5):
        window.put(message(ids()))
    window.trim()
    assert window.get(queued) is not None
    assert len(window) == 2


def test_an_unpinned_message_is_trimmed_again(ids: Ids) -> None:
    queued, pinned = ids(), {""}
    pinned.add(queued)
    window = MessageWindow(capacity=1, pinned=lambda i: i in pinned)
    window.put(message(queued))
    window.put(message(ids()))
    window.trim()
    pinned.clear()
    window.unpin(queued)
    window.put(message(ids()))
    window.trim()
    assert window.get(queued) is None


def test_recall_keeps_the_held_version(ids: Ids) -> None:
    window, message_id = MessageWindow(), ids()
    window.put(message(message_id, "newer"))
    window.recall([message(message_id, "stored")])
    assert window.get(message_id).text == "newer"  # type: ignore[union-attr]


def test_recall_holds_a_stored_message(ids: Ids) -> None:
    message_id = ids()
    window = MessageWindow(known_ids=[message_id])
    assert window.missing([message_id]) == [message_id]
    window.recall([message(message_id)])
    assert window.missing([message_id]) == []


def test_a_malformed_id_is_not_known() -> None:
    assert not MessageWindow().knows("not hex")


def test_a_window_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MessageWindow(capacity=0)
