"""Two presence managers talking through real pair channels (no server, no I/O)."""

from __future__ import annotations

import pytest

from kith.presence import (
    ContactPresenceChanged,
    OwnStatus,
    PresenceEvent,
    PresenceManager,
    PresenceStatus,
    PublishPresence,
    RetractPresence,
)
from kith_proto import IdentityKeys
from kith_proto.pair import PairChannel, ReplayedEnvelopeError

T0 = 1_700_000_000.0
WINDOW = 0.1
ALICE, BOB = IdentityKeys(bytes(range(32))), IdentityKeys(bytes(range(32, 64)))


class Link:
    """Alice publishes to Bob: seal with Alice's channel, open with Bob's."""

    def __init__(self) -> None:
        self.alice = PresenceManager(
            status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0, contacts=["bob"]
        )
        self.bob = PresenceManager(
            status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0, contacts=["alice"]
        )
        self.out = PairChannel(ALICE, BOB.public_key)
        self.inbox = PairChannel(BOB, ALICE.public_key)
        self.retained: bytes | None = None
        self.bob.connected(T0)

    def deliver(self, events: list[PresenceEvent], now: float) -> list[PresenceEvent]:
        seen: list[PresenceEvent] = []
        for event in events:
            if isinstance(event, PublishPresence | RetractPresence):
                envelope = self.out.seal(event.record)
                self.retained = None if isinstance(event, RetractPresence) else envelope
                seen += self.bob.contact_record("alice", self.inbox.open(envelope), now)
        return seen


def test_bob_sees_alice_busy_with_text() -> None:
    link = Link()
    link.deliver(link.alice.connected(T0), T0)
    link.alice.set_status(OwnStatus.BUSY, "in a meeting", T0 + 1)
    seen = link.deliver(link.alice.tick(T0 + 1 + WINDOW), T0 + 1.2)
    assert seen == [ContactPresenceChanged("alice", PresenceStatus.BUSY, "in a meeting", T0 + 1.2)]


def test_bob_sees_invisible_alice_as_offline() -> None:
    link = Link()
    link.deliver(link.alice.connected(T0), T0)
    link.alice.set_status(OwnStatus.INVISIBLE, "hidden", T0 + 1)
    seen = link.deliver(link.alice.tick(T0 + 1 + WINDOW), T0 + 1.2)
    assert seen == [ContactPresenceChanged("alice", PresenceStatus.OFFLINE, "", T0 + 1.2)]
    assert link.retained is None


def test_retained_record_restores_presence_after_bob_reconnects() -> None:
    link = Link()
    link.deliver(link.alice.connected(T0), T0)
    link.bob.disconnected(T0 + 5)
    link.bob.connected(T0 + 6)
    assert link.retained is not None
    seen = link.bob.contact_record("alice", link.inbox.open(link.retained), T0 + 6)
    assert seen == [ContactPresenceChanged("alice", PresenceStatus.ONLINE, "", T0 + 6)]


def test_old_status_replayed_by_the_server_is_rejected() -> None:
    link = Link()
    link.deliver(link.alice.connected(T0), T0)
    old = link.retained
    link.alice.set_status(OwnStatus.BUSY, "", T0 + 1)
    link.deliver(link.alice.tick(T0 + 1 + WINDOW), T0 + 1.2)
    assert old is not None
    with pytest.raises(ReplayedEnvelopeError):
        link.inbox.open(old)


def test_restarted_alice_is_not_taken_for_a_replay() -> None:
    link = Link()
    link.deliver(link.alice.connected(T0), T0)
    restarted = PresenceManager(
        status=OwnStatus.AWAY, text="", auto_away_minutes=0, now=T0 + 1, contacts=["bob"]
    )
    seen = link.deliver(restarted.connected(T0 + 1), T0 + 1)
    assert seen == [ContactPresenceChanged("alice", PresenceStatus.AWAY, "", T0 + 1)]
