"""Outgoing presence: connect, invisible, coalescing, sequence numbers."""

from __future__ import annotations

from kith.presence import (
    ConnectionChanged,
    ConnectionState,
    OwnStatus,
    PresenceEvent,
    PresenceManager,
    PresenceStatus,
    PublishPresence,
    RetractPresence,
)

T0 = 1_700_000_000.0
WINDOW = 0.1


def connected(status: OwnStatus = OwnStatus.ONLINE) -> PresenceManager:
    presence = PresenceManager(
        status=status, text="", auto_away_minutes=0, now=T0, contacts=["bob"]
    )
    presence.connected(T0)
    return presence


def outgoing(events: list[PresenceEvent]) -> list[PublishPresence | RetractPresence]:
    return [e for e in events if isinstance(e, PublishPresence | RetractPresence)]


# -- connecting -------------------------------------------------------------


def test_connecting_reports_the_connection_and_publishes_at_once() -> None:
    presence = PresenceManager(status=OwnStatus.BUSY, text="x", auto_away_minutes=0, now=T0)
    events = presence.connected(T0)
    assert events[0] == ConnectionChanged(ConnectionState.CONNECTED)
    assert isinstance(events[1], PublishPresence)
    assert (events[1].record.status, events[1].record.text) == (PresenceStatus.BUSY, "x")


def test_connecting_twice_reports_nothing() -> None:
    assert connected().connected(T0 + 1) == []


def test_changes_while_disconnected_publish_nothing() -> None:
    presence = PresenceManager(status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0)
    presence.set_status(OwnStatus.BUSY, "", T0)
    assert presence.next_deadline() is None
    assert outgoing(presence.tick(T0 + 1)) == []


def test_reconnecting_publishes_the_latest_status() -> None:
    presence = connected()
    presence.disconnected(T0 + 1)
    presence.set_status(OwnStatus.AWAY, "lunch", T0 + 2)
    [event] = outgoing(presence.connected(T0 + 3))
    assert isinstance(event, PublishPresence)
    assert (event.record.status, event.record.text) == (PresenceStatus.AWAY, "lunch")


def test_disconnect_drops_a_pending_publish() -> None:
    presence = connected()
    presence.set_status(OwnStatus.BUSY, "", T0 + 1)
    presence.disconnected(T0 + 1.05)
    assert presence.next_deadline() is None


# -- invisible --------------------------------------------------------------


def test_going_invisible_retracts_instead_of_publishing() -> None:
    presence = connected()
    presence.set_status(OwnStatus.INVISIBLE, "secret", T0 + 1)
    [event] = presence.tick(T0 + 1 + WINDOW)
    assert isinstance(event, RetractPresence)
    assert (event.record.status, event.record.text) == (PresenceStatus.OFFLINE, "")
    assert event.recipients is None


def test_invisible_from_the_start_publishes_nothing_on_connect() -> None:
    presence = PresenceManager(
        status=OwnStatus.INVISIBLE, text="", auto_away_minutes=0, now=T0, contacts=["bob"]
    )
    assert presence.connected(T0) == [ConnectionChanged(ConnectionState.CONNECTED)]


def test_invisible_text_change_publishes_nothing() -> None:
    presence = connected(OwnStatus.INVISIBLE)
    presence.set_status(OwnStatus.INVISIBLE, "new text", T0 + 1)
    assert presence.tick(T0 + 1 + WINDOW) == []


def test_going_visible_again_publishes() -> None:
    presence = connected(OwnStatus.INVISIBLE)
    presence.set_status(OwnStatus.BUSY, "", T0 + 1)
    [event] = presence.tick(T0 + 1 + WINDOW)
    assert isinstance(event, PublishPresence)
    assert event.record.status is PresenceStatus.BUSY


def test_new_contact_gets_nothing_while_invisible() -> None:
    assert connected(OwnStatus.INVISIBLE).contact_added("carol", T0 + 1) == []


# -- coalescing -------------------------------------------------------------


def test_ten_flips_within_the_window_publish_only_the_last() -> None:
    presence = connected()
    statuses = [OwnStatus.BUSY, OwnStatus.AWAY] * 5
    events: list[PresenceEvent] = []
    for i, status in enumerate(statuses):
        events += presence.set_status(status, f"flip {i}", T0 + 1 + i * 0.01)
        events += presence.tick(T0 + 1 + i * 0.01)
    events += presence.tick(T0 + 1 + WINDOW)
    [event] = outgoing(events)
    assert isinstance(event, PublishPresence)
    assert (event.record.status, event.record.text) == (PresenceStatus.AWAY, "flip 9")


