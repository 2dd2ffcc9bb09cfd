"""Group commit: a burst of frames is stored in one transaction and
receipted in one frame, only after that transaction; messages written at
once are stored in one transaction and sent only after it.

The chat link with a real store, a fake peer link (the test delivers frames
into it) and a real secure channel at the contact's end. Frames delivered
together are read by the peer's pump in one loop turn, as a busy data
channel hands them over.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from kith.chat import Edit, Receipt, Text, decode_chat_frame, encode_chat_frame
from kith.models import Contact
from kith.p2p import (
    ChannelNotOpen,
    ChannelOpen,
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
BURST = 40


class Runner:
    """Runs store work inline and counts the calls (each commit is one)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls = 0

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        self.calls += 1
        await asyncio.sleep(0)
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
    """A peer link the test feeds; records each frame sent with the message
    IDs stored at that moment."""

    def __init__(self, store: Store) -> None:
        self.state = LinkState.IDLE
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self.sent: list[tuple[bytes, set[str]]] = []
        self._store = store

    async def next_event(self) -> LinkEvent:
        return await self.events.get()

    async def open(self) -> None:
        pass

    async def accept(self, payload: bytes) -> None:
        pass

    def send(self, frame: bytes) -> None:
        if self.state is not LinkState.OPEN:
            raise ChannelNotOpen("closed")
        self.sent.append((frame, set(self._store.messages.ids(BOB.kith_id))))

    async def close(self) -> None:
        self.state = LinkState.IDLE

    def deliver(self, *frames: bytes) -> None:
        """Hand frames over together: the pump reads them in one loop turn."""
        for data in frames:
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


async def _open_chat(
    store: Store, runner: Runner, monkeypatch: pytest.MonkeyPatch
) -> tuple[ChatDriver, FakeLink, SecureChannel]:
    """A chat driver with an open channel to bob, bob's end of the session."""
    links: list[FakeLink] = []

    def make_link(*args: object) -> FakeLink:
        links.append(FakeLink(store))
        return links[-1]

    monkeypatch.setattr(chat_driver, "make_peer_link", make_link)
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
    peer = chat.peer(BOB.kith_id)
    await peer.open()
    link = links[0]
    bob = SecureChannel(BOB, ME.public_key)
    link.state = LinkState.OPEN
    link.events.put_nowait(ChannelOpen(offerer=False))
    link.deliver(bob.start().data)
    await until(lambda: len(link.sent) == 1, "our handshake response")
    for event in bob.receive(link.sent[0][0]):
        if isinstance(event, SendData):
            link.deliver(event.data)
    await until(lambda: peer.is_open, "the session is established")
    await chat.flush()
    return chat, link, bob


def _receipts(
    bob: SecureChannel, sent: list[tuple[bytes, set[str]]]
) -> list[tuple[list[str], set[str]]]:
    """The delivery receipts among the frames sent on bob's channel, each with
    the message IDs stored when it went out."""
    found = []
    for frame, stored in sent:
        for event in bob.receive(frame):
            if isinstance(event, MessageReceived):
                chat_frame = decode_chat_frame(event.plaintext)
                if isinstance(chat_frame, Receipt) and chat_frame.kind == "delivered":
                    found.append((chat_frame.ids, stored))
    return found


def _text(n: int, q: int) -> Text:
    return Text(f"{n:032x}", q, f"message {n}", 1_000 + n)


async def test_a_burst_is_one_transaction_and_one_receipt_sent_after_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    frames_before, calls_before = len(link.sent), runner.calls
    texts = [_text(n, n + 1) for n in range(BURST)]

    link.deliver(*(bob.seal(encode_chat_frame(t)).data for t in texts))
    await until(lambda: len(link.sent) > frames_before, "a delivery receipt")
    await chat.flush()

    ids = [t.id for t in texts]
    assert runner.calls - calls_before == 1  # one transaction for the whole burst
    assert set(store.messages.ids(BOB.kith_id)) == set(ids)
    receipts = _receipts(bob, link.sent[frames_before:])
    assert [receipted for receipted, _ in receipts] == [ids]  # one frame, in order
    assert all(set(receipted) <= stored for receipted, stored in receipts)  # stored first
    assert store.cursors.get(BOB.kith_id)[1] == BURST + 1
    await chat.stop()


async def test_bad_frames_in_a_burst_do_not_lose_the_good_ones(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Undecodable, tampered and refused frames among good ones: the good
    ones are stored and receipted (in the same transaction and frame); the bad
    ones are dropped, and a refused sequenced frame is receipted (the sender
    must not resend it for ever) but stores nothing."""
    runner = Runner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    frames_before, calls_before = len(link.sent), runner.calls
    good = [_text(0, 1), _text(1, 3), _text(2, 4)]
    refused = Edit("e" * 32, 2, "f" * 32, "an edit of a message nobody sent", 1_500)
    tampered = bytearray(bob.seal(encode_chat_frame(_text(9, 9))).data)
    tampered[-1] ^= 1

    link.deliver(
        bob.seal(encode_chat_frame(good[0])).data,
        bob.seal(b'{"t": "text", "id": "not json').data,
        bytes(tampered),
        bob.seal(encode_chat_frame(refused)).data,
        bob.seal(b"\xff\xfe").data,
        bob.seal(encode_chat_frame(good[1])).data,
        b"\x00 not a frame at all",
        bob.seal(encode_chat_frame(good[2])).data,
    )
    await until(lambda: len(link.sent) > frames_before, "a delivery receipt")
    await chat.flush()

    assert chat.peer(BOB.kith_id).is_open  # the channel survived the bad frames
    assert runner.calls - calls_before == 1
    assert set(store.messages.ids(BOB.kith_id)) == {t.id for t in good}
    receipts = _receipts(bob, link.sent[frames_before:])
    assert [receipted for receipted, _ in receipts] == [
        [good[0].id, refused.id, good[1].id, good[2].id]
    ]
    assert all({t.id for t in good} <= stored for _, stored in receipts)
    assert store.cursors.get(BOB.kith_id)[1] == 5
    await chat.stop()


async def test_messages_written_at_once_are_one_transaction_and_sent_after_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = Runner(store)
    chat, link, bob = await _open_chat(store, runner, monkeypatch)
    service = ChatService(chat, lambda: NOW)
    frames_before, calls_before = len(link.sent), runner.calls

    written = await asyncio.gather(
        *(service.send_text(BOB.kith_id, f"message {n}") for n in range(BURST))
    )
    await chat.flush()

    ids = [m.id for m in written]
    assert runner.calls - calls_before == 1
    assert set(store.messages.ids(BOB.kith_id)) == set(ids)
    assert [e.id for e in store.outbox.entries(BOB.kith_id)] == ids  # until bob receipts
    sent = []
    for frame, stored in link.sent[frames_before:]:
        for event in bob.receive(frame):
            assert isinstance(event, MessageReceived)
            text = decode_chat_frame(event.plaintext)
            assert isinstance(text, Text)
            assert text.id in stored  # stored before it went out
            sent.append(text.id)
    assert sent  # the send window lets some go at once
    assert sent == ids[: len(sent)]  # in order
    await chat.stop()
