"""A contact whose identity key changed gets nothing until the user accepts."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from kith.models import Contact
from kith.runtime.chat_events import ChatNoticeEvent
from kith.runtime.chat_link import ChatLink
from kith.runtime.chat_service import ChatService
from kith.runtime.events import EventHub
from kith.runtime.peer_links import ChatOptions
from kith.runtime.subscriptions import SubscriptionMux
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

NOW = 1_800_000_000.0
ME, BOB = IdentityKeys(bytes(32)), IdentityKeys(bytes(range(32)))


class Runner:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        return fn(self.store)


class Signaling:
    def __init__(self) -> None:
        self.relayed: list[bytes] = []
        self.offered = asyncio.Event()

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        pass

    def publish(self, topic: bytes, payload: bytes) -> None:
        pass

    def retract(self, topics: Iterable[bytes]) -> None:
        pass

    async def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        self.relayed.append(payload)
        self.offered.set()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "k.db", os.urandom(32))
    store.identity.create(ME, "me", NOW)
    store.contacts.add(BOB.kith_id, BOB.public_key, "bob", NOW)
    return store


async def test_a_changed_key_blocks_sending_until_accepted(store: Store) -> None:
    hub, signaling = EventHub(), Signaling()
    events = hub.subscribe()
    chat = ChatLink(
        keys=ME,
        store=Runner(store),
        hub=hub,
        mux=SubscriptionMux(signaling),
        relay=signaling,
        invisible=lambda: False,
        refresh_presence=lambda contact_id: None,
        options=ChatOptions(),
        clock=lambda: NOW,
        log=logging.getLogger("test"),
    )
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    peer = chat.peer(BOB.kith_id)
    chat.key_changed(peer, os.urandom(32))
    await chat.flush()
    notice = events.queue.get_nowait()
    assert isinstance(notice, ChatNoticeEvent)
    assert notice.code == "key_changed"
    assert store.key_warnings.contacts() == {BOB.kith_id}

    peer.online = True
    message = await ChatService(chat, lambda: NOW).send_text(BOB.kith_id, "hi")
    await chat.flush()
    await asyncio.sleep(0)
    assert message.state == "queued"
    assert signaling.relayed == []  # no offer goes out while blocked
    chat.relay_message(peer.pair.relay_in_topic.raw, b"an offer")  # ignored, no error

    await ChatService(chat, lambda: NOW).accept_key(BOB.kith_id)
    assert store.key_warnings.contacts() == set()
    assert not peer.blocked
    await asyncio.wait_for(signaling.offered.wait(), 10)  # sending resumes: an offer goes out
    await chat.stop()
