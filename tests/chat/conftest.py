"""Helpers for the chat-logic tests: IDs and moving frames between two conversations."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from kith.chat import Conversation, ConversationEvent, SendFrame

NOW = 1_700_000_000.0


class Ids:
    """Deterministic message IDs."""

    def __init__(self) -> None:
        self._count: Iterator[int] = itertools.count(1)

    def __call__(self) -> str:
        return f"{next(self._count):032x}"


@pytest.fixture
def ids() -> Ids:
    return Ids()


def frames(events: list[ConversationEvent]) -> list[bytes]:
    """The data of every SendFrame event, in order."""
    return [event.data for event in events if isinstance(event, SendFrame)]


def deliver(
    events: list[ConversationEvent], to: Conversation, now: float = NOW
) -> list[ConversationEvent]:
    """Feed every frame sent in ``events`` to ``to``; returns what it produced."""
    produced: list[ConversationEvent] = []
    for data in frames(events):
        produced += to.receive(data, now)
    return produced


def connected_pair() -> tuple[Conversation, Conversation]:
    """Two conversations whose contact is online with an open channel."""
    a, b = Conversation(), Conversation()
    for side in (a, b):
        side.contact_online(NOW)
        side.channel_open(NOW)
    return a, b
