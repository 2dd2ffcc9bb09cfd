"""The event bus and the dispatcher: each event reaches the component that
consumes it, in order; a failing handler is logged and the rest still arrive."""

from __future__ import annotations

import asyncio
import logging

import pytest

from kith.presence import (
    ConnectionChanged,
    ConnectionState,
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatus,
    OwnStatusChanged,
    PresenceStatus,
)
from kith.runtime.dispatch import Dispatcher, EventBus, MessagesQueued, PresenceNews

NOW = 1_800_000_000.0


class Chat:
    def __init__(self, fail_on: str = "") -> None:
        self.news: list[PresenceNews] = []
        self.fail_on = fail_on

    def presence_changed(self, event: PresenceNews) -> None:
        if isinstance(event, ContactPresenceChanged) and event.contact_id == self.fail_on:
            raise RuntimeError("boom")
        self.news.append(event)


class Presence:
    def __init__(self) -> None:
        self.queued: list[tuple[str, bool]] = []

    def set_messages_queued(self, contact_id: str, queued: bool) -> None:
        self.queued.append((contact_id, queued))


def _news() -> list[PresenceNews]:
    return [
        ConnectionChanged(ConnectionState.CONNECTED),
        ContactPresenceChanged("bob", PresenceStatus.ONLINE, "", NOW),
        MessagesWaiting("bob", True),
        OwnStatusChanged(OwnStatus.INVISIBLE, "", PresenceStatus.OFFLINE, False),
    ]


def test_news_goes_to_chat_and_queued_messages_to_presence_in_order() -> None:
    bus, chat, presence = EventBus(), Chat(), Presence()
    dispatcher = Dispatcher(bus, presence, chat, logging.getLogger("test"))
    for event in _news():
        bus.emit(event)
    bus.emit(MessagesQueued("carol", True))
    dispatcher.route_pending()
    assert chat.news == _news()
    assert presence.queued == [("carol", True)]
    dispatcher.route_pending()  # delivered once only
    assert len(chat.news) == 4


def test_a_failing_handler_is_logged_and_later_events_still_arrive(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, chat = EventBus(), Chat(fail_on="bob")
    dispatcher = Dispatcher(bus, Presence(), chat, logging.getLogger("test"))
    for event in _news():
        bus.emit(event)
    dispatcher.route_pending()
    assert "could not handle ContactPresenceChanged" in caplog.text
    assert len(chat.news) == 3


async def test_the_running_dispatcher_delivers_what_is_emitted_later() -> None:
    bus, presence = EventBus(), Presence()
    dispatcher = Dispatcher(bus, presence, Chat(), logging.getLogger("test"))
    task = asyncio.create_task(dispatcher.run())
    bus.emit(MessagesQueued("bob", True))
    async with asyncio.timeout(5):
        while not presence.queued:  # noqa: ASYNC110 (the dispatcher owns the wake-up)
            await asyncio.sleep(0)
    task.cancel()
    assert presence.queued == [("bob", True)]
