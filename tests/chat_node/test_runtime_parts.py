"""The messaging runtime's small parts with fakes: the committer, the
subscription mux, the ``has_messages`` presence flag, the database backend."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from kith.chat import Message, MessageState, NotOwnMessage, Party, Receipt, encode_chat_frame
from kith.chat import Text as TextFrame
from kith.conversation_store import ChatMessage
from kith.direct import DirectBackend
from kith.errors import KithError
from kith.presence import OwnStatus, PresenceManager
from kith.runtime.chat.committer import GATHER_TURNS, QUIET_TURNS, Committer
from kith.runtime.chat.live import (
    ChatNoticeEvent,
    MessageEvent,
    MessageStateEvent,
    TypingEvent,
    live_events,
)
from kith.runtime.chat.peer import is_delivery_receipt
from kith.runtime.dispatch import EventBus
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.runtime.presence.driver import PresenceDriver
from kith.runtime.store_writer import StoreWriter
from kith.runtime.subscriptions import SubscriptionMux
from kith.store.store import Store
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel
from kith_testkit.chat_driver_harness import BOB, ME, NOW, StoreRunner, new_store


class FailsOnce(StoreRunner):
    """The first transaction fails: it starts, waits for ``release``, then fails."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        first = self.calls == 0
        self.calls += 1
        if first:
            self.started.set()
            await self.release.wait()
            raise KithError("disk full", code="database_damaged")
        return fn(self.store)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path)


# -- committer ----------------------------------------------------------------


async def test_actions_run_in_order_after_their_writes_commit(store: Store) -> None:
    runner, seen = StoreRunner(store), []
    committer: Committer[str] = Committer(runner, logging.getLogger("test"))

    def write(n: int) -> Callable[[Store], None]:
        return lambda s: s.state.set_int(f"k{n}", n)

    def act(n: int) -> Callable[[], None]:
        return lambda: seen.append((n, store.state.get_int(f"k{n}")))

    futures = [committer.submit([write(n)], act(n)) for n in range(5)]
    await asyncio.gather(*futures)
    assert seen == [(n, n) for n in range(5)]
    assert runner.calls <= 2  # batched: the first alone, the rest together


async def test_a_burst_arriving_over_several_turns_is_one_transaction(store: Store) -> None:
    """Group commit: submissions keep arriving, one a loop turn (a burst of
    frames read a datagram at a time); they share one transaction, and every
    action runs after it."""
    runner, seen = StoreRunner(store), list[tuple[int, int]]()
    committer: Committer[str] = Committer(runner, logging.getLogger("test"))

    def submit(n: int) -> asyncio.Future[None]:
        return committer.submit(
            [lambda s: s.state.set_int(f"k{n}", n + 1)],
            lambda: seen.append((n, runner.calls)),
        )

    count = GATHER_TURNS // QUIET_TURNS
    futures = [submit(0)]
    for n in range(1, count):
        for _ in range(QUIET_TURNS - 1):  # a quiet turn between two arrivals
            await asyncio.sleep(0)
        futures.append(submit(n))
    await asyncio.gather(*futures)
    assert runner.calls == 1
    assert seen == [(n, 1) for n in range(count)]
    assert [store.state.get_int(f"k{n}") for n in range(count)] == [n + 1 for n in range(count)]


async def test_a_lone_submission_commits_after_the_quiet_turns(store: Store) -> None:
    runner = StoreRunner(store)
    committer: Committer[str] = Committer(runner, logging.getLogger("test"))
    committer.submit([lambda s: s.state.set_int("k", 1)], lambda: None)
    for _ in range(QUIET_TURNS + 1):  # the drain starts, then waits the quiet turns
        await asyncio.sleep(0)
    assert runner.calls == 1
    await committer.flush()
    assert store.state.get_int("k") == 1


async def test_a_steady_trickle_does_not_hold_a_batch_back(store: Store) -> None:
    """A submission every turn, for ever: a batch still commits after at most
    ``GATHER_TURNS`` turns of waiting for more."""
    runner = StoreRunner(store)
    committer: Committer[str] = Committer(runner, logging.getLogger("test"))
    first = committer.submit([lambda s: s.state.set_int("first", 1)], lambda: None)
    turns = 0
    while not first.done():
        assert turns < 4 * GATHER_TURNS, "the first batch waited for the trickle to end"
        committer.submit([lambda s: s.state.set_int("more", 1)], lambda: None)
        await asyncio.sleep(0)
        turns += 1
    assert store.state.get_int("first") == 1
    assert turns >= GATHER_TURNS  # it did gather while submissions kept coming
    await committer.flush()