def test_change_waits_for_the_window_deadline() -> None:
    presence = connected()
    presence.set_status(OwnStatus.BUSY, "", T0 + 1)
    assert presence.next_deadline() == T0 + 1 + WINDOW
    assert outgoing(presence.tick(T0 + 1 + WINDOW / 2)) == []


def test_flip_back_within_the_window_publishes_nothing() -> None:
    presence = connected()
    presence.set_status(OwnStatus.BUSY, "", T0 + 1)
    presence.set_status(OwnStatus.ONLINE, "", T0 + 1.05)
    assert presence.tick(T0 + 1 + WINDOW) == []


def test_invisible_and_back_within_the_window_sends_nothing() -> None:
    presence = connected()
    presence.set_status(OwnStatus.INVISIBLE, "", T0 + 1)
    presence.set_status(OwnStatus.ONLINE, "", T0 + 1.05)
    assert presence.tick(T0 + 1 + WINDOW) == []


def test_no_deadline_once_flushed() -> None:
    presence = connected()
    presence.set_status(OwnStatus.BUSY, "", T0 + 1)
    presence.tick(T0 + 1 + WINDOW)
    assert presence.next_deadline() is None


# -- sequence numbers -------------------------------------------------------


def _published_seqs(presence: PresenceManager, start: float, count: int) -> list[int]:
    seqs = []
    for i in range(count):
        status = [OwnStatus.BUSY, OwnStatus.AWAY][i % 2]
        presence.set_status(status, "", start + i)
        for event in outgoing(presence.tick(start + i + WINDOW)):
            seqs.append(event.record.seq)
    return seqs


def test_seq_strictly_increases() -> None:
    seqs = _published_seqs(connected(), T0 + 1, 5)
    assert len(seqs) == 5
    assert seqs == sorted(set(seqs))


def test_seq_follows_the_clock_in_milliseconds() -> None:
    presence = PresenceManager(status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0)
    [event] = outgoing(presence.connected(T0))
    assert event.record.seq == int(T0 * 1000)


def test_seq_after_restart_exceeds_the_saved_one_even_if_the_clock_went_back() -> None:
    saved = int(T0 * 1000) + 60_000
    presence = PresenceManager(
        status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0, last_seq=saved
    )
    [event] = outgoing(presence.connected(T0))
    assert event.record.seq == saved + 1
    assert presence.last_seq == saved + 1


def test_sent_at_is_the_clock_in_milliseconds() -> None:
    presence = PresenceManager(status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0)
    [event] = outgoing(presence.connected(T0 + 2.5))
    assert event.record.sent_at == int((T0 + 2.5) * 1000)


# -- contacts added and removed ---------------------------------------------


def test_new_contact_gets_the_current_record() -> None:
    presence = connected()
    [event] = presence.contact_added("carol", T0 + 1)
    assert isinstance(event, PublishPresence)
    assert event.recipients == ("carol",)
    assert event.record.status is PresenceStatus.ONLINE


def test_adding_a_known_contact_does_nothing() -> None:
    assert connected().contact_added("bob", T0 + 1) == []


def test_new_contact_while_disconnected_gets_nothing_yet() -> None:
    presence = PresenceManager(status=OwnStatus.ONLINE, text="", auto_away_minutes=0, now=T0)
    assert presence.contact_added("carol", T0 + 1) == []
    assert "carol" in presence.contacts


def test_removed_contact_sees_us_go_offline() -> None:
    presence = connected()
    [event] = presence.contact_removed("bob", T0 + 1)
    assert isinstance(event, RetractPresence)
    assert event.recipients == ("bob",)
    assert event.record.status is PresenceStatus.OFFLINE
    assert "bob" not in presence.contacts


def test_removing_an_unknown_contact_does_nothing() -> None:
    assert connected().contact_removed("nobody", T0 + 1) == []


def test_removed_contact_gets_nothing_while_invisible() -> None:
    assert connected(OwnStatus.INVISIBLE).contact_removed("bob", T0 + 1) == []


def test_stop_while_disconnected_sends_nothing() -> None:
    presence = connected()
    presence.disconnected(T0 + 1)
    assert presence.stop(T0 + 2) == []
