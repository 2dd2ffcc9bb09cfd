"""Contacts' presence: records, gone, last seen, losing the server."""

from __future__ import annotations

from kith.presence import (
    ConnectionChanged,
    ConnectionState,
    ContactPresence,
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatus,
    PresenceManager,
    PresenceRecord,
    PresenceStatus,
)

T0 = 1_700_000_000.0


def connected(status: OwnStatus = OwnStatus.ONLINE) -> PresenceManager:
    presence = PresenceManager(
        status=status, text="", auto_away_minutes=0, now=T0, contacts=["bob", "carol"]
    )
    presence.connected(T0)
    return presence


def record(status: PresenceStatus, text: str = "", seq: int = 1) -> PresenceRecord:
    return PresenceRecord(status, text, seq, int(T0 * 1000))


def test_contacts_start_offline_and_unseen() -> None:
    assert connected().contacts["bob"] == ContactPresence(PresenceStatus.OFFLINE, "", None)


def test_contact_record_changes_their_presence() -> None:
    events = connected().contact_record("bob", record(PresenceStatus.BUSY, "meeting"), T0 + 1)
    assert events == [ContactPresenceChanged("bob", PresenceStatus.BUSY, "meeting", T0 + 1)]


def test_same_presence_again_reports_nothing_but_refreshes_last_seen() -> None:
    presence = connected()
    presence.contact_record("bob", record(PresenceStatus.BUSY), T0 + 1)
    assert presence.contact_record("bob", record(PresenceStatus.BUSY, seq=2), T0 + 2) == []
    assert presence.contacts["bob"].last_seen == T0 + 2


def test_contact_gone_is_offline_with_last_seen() -> None:
    presence = connected()
    presence.contact_record("bob", record(PresenceStatus.ONLINE, "hi"), T0 + 1)
    events = presence.contact_gone("bob", T0 + 30)
    assert events == [ContactPresenceChanged("bob", PresenceStatus.OFFLINE, "", T0 + 30)]
    assert presence.contacts["bob"].last_seen == T0 + 30


def test_gone_for_an_offline_contact_reports_nothing() -> None:
    assert connected().contact_gone("bob", T0 + 1) == []


def test_offline_record_clears_the_status_text() -> None:
    presence = connected()
    presence.contact_record("bob", record(PresenceStatus.BUSY, "meeting"), T0 + 1)
    events = presence.contact_record("bob", record(PresenceStatus.OFFLINE, "x", seq=2), T0 + 2)
    assert events == [ContactPresenceChanged("bob", PresenceStatus.OFFLINE, "", T0 + 2)]


def test_record_from_an_unknown_contact_is_ignored() -> None:
    presence = connected()
    assert presence.contact_record("mallory", record(PresenceStatus.ONLINE), T0 + 1) == []
    assert "mallory" not in presence.contacts


def test_contacts_presence_still_updates_while_invisible() -> None:
    presence = connected(OwnStatus.INVISIBLE)
    events = presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 1)
    assert events == [ContactPresenceChanged("bob", PresenceStatus.ONLINE, "", T0 + 1)]


def test_losing_the_server_shows_every_contact_offline() -> None:
    presence = connected()
    presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 1)
    presence.contact_record("carol", record(PresenceStatus.AWAY), T0 + 1)
    events = presence.disconnected(T0 + 5)
    assert events == [
        ConnectionChanged(ConnectionState.DISCONNECTED),
        ContactPresenceChanged("bob", PresenceStatus.OFFLINE, "", T0 + 5),
        ContactPresenceChanged("carol", PresenceStatus.OFFLINE, "", T0 + 5),
    ]


def test_losing_the_server_is_reported_apart_from_own_status() -> None:
    presence = connected(OwnStatus.BUSY)
    presence.disconnected(T0 + 5)
    assert presence.connection is ConnectionState.DISCONNECTED
    assert presence.status is OwnStatus.BUSY


def test_disconnecting_twice_reports_nothing() -> None:
    presence = connected()
    presence.disconnected(T0 + 5)
    assert presence.disconnected(T0 + 6) == []


def test_records_while_disconnected_are_ignored() -> None:
    presence = connected()
    presence.disconnected(T0 + 5)
    assert presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 6) == []
    assert presence.contact_gone("bob", T0 + 6) == []


def test_presence_recovers_after_reconnect() -> None:
    presence = connected()
    presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 1)
    presence.disconnected(T0 + 5)
    presence.connected(T0 + 10)
    events = presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 10)
    assert events == [ContactPresenceChanged("bob", PresenceStatus.ONLINE, "", T0 + 10)]


def test_removed_contact_is_forgotten() -> None:
    presence = connected()
    presence.contact_removed("bob", T0 + 1)
    assert presence.contact_record("bob", record(PresenceStatus.ONLINE), T0 + 2) == []


def _flagged(status: PresenceStatus, seq: int) -> PresenceRecord:
    return PresenceRecord(status, "", seq, int(T0 * 1000), has_messages=True)


def test_a_record_saying_messages_wait_is_reported_once() -> None:
    presence = connected()
    events = presence.contact_record("bob", _flagged(PresenceStatus.ONLINE, 1), T0 + 1)
    assert events == [
        ContactPresenceChanged("bob", PresenceStatus.ONLINE, "", T0 + 1),
        MessagesWaiting("bob", True),
    ]
    assert presence.contact_record("bob", _flagged(PresenceStatus.ONLINE, 2), T0 + 2) == []
    events = presence.contact_record("bob", record(PresenceStatus.ONLINE, seq=3), T0 + 3)
    assert events == [MessagesWaiting("bob", False)]


def test_messages_stop_waiting_when_the_contact_goes_offline() -> None:
    presence = connected()
    presence.contact_record("bob", _flagged(PresenceStatus.AWAY, 1), T0 + 1)
    events = presence.contact_gone("bob", T0 + 2)
    assert events == [
        ContactPresenceChanged("bob", PresenceStatus.OFFLINE, "", T0 + 2),
        MessagesWaiting("bob", False),
    ]