async def test_a_failed_transaction_skips_its_actions(store: Store) -> None:
    runner, seen = StoreRunner(store), []
    runner.fail_next = 1
    committer: Committer[str] = Committer(runner, logging.getLogger("test"))
    future = committer.submit([lambda s: None], lambda: seen.append("acted"))
    with pytest.raises(KithError):
        await future
    assert seen == []


async def test_a_failed_batch_fails_what_its_owners_queued_since(store: Store) -> None:
    """Submissions of a failed batch's owners that were queued meanwhile were
    computed from the lost state: they fail too; other owners' commit."""
    runner, seen, failed = FailsOnce(store), [], list[set[str]]()
    committer: Committer[str] = Committer(
        runner, logging.getLogger("test"), on_failure=failed.append
    )

    def write(key: str) -> Callable[[Store], None]:
        return lambda s: s.state.set_int(key, 1)

    first = committer.submit([write("a1")], lambda: seen.append("a1"), "a")
    other = committer.submit([write("c1")], lambda: seen.append("c1"), "c")
    await asyncio.wait_for(runner.started.wait(), 5)  # the first transaction is running
    later = committer.submit([write("a2")], lambda: seen.append("a2"), "a")
    unrelated = committer.submit([write("b1")], lambda: seen.append("b1"), "b")
    runner.release.set()
    for future in (first, other, later):
        with pytest.raises(KithError):
            await future
    await unrelated
    assert failed == [{"a", "c"}]
    assert seen == ["b1"]
    assert [store.state.get_int(k) for k in ("a1", "c1", "a2", "b1")] == [0, 0, 0, 1]


# -- subscription mux -----------------------------------------------------------


class FakeClient:
    def __init__(self) -> None:
        self.subscriptions: set[bytes] = set()
        self.published: list[tuple[bytes, bytes]] = []

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        self.subscriptions = set(topics)

    def publish(self, topic: bytes, payload: bytes) -> None:
        self.published.append((topic, payload))

    def retract(self, topics: Iterable[bytes]) -> None:
        pass


def test_the_mux_subscribes_to_the_union() -> None:
    client = FakeClient()
    mux = SubscriptionMux(client)
    mux.set_subscriptions([b"p" * 32])
    mux.set_relay_topics([b"r" * 32])
    assert client.subscriptions == {b"p" * 32, b"r" * 32}
    mux.set_subscriptions([])
    assert client.subscriptions == {b"r" * 32}


def test_the_mux_passes_publications_through() -> None:
    client = FakeClient()
    mux = SubscriptionMux(client)
    mux.publish(b"t" * 32, b"x")
    assert client.published == [(b"t" * 32, b"x")]


# -- the has_messages flag --------------------------------------------------------


def _presence(store: Store) -> tuple[PresenceDriver, FakeClient]:
    client = FakeClient()
    manager = PresenceManager(
        status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=NOW, contacts=[BOB.kith_id]
    )
    link = PresenceDriver(
        pairs=PairChannels(ME, logging.getLogger("test")),
        manager=manager,
        signaling=client,
        writer=StoreWriter(StoreRunner(store), logging.getLogger("test")),
        hub=EventHub(),
        clock=lambda: NOW,
        schedule=lambda delay, callback: asyncio.get_running_loop().call_later(delay, callback),
        log=logging.getLogger("test"),
        events=EventBus(),
    )
    link.load([_bob()])
    return link, client


def _bob() -> Any:
    from kith.models import Contact

    return Contact(BOB.kith_id, BOB.public_key, "bob", False, NOW)


async def test_only_the_recipient_reads_has_messages_and_refresh_raises_seq(
    store: Store,
) -> None:
    link, client = _presence(store)
    link.connected()
    bob_side = PairChannel(BOB, ME.public_key)
    first = bob_side.open(client.published[-1][1])
    assert not first.has_messages
    link.set_messages_queued(BOB.kith_id, True)
    second = bob_side.open(client.published[-1][1])
    assert second.has_messages
    assert second.seq > first.seq
    assert second.status == first.status
    await asyncio.sleep(0.01)  # the sequence number is saved in the background
    assert store.state.get_int("presence_seq") == second.seq
    published = len(client.published)
    link.set_messages_queued(BOB.kith_id, True)  # no change: nothing re-published
    assert len(client.published) == published
    link.set_messages_queued(BOB.kith_id, False)
    assert not bob_side.open(client.published[-1][1]).has_messages


# -- events and views ---------------------------------------------------------------


