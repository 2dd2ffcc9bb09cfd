"""Typing indicators: ephemeral, throttled, expiring (pure)."""

from __future__ import annotations

from kith.chat import (
    TYPING_TIMEOUT,
    Conversation,
    Text,
    Typing,
    TypingChanged,
    decode_chat_frame,
    encode_chat_frame,
)

from .conftest import NOW, Ids, connected_pair, frames

START = encode_chat_frame(Typing(True))


def test_peer_typing_is_shown() -> None:
    chat = Conversation()
    assert chat.receive(START, NOW) == [TypingChanged(True)]
    assert chat.peer_typing


def test_peer_typing_expires() -> None:
    chat = Conversation()
    chat.receive(START, NOW)
    assert chat.next_deadline() == NOW + TYPING_TIMEOUT
    assert chat.tick(NOW + TYPING_TIMEOUT - 0.1) == []
    assert chat.tick(NOW + TYPING_TIMEOUT) == [TypingChanged(False)]


def test_refresh_extends_the_indicator_silently() -> None:
    chat = Conversation()
    chat.receive(START, NOW)
    assert chat.receive(START, NOW + 3) == []
    assert chat.next_deadline() == NOW + 3 + TYPING_TIMEOUT


def test_stop_hides_the_indicator() -> None:
    chat = Conversation()
    chat.receive(START, NOW)
    assert chat.receive(encode_chat_frame(Typing(False)), NOW) == [TypingChanged(False)]


def test_a_message_from_the_peer_hides_the_indicator(ids: Ids) -> None:
    chat = Conversation()
    chat.receive(START, NOW)
    events = chat.receive(encode_chat_frame(Text(ids(), 1, "done", 0)), NOW)
    assert TypingChanged(False) in events


def test_channel_close_hides_the_indicator() -> None:
    chat = Conversation()
    chat.receive(START, NOW)
    assert chat.channel_closed(NOW) == [TypingChanged(False)]


def test_own_typing_is_throttled() -> None:
    a, _ = connected_pair()
    assert [decode_chat_frame(f) for f in frames(a.typing(True, NOW))] == [Typing(True)]
    assert a.typing(True, NOW + 1) == []
    assert len(frames(a.typing(True, NOW + 3))) == 1
    assert [decode_chat_frame(f) for f in frames(a.typing(False, NOW + 4))] == [Typing(False)]


def test_own_typing_is_never_queued() -> None:
    assert Conversation().typing(True, NOW) == []
