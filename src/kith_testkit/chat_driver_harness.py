"""A :class:`kith.runtime.chat.driver.ChatDriver` over a real store, with fake
peer links the test feeds and a real secure channel at the contact's end.

The store work runs inline (one call per transaction, counted; the next ones
can be made to fail as on a busy disk); each frame the driver sends is
recorded with what ``stored()`` says about the database at that moment.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from kith.chat import Receipt, decode_chat_frame
from kith.errors import KithError
from kith.models import Contact
from kith.p2p import (
    ChannelClosed,
    ChannelNotOpen,
    ChannelOpen,
    CloseCause,
    FrameReceived,
    LinkEvent,
    LinkState,
    MessageReceived,
    SecureChannel,
    SendData,
)
from kith.runtime.chat import driver as chat_driver
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.link_factory import ChatOptions
from kith.runtime.dispatch import EventBus
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.runtime.subscriptions import SubscriptionMux
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

NOW = 1_800_000_000.0
ME, BOB = IdentityKeys(bytes(32)), IdentityKeys(bytes(range(32)))

T = TypeVar("T")


class StoreRunner:
    """Runs store work inline and counts the calls (each commit is one);
    ``fail_next`` transactions fail as on a busy disk."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0
        self.fail_next = 0

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        self.calls += 1
        await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next -= 1
            raise KithError("the database is busy", code="database_busy")
        return fn(self.store)


class QuietSignaling:
    """A signaling connection that accepts everything and sends nothing."""

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        pass

    def publish(self, topic: bytes, payload: bytes) -> None:
        pass

    def retract(self, topics: Iterable[bytes]) -> None:
        pass

    async def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        pass


class FakeLink(Generic[T]):
    """A peer link whose channel the test opens and feeds; records each frame
    sent with ``stored()`` at that moment, and how often it was closed."""

    def __init__(self, stored: Callable[[], T]) -> None:
        self.state = LinkState.IDLE
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self.sent: list[tuple[bytes, T]] = []
        self.closes = 0
        self._stored = stored

    async def next_event(self) -> LinkEvent:
        return await self.events.get()

    async def open(self) -> None:
        pass

    async def accept(self, payload: bytes) -> None:
        pass

    def send(self, frame: bytes) -> None:
        if self.state is not LinkState.OPEN:
            raise ChannelNotOpen("closed")
        self.sent.append((frame, self._stored()))

    async def close(self) -> None:
        self.closes += 1
        if self.state is LinkState.OPEN:
            self.state = LinkState.IDLE
            self.events.put_nowait(ChannelClosed(CloseCause.LOCAL))

    def deliver(self, *frames: bytes) -> None:
        """Hand frames over together: the pump reads them in one loop turn."""
        for data in frames:
            self.events.put_nowait(FrameReceived(data))


def fake_links(monkeypatch: pytest.MonkeyPatch, stored: Callable[[], T]) -> list[FakeLink[T]]:
    """Make the driver build :class:`FakeLink` s; the list of those it built."""
    links: list[FakeLink[T]] = []

    def make_link(*args: object) -> FakeLink[T]:
        links.append(FakeLink(stored))
        return links[-1]

    monkeypatch.setattr(chat_driver, "make_peer_link", make_link)
    return links


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (at most five seconds) until ``condition`` holds."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (polling state the runtime owns)
            await asyncio.sleep(0.005)
    assert condition(), what


def new_store(folder: Path) -> Store:
    """A real store in ``folder`` with our identity and bob as a contact."""
    store = Store.create(folder / "k.db", os.urandom(32))
    store.identity.create(ME, "me", NOW)
    store.contacts.add(BOB.kith_id, BOB.public_key, "bob", NOW)
    return store


def build_chat(
    runner: StoreRunner,
    hub: EventHub | None = None,
    signaling: QuietSignaling | None = None,
) -> ChatDriver:
    """A chat driver of ours over ``runner``'s store; ``signaling`` (default: a
    quiet one) carries its subscriptions and relayed offers."""
    signaling = QuietSignaling() if signaling is None else signaling
    return ChatDriver(
        keys=ME,
        pairs=PairChannels(ME, logging.getLogger("test")),
        store=runner,
        hub=EventHub() if hub is None else hub,
        mux=SubscriptionMux(signaling),
        relay=signaling,
        invisible=False,
        events=EventBus(),
        options=ChatOptions(),
        clock=lambda: NOW,
        log=logging.getLogger("test"),
    )


async def new_chat(runner: StoreRunner) -> ChatDriver:
    """A chat driver over ``runner``'s store, with bob loaded."""
    chat = build_chat(runner)
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    return chat


async def handshake(chat: ChatDriver, link: FakeLink[Any]) -> SecureChannel:
    """A channel opens and bob (the offerer) runs the session handshake; bob's end."""
    bob = SecureChannel(BOB, ME.public_key)
    link.state = LinkState.OPEN
    link.events.put_nowait(ChannelOpen(offerer=False))
    before = len(link.sent)
    link.deliver(bob.start().data)
    await until(lambda: len(link.sent) > before, "our handshake response")
    for event in bob.receive(link.sent[before][0]):
        if isinstance(event, SendData):
            link.deliver(event.data)
    peer = chat.peer(BOB.kith_id)
    await until(lambda: peer.is_open, "the session is established")
    return bob


def receipts(bob: SecureChannel, sent: list[tuple[bytes, T]]) -> list[tuple[Receipt, T]]:
    """The delivery receipts among frames sent on bob's channel, each with
    what was stored when it went out."""
    found = []
    for frame, stored in sent:
        for event in bob.receive(frame):
            if isinstance(event, MessageReceived):
                chat_frame = decode_chat_frame(event.plaintext)
                if isinstance(chat_frame, Receipt) and chat_frame.kind == "delivered":
                    found.append((chat_frame, stored))
    return found
