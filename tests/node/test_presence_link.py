"""The presence link with in-memory fakes for signaling, clock and timer, and a real store."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kith.models import Contact
from kith.presence import OwnStatus, PresenceManager
from kith.runtime.dispatch import EventBus
from kith.runtime.live import (
    ConnectionEvent,
    ContactPresenceEvent,
    EventHub,
    NodeEvent,
    OwnStatusEvent,
    Subscription,
)
from kith.runtime.pairs import PairChannels
from kith.runtime.presence.driver import PresenceDriver
from kith.runtime.store_writer import StoreWriter
from kith.store.state import PRESENCE_SEQ
from kith.store.store import Store
from kith_proto import wire
from kith_proto.keys import IdentityKeys
from kith_proto.pair import ENVELOPE_SIZE, PairChannel, PresenceRecord, PresenceStatus

NOW = 1_800_000_000.0


class FakeSignaling:
    """Records what the link asks of the signaling client."""

    def __init__(self) -> None:
        self.subscriptions: set[bytes] = set()
        self.published: list[tuple[bytes, bytes]] = []
        self.retracted: list[bytes] = []

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        self.subscriptions = set(topics)

    def publish(self, token: bytes, payload: bytes) -> None:
        """Recorded by the topic the token opens, as the server routes it."""
        self.published.append((wire.token_topic(token), payload))

    def retract(self, tokens: Iterable[bytes]) -> None:
        self.retracted.extend(tokens)


@dataclass
class FakeTimer:
    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Clock:
    now: float = NOW
    timers: list[FakeTimer] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def schedule(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(delay, callback)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time on and fire the live timer if it is due."""
        self.now += seconds
        live = [t for t in self.timers if not t.cancelled]
        if live and live[-1].delay <= seconds:
            live[-1].cancelled = True
            live[-1].callback()


class SyncRunner:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, fn: Callable[[Store], Any]) -> Any:
        return fn(self.store)


@dataclass
class Side:
    keys: IdentityKeys
    store: Store
    signaling: FakeSignaling
    writer: StoreWriter
    subscription: Subscription
    clock: Clock
    link: PresenceDriver
    seen: list[NodeEvent] = field(default_factory=list)

    @property
    def events(self) -> list[NodeEvent]:
        """Every live event the link has published so far."""
        queue = self.subscription.queue
        while not queue.empty():
            event = queue.get_nowait()
            if event is not None:
                self.seen.append(event)
        return self.seen


def _contact(keys: IdentityKeys) -> Contact:
    return Contact(keys.kith_id, keys.public_key, None, False, NOW)


@pytest.fixture
def make_side(tmp_path: Path) -> Iterator[Callable[..., Side]]:
    stores: list[Store] = []

    def make(keys: IdentityKeys, contacts: list[IdentityKeys], minutes: int = 10) -> Side:
        store = Store.create(tmp_path / f"{keys.kith_id[:8]}.db", os.urandom(32))
        stores.append(store)
        store.identity.create(keys, "me", NOW)
        for peer in contacts:
            store.contacts.add(peer.kith_id, peer.public_key, None, NOW)
        clock, signaling, hub = Clock(), FakeSignaling(), EventHub()
        writer = StoreWriter(SyncRunner(store), logging.getLogger("test"))
        manager = PresenceManager(
            status=OwnStatus.ONLINE,
            text="",
            auto_away_minutes=minutes,
            now=clock(),
            contacts=[p.kith_id for p in contacts],
        )
        link = PresenceDriver(
            pairs=PairChannels(keys, logging.getLogger("test")),
            manager=manager,
            signaling=signaling,
            writer=writer,
            hub=hub,
            clock=clock,
            schedule=clock.schedule,
            log=logging.getLogger("test"),
            events=EventBus(),
        )
        link.load([_contact(p) for p in contacts])
        return Side(keys, store, signaling, writer, hub.subscribe(), clock, link)

    yield make
    for store in stores:
        store.close()


ALICE = IdentityKeys(bytes(range(32)))
BOB = IdentityKeys(bytes(range(32, 64)))
CAROL = IdentityKeys(bytes(range(64, 96)))


def _open_last(side: Side, peer: IdentityKeys) -> PresenceRecord:
    """What ``peer`` reads from the last envelope ``side`` published to them."""
    channel = PairChannel(peer, side.keys.public_key)
    mine = [
        payload
        for topic, payload in side.signaling.published
        if topic == channel.subscribe_topic.raw
    ]
    return channel.open(mine[-1])


