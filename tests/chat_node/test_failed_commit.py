"""A failed commit loses nothing that was acknowledged.

The chat link with a real store whose transaction fails once (database busy,
disk full), a fake peer link and a real secure channel at the contact's end:
the conversation moved ahead of the database, so it must be rebuilt from the
store before it acknowledges anything again. A resent message is then stored
and only then receipted, and a user's action that was not stored is an error.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from kith.chat import (
    Receipt,
    Text,
    UnknownMessage,
    decode_chat_frame,
    encode_chat_frame,
)
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
from kith.runtime.chat.service import ChatService
from kith.runtime.dispatch import EventBus
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.runtime.subscriptions import SubscriptionMux
from kith.store.store import Store
from kith_proto.keys import IdentityKeys

NOW = 1_800_000_000.0
ME, BOB = IdentityKeys(bytes(32)), IdentityKeys(bytes(range(32)))
MID = "a" * 32


class Runner:
    """Runs store work inline; ``fail_next`` transactions fail as on a busy disk."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.fail_next = 0

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        await asyncio.sleep(0)
        if self.fail_next:
            self.fail_next -= 1
            raise KithError("the database is busy", code="database_busy")
        return fn(self.store)


class Signaling:
    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        pass

    def publish(self, topic: bytes, payload: bytes) -> None:
        pass

    def retract(self, topics: Iterable[bytes]) -> None:
        pass

    async def relay(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        pass


class FakeLink:
    """A peer link whose channel the test opens; records what is sent and
    whether the message was stored at that moment."""

    def __init__(self, stored: Callable[[], bool]) -> None:
        self.state = LinkState.IDLE
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self.sent: list[tuple[bytes, bool]] = []
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

    def deliver(self, data: bytes) -> None:
        self.events.put_nowait(FrameReceived(data))


async def until(condition: Callable[[], bool], what: str) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (polling state the runtime owns)
            await asyncio.sleep(0.005)
    assert condition(), what


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store.create(tmp_path / "k.db", os.urandom(32))
    store.identity.create(ME, "me", NOW)
    store.contacts.add(BOB.kith_id, BOB.public_key, "bob", NOW)
    return store


async def _chat(store: Store, runner: Runner) -> ChatDriver:
    chat = ChatDriver(
        keys=ME,
        pairs=PairChannels(ME, logging.getLogger("test")),
        store=runner,
        hub=EventHub(),
        mux=SubscriptionMux(Signaling()),
        relay=Signaling(),
        invisible=False,
        events=EventBus(),
        options=ChatOptions(),
        clock=lambda: NOW,
        log=logging.getLogger("test"),
    )
    await chat.load([Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)])
    return chat


async def _handshake(chat: ChatDriver, link: FakeLink) -> SecureChannel:
    """A channel opens and bob (the offerer) runs the session handshake."""
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


def _receipts(bob: SecureChannel, sent: list[tuple[bytes, bool]]) -> list[tuple[Receipt, bool]]:
    """The delivery receipts among frames we sent on bob's channel, with
    whether the message was stored when each went out."""
    found = []
    for frame, stored in sent:
        for event in bob.receive(frame):
            if isinstance(event, MessageReceived):
                chat_frame = decode_chat_frame(event.plaintext)
                if isinstance(chat_frame, Receipt) and chat_frame.kind == "delivered":
                    found.append((chat_frame, stored))
    return found


async def test_a_message_whose_commit_failed_is_stored_then_receipted_when_resent(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    links: list[FakeLink] = []

    def make_link(*args: object) -> FakeLink:
        links.append(FakeLink(lambda: store.messages.get(BOB.kith_id, MID) is not None))
        return links[-1]

    monkeypatch.setattr(chat_driver, "make_peer_link", make_link)
    runner = Runner(store)
    chat = await _chat(store, runner)
    peer = chat.peer(BOB.kith_id)
    await peer.open()
    link = links[0]
    text = encode_chat_frame(Text(MID, 1, "hello", 1_000))

    bob = await _handshake(chat, link)
    handshake_frames = len(link.sent)
    runner.fail_next = 1
    link.deliver(bob.seal(text).data)
    await until(lambda: link.closes == 1, "the link is closed after the failed commit")
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    await chat.flush()

    assert store.messages.get(BOB.kith_id, MID) is None
    assert store.cursors.get(BOB.kith_id)[1] == 1  # the peer's cursor did not move
    assert peer.conversation.message(MID) is None  # rebuilt from the store
    assert _receipts(bob, link.sent[handshake_frames:]) == []  # nothing acknowledged
    assert store.sessions.clear() == 0  # and the session was never stored

    bob = await _handshake(chat, link)  # bob reconnects and resends what was not receipted
    resent_from = len(link.sent)
    link.deliver(bob.seal(text).data)
    await until(lambda: len(link.sent) > resent_from, "a delivery receipt")
    await chat.flush()

    stored = store.messages.get(BOB.kith_id, MID)
    assert stored is not None
    assert stored.text == "hello"
    receipts = _receipts(bob, link.sent[resent_from:])
    assert [(r.ids, was_stored) for r, was_stored in receipts] == [([MID], True)]
    await chat.stop()


async def test_a_send_whose_commit_failed_is_an_error_and_forgotten(
    store: Store,
) -> None:
    runner = Runner(store)
    chat = await _chat(store, runner)
    service = ChatService(chat, lambda: NOW)
    peer = chat.peer(BOB.kith_id)

    runner.fail_next = 1
    with pytest.raises(KithError) as failed:
        await service.send_text(BOB.kith_id, "lost?")
    assert failed.value.code == "database_busy"  # the API answers 503, not 201
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    assert store.messages.all(BOB.kith_id) == []
    assert peer.conversation.history() == []
    with pytest.raises(UnknownMessage):
        chat.owner(failed.value.message)  # nothing of it is left in memory

    message = await service.send_text(BOB.kith_id, "again")
    stored = store.messages.get(BOB.kith_id, message.id)
    assert stored is not None
    assert stored.seq == 1  # the unsaved sequence number is reused: no gap at the peer
    assert [e.seq for e in store.outbox.entries(BOB.kith_id)] == [1]
    await chat.stop()


async def test_calls_are_refused_while_the_conversation_is_rebuilt(store: Store) -> None:
    runner = Runner(store)
    chat = await _chat(store, runner)
    service = ChatService(chat, lambda: NOW)
    peer = chat.peer(BOB.kith_id)
    runner.fail_next = 2  # the commit, then the first reload (retried half a second later)
    first = asyncio.ensure_future(service.send_text(BOB.kith_id, "one"))
    await until(lambda: peer.recovering, "the failure is noticed")
    with pytest.raises(KithError) as refused:
        await service.send_text(BOB.kith_id, "two")
    assert refused.value.code == "database_busy"
    with pytest.raises(KithError):
        await first
    await until(lambda: not peer.recovering, "the conversation is rebuilt")
    await service.send_text(BOB.kith_id, "three")
    assert [m.text for m in store.messages.all(BOB.kith_id)] == ["three"]
    await chat.stop()