def test_events_follow_the_ui_contract() -> None:
    message = ChatMessage.of(
        Message("a" * 32, Party.PEER, "hi", 1_500, MessageState.RECEIVED, 1,
                reactions=frozenset({(Party.ME, "👍")})),
        ME.kith_id,
        BOB.kith_id,
    )  # fmt: skip
    assert MessageEvent(message).to_json() == {
        "type": "message",
        "contact": BOB.kith_id,
        "message": {
            "id": "a" * 32, "from": BOB.kith_id, "text": "hi", "sent_at": 1.5,
            "state": "received", "edited": False, "deleted": False,
            "reactions": {"👍": [ME.kith_id]}, "reply_to": None, "via": "direct",
        },
    }  # fmt: skip
    assert MessageStateEvent("c", "m", "delivered").to_json()["state"] == "delivered"
    assert TypingEvent("c", True).to_json() == {"type": "typing", "contact": "c", "typing": True}
    assert ChatNoticeEvent("c", "revealed", "…").to_json()["code"] == "revealed"


def test_delivery_receipts_are_recognised() -> None:
    assert is_delivery_receipt(encode_chat_frame(Receipt("delivered", ["a" * 32])))
    assert not is_delivery_receipt(encode_chat_frame(Receipt("read", ["a" * 32])))
    assert not is_delivery_receipt(encode_chat_frame(TextFrame("a" * 32, 1, "delivered", 1)))


# -- the database backend -------------------------------------------------------------


def test_with_no_node_a_message_is_queued_in_the_outbox(store: Store) -> None:
    backend = DirectBackend(store, lambda: NOW)
    message = backend.send_message(BOB.kith_id, "later")
    assert (message.state, message.sender) == ("queued", ME.kith_id)
    assert [e.id for e in store.outbox.entries(BOB.kith_id)] == [message.id]
    assert store.cursors.get(BOB.kith_id) == (2, 1)
    second = backend.send_message(BOB.kith_id, "and more")
    assert [m.id for m in backend.messages(BOB.kith_id, 10)] == [message.id, second.id]
    edited = backend.edit_message(message.id, "sooner")
    assert edited.edited
    assert edited.text == "sooner"
    assert backend.react(message.id, "👍").reactions == {"👍": [ME.kith_id]}
    backend.delete_message(second.id)
    assert backend.messages(BOB.kith_id, 10)[1].deleted
    assert [e.seq for e in store.outbox.entries(BOB.kith_id)] == [1, 2, 3, 4, 5]


def test_with_no_node_bad_input_is_refused(store: Store) -> None:
    backend = DirectBackend(store, lambda: NOW)
    with pytest.raises(KithError) as unknown:
        backend.send_message(IdentityKeys(os.urandom(32)).kith_id, "hi")
    assert unknown.value.code == "unknown_contact"
    with pytest.raises(KithError) as empty:
        backend.send_message(BOB.kith_id, "")
    assert empty.value.code == "invalid_message"
    store.messages.put(
        BOB.kith_id, Message("b" * 32, Party.PEER, "theirs", 1, MessageState.RECEIVED, 1)
    )
    with pytest.raises(NotOwnMessage):
        backend.edit_message("b" * 32, "mine now")
    with pytest.raises(KithError) as missing:
        backend.delete_message("c" * 32)
    assert missing.value.code == "unknown_message"


def test_a_state_move_is_one_state_event_and_a_new_message_one_message_event() -> None:
    from kith.chat import Conversation

    conversation = Conversation()
    events = conversation.send_text("a" * 32, "hi", NOW)
    live = live_events(events, ME.kith_id, BOB.kith_id)
    assert [type(e) for e in live] == [MessageEvent]
    conversation.contact_online(NOW)
    opened = live_events(conversation.channel_open(NOW), ME.kith_id, BOB.kith_id)
    assert opened == [MessageStateEvent(BOB.kith_id, "a" * 32, "sent")]


def test_a_message_written_and_sent_in_one_call_is_one_message_event_in_state_sent() -> None:
    """Not a ``message`` (queued) and a ``message_state`` (sent): one event,
    as the message is once stored; a later receipt is a state event."""
    from kith.chat import Conversation
    from kith.chat.frames import Receipt

    conversation = Conversation()
    conversation.contact_online(NOW)
    conversation.channel_open(NOW)
    events = conversation.send_text("a" * 32, "hi", NOW)
    assert [type(e).__name__ for e in events].count("MessageStateChanged") == 1
    live = live_events(events, ME.kith_id, BOB.kith_id)
    assert len(live) == 1
    assert isinstance(live[0], MessageEvent)
    assert live[0].message.state == "sent"
    receipt = Receipt("delivered", ["a" * 32])
    delivered = live_events(conversation.receive_frame(receipt, NOW), ME.kith_id, BOB.kith_id)
    assert delivered == [MessageStateEvent(BOB.kith_id, "a" * 32, "delivered")]