def _deliver(sender: Side, receiver: Side) -> None:
    """Hand every envelope ``sender`` published on ``receiver``'s topics over."""
    for topic, payload in sender.signaling.published:
        if topic in receiver.signaling.subscriptions:
            receiver.link.presence_value(topic, payload)


async def test_loading_subscribes_to_each_contacts_presence_topic(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB, CAROL])
    expected = {PairChannel(ALICE, p.public_key).subscribe_topic.raw for p in (BOB, CAROL)}
    assert alice.signaling.subscriptions == expected


async def test_connecting_publishes_a_sealed_record_to_every_contact(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB, CAROL])
    alice.link.connected()
    assert len(alice.signaling.published) == 2
    assert _open_last(alice, BOB).status is PresenceStatus.ONLINE
    assert ConnectionEvent("connected") in alice.events


async def test_a_status_change_reaches_the_contact_and_its_store(
    make_side: Callable[..., Side],
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    alice.link.set_status(OwnStatus.BUSY, "in a meeting")
    alice.clock.advance(0.2)  # the coalescing window ends
    _deliver(alice, bob)
    await bob.writer.flush()
    seen = bob.store.contacts.get(ALICE.kith_id)
    assert (seen.status, seen.status_text) == ("busy", "in a meeting")
    assert seen.last_seen == bob.clock.now
    assert isinstance(bob.events[-1], ContactPresenceEvent)


async def test_own_status_and_sequence_number_are_saved(make_side: Callable[..., Side]) -> None:
    alice = make_side(ALICE, [BOB])
    alice.link.connected()
    alice.link.set_status(OwnStatus.AWAY, "lunch")
    alice.clock.advance(0.2)
    await alice.writer.flush()
    assert alice.store.settings.get("user_status") == "away"
    assert alice.store.settings.get("status_text") == "lunch"
    assert alice.store.state.get_int(PRESENCE_SEQ) == _open_last(alice, BOB).seq


async def test_a_tampered_envelope_is_rejected_with_a_warning(
    make_side: Callable[..., Side], caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    topic, payload = alice.signaling.published[-1]
    bob.link.presence_value(topic, payload[:-1] + bytes([payload[-1] ^ 1]))
    await bob.writer.flush()
    assert bob.store.contacts.get(ALICE.kith_id).status == "offline"
    assert "tampered" in caplog.text


async def test_a_value_that_does_not_open_keeps_the_last_good_status(
    make_side: Callable[..., Side], caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    alice.link.set_status(OwnStatus.BUSY, "in a meeting")
    alice.clock.advance(0.2)
    _deliver(alice, bob)
    topic, _ = alice.signaling.published[-1]
    bob.link.presence_value(topic, os.urandom(ENVELOPE_SIZE))  # what a foreign writer would send
    await bob.writer.flush()
    seen = bob.store.contacts.get(ALICE.kith_id)
    assert (seen.status, seen.status_text) == ("busy", "in a meeting")
    assert "rejected presence" in caplog.text


async def test_a_replayed_older_record_is_dropped(make_side: Callable[..., Side]) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    old = alice.signaling.published[-1]
    alice.link.set_status(OwnStatus.BUSY, "")
    alice.clock.advance(0.2)
    _deliver(alice, bob)
    bob.link.presence_value(*old)
    await bob.writer.flush()
    assert bob.store.contacts.get(ALICE.kith_id).status == "busy"


async def test_an_envelope_on_an_unknown_topic_is_ignored(make_side: Callable[..., Side]) -> None:
    bob = make_side(BOB, [ALICE])
    bob.link.connected()
    bob.link.presence_value(os.urandom(32), os.urandom(ENVELOPE_SIZE))
    assert not [e for e in bob.events if isinstance(e, ContactPresenceEvent)]


async def test_values_arriving_before_connected_are_applied_after(
    make_side: Callable[..., Side],
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    _deliver(alice, bob)
    bob.link.connected()
    await bob.writer.flush()
    assert bob.store.contacts.get(ALICE.kith_id).status == "online"


async def test_gone_shows_the_contact_offline_with_last_seen(
    make_side: Callable[..., Side],
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    _deliver(alice, bob)
    bob.clock.now += 5
    bob.link.presence_gone(PairChannel(BOB, ALICE.public_key).subscribe_topic.raw)
    await bob.writer.flush()
    seen = bob.store.contacts.get(ALICE.kith_id)
    assert (seen.status, seen.last_seen) == ("offline", NOW + 5)


async def test_losing_the_server_shows_everyone_offline_and_forgets_our_values(
    make_side: Callable[..., Side],
) -> None:
    alice, bob = make_side(ALICE, [BOB]), make_side(BOB, [ALICE])
    alice.link.connected()
    bob.link.connected()
    _deliver(alice, bob)
    bob.link.disconnected()
    await bob.writer.flush()
    assert bob.store.contacts.get(ALICE.kith_id).status == "offline"
    assert bob.link.own_status().connection == "disconnected"
    assert ConnectionEvent("disconnected") in bob.events
    assert PairChannel(BOB, ALICE.public_key).publish_token in bob.signaling.retracted


async def test_invisible_publishes_offline_then_retracts(make_side: Callable[..., Side]) -> None:
    alice = make_side(ALICE, [BOB])
    alice.link.connected()
    alice.link.set_status(OwnStatus.INVISIBLE, "")
    alice.clock.advance(0.2)
    assert _open_last(alice, BOB).status is PresenceStatus.OFFLINE
    assert alice.signaling.retracted == [PairChannel(ALICE, BOB.public_key).publish_token]
    assert alice.link.own_status().effective == "offline"


async def test_adding_a_contact_subscribes_and_publishes_to_them(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB])
    alice.link.connected()
    alice.store.contacts.add(CAROL.kith_id, CAROL.public_key, None, NOW)
    alice.link.add_contact(_contact(CAROL))
    assert PairChannel(ALICE, CAROL.public_key).subscribe_topic.raw in alice.signaling.subscriptions
    assert _open_last(alice, CAROL).status is PresenceStatus.ONLINE


async def test_removing_a_contact_shows_them_offline_then_forgets_them(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB, CAROL])
    alice.link.connected()
    alice.link.remove_contact(CAROL.kith_id)
    channel = PairChannel(ALICE, CAROL.public_key)
    assert _open_last(alice, CAROL).status is PresenceStatus.OFFLINE
    assert alice.signaling.retracted == [channel.publish_token]
    assert channel.subscribe_topic.raw not in alice.signaling.subscriptions
    assert alice.link.contact_ids() == [BOB.kith_id]


async def test_auto_away_after_idle_minutes_and_back_on_activity(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB], minutes=1)
    alice.link.connected()
    alice.clock.advance(60)
    assert alice.link.own_status().effective == "away"
    alice.clock.advance(0.2)
    assert _open_last(alice, BOB).status is PresenceStatus.AWAY
    alice.link.activity()
    assert alice.link.own_status().effective == "online"
    await alice.writer.flush()
    assert alice.store.settings.get("user_status") == "online"  # auto-away is never saved


async def test_activity_keeps_the_timer_and_an_early_tick_reschedules(
    make_side: Callable[..., Side],
) -> None:
    alice = make_side(ALICE, [BOB], minutes=1)
    alice.link.connected()
    clock = alice.clock
    timers = len(clock.timers)
    clock.advance(30)
    for _ in range(3):  # one per API request: the idle deadline moves to +90 s
        alice.link.activity()
    assert len(clock.timers) == timers
    clock.now += 30  # the first deadline (+60 s) passed: the kept timer fires early
    early = [t for t in clock.timers if not t.cancelled][-1]
    early.cancelled = True
    early.callback()
    assert alice.link.own_status().effective == "online"
    assert [t.delay for t in clock.timers if not t.cancelled] == [30]
    clock.advance(30)
    assert alice.link.own_status().effective == "away"


async def test_changing_auto_away_minutes_applies_at_once(make_side: Callable[..., Side]) -> None:
    alice = make_side(ALICE, [BOB], minutes=0)
    alice.link.connected()
    alice.link.set_auto_away_minutes(1)
    alice.clock.advance(60)
    assert alice.link.own_status().effective == "away"
    assert any(isinstance(e, OwnStatusEvent) and e.auto_away for e in alice.events)


async def test_a_clean_stop_publishes_offline_and_retracts(make_side: Callable[..., Side]) -> None:
    alice = make_side(ALICE, [BOB])
    alice.link.connected()
    alice.link.stop()
    assert _open_last(alice, BOB).status is PresenceStatus.OFFLINE
    assert alice.signaling.retracted == [PairChannel(ALICE, BOB.public_key).publish_token]
