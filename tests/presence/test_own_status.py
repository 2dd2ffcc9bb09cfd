"""Own status: the brief's table, auto-away, and what is never overridden."""

from __future__ import annotations

import pytest

from kith.presence import (
    InvalidStatusTextError,
    OwnStatus,
    OwnStatusChanged,
    PresenceManager,
    PresenceStatus,
    PublishPresence,
    RetractPresence,
)

T0 = 1_700_000_000.0
MINUTE = 60.0
WINDOW = 0.1


def manager(status: OwnStatus = OwnStatus.ONLINE, minutes: int = 10) -> PresenceManager:
    return PresenceManager(status=status, text="", auto_away_minutes=minutes, now=T0)


def connected(status: OwnStatus = OwnStatus.ONLINE, minutes: int = 10) -> PresenceManager:
    presence = manager(status, minutes)
    presence.connected(T0)
    return presence


# -- the table: own status -> what contacts see -----------------------------


@pytest.mark.parametrize(
    ("chosen", "seen"),
    [
        (OwnStatus.ONLINE, PresenceStatus.ONLINE),
        (OwnStatus.AWAY, PresenceStatus.AWAY),
        (OwnStatus.BUSY, PresenceStatus.BUSY),
    ],
)
def test_visible_status_is_published_as_chosen(chosen: OwnStatus, seen: PresenceStatus) -> None:
    events = manager(chosen).connected(T0)
    published = [e for e in events if isinstance(e, PublishPresence)]
    assert [p.record.status for p in published] == [seen]
    assert published[0].recipients is None


def test_invisible_is_offline_to_contacts() -> None:
    presence = manager(OwnStatus.INVISIBLE)
    assert presence.effective is PresenceStatus.OFFLINE
    assert not [e for e in presence.connected(T0) if isinstance(e, PublishPresence)]


def test_clean_stop_shows_contacts_offline() -> None:
    presence = connected()
    [event] = presence.stop(T0 + 5)
    assert isinstance(event, RetractPresence)
    assert event.record.status is PresenceStatus.OFFLINE
    assert event.record.text == ""


def test_stop_while_invisible_sends_nothing() -> None:
    assert connected(OwnStatus.INVISIBLE).stop(T0 + 5) == []


def test_status_restored_from_settings_is_kept() -> None:
    presence = PresenceManager(
        status=OwnStatus.BUSY, text="in a meeting", auto_away_minutes=10, now=T0
    )
    assert (presence.status, presence.text, presence.effective) == (
        OwnStatus.BUSY,
        "in a meeting",
        PresenceStatus.BUSY,
    )


def test_set_status_reports_own_change() -> None:
    presence = manager()
    events = presence.set_status(OwnStatus.BUSY, "focus", T0 + 1)
    assert events == [OwnStatusChanged(OwnStatus.BUSY, "focus", PresenceStatus.BUSY, False)]


def test_setting_the_same_status_reports_nothing() -> None:
    assert manager().set_status(OwnStatus.ONLINE, "", T0 + 1) == []


@pytest.mark.parametrize(
    "text", ["x" * 140, "é" * 100, "中" * 66, "😀" * 50], ids=["latin", "2-byte", "cjk", "emoji"]
)
def test_status_text_at_the_limits_is_published(text: str) -> None:
    presence = connected()
    events = presence.set_status(OwnStatus.BUSY, text, T0 + 1)
    assert any(isinstance(e, OwnStatusChanged) for e in events)
    assert presence.text == text


@pytest.mark.parametrize(
    "text",
    ["x" * 141, "é" * 101, "中" * 67, "😀" * 51, "\ud800"],
    ids=["too-long", "2-byte-over", "cjk-over", "emoji-over", "surrogate"],
)
def test_invalid_status_text_is_refused(text: str) -> None:
    presence = manager()
    with pytest.raises(InvalidStatusTextError) as err:
        presence.set_status(OwnStatus.BUSY, text, T0 + 1)
    assert err.value.code == "invalid_status_text"
    assert presence.text == ""


def test_status_text_over_the_byte_limit_names_it() -> None:
    with pytest.raises(InvalidStatusTextError, match="202 bytes of UTF-8, at most 200"):
        manager().set_status(OwnStatus.BUSY, "é" * 101, T0 + 1)


def test_restored_text_stored_before_the_byte_limit_is_cut_to_fit() -> None:
    presence = PresenceManager(status=OwnStatus.ONLINE, text="é" * 140, auto_away_minutes=0, now=T0)
    assert presence.text == "é" * 100


def test_overlong_restored_text_is_refused() -> None:
    with pytest.raises(InvalidStatusTextError):
        PresenceManager(status=OwnStatus.ONLINE, text="x" * 141, auto_away_minutes=0, now=T0)


def test_negative_auto_away_is_refused() -> None:
    with pytest.raises(ValueError, match="auto_away_minutes"):
        manager(minutes=-1)


# -- auto-away --------------------------------------------------------------


def test_online_turns_away_after_idle_minutes() -> None:
    presence = manager(minutes=10)
    events = presence.tick(T0 + 10 * MINUTE)
    assert events == [OwnStatusChanged(OwnStatus.ONLINE, "", PresenceStatus.AWAY, True)]


def test_online_stays_online_before_idle_minutes() -> None:
    presence = manager(minutes=10)
    assert presence.tick(T0 + 10 * MINUTE - 1) == []
    assert presence.effective is PresenceStatus.ONLINE


def test_activity_postpones_auto_away() -> None:
    presence = manager(minutes=10)
    presence.activity(T0 + 5 * MINUTE)
    assert presence.tick(T0 + 10 * MINUTE) == []
    assert presence.next_deadline() == T0 + 15 * MINUTE


def test_activity_restores_online_after_auto_away() -> None:
    presence = manager(minutes=10)
    presence.tick(T0 + 10 * MINUTE)
    events = presence.activity(T0 + 11 * MINUTE)
    assert events == [OwnStatusChanged(OwnStatus.ONLINE, "", PresenceStatus.ONLINE, False)]


def test_auto_away_is_not_persisted_as_the_chosen_status() -> None:
    presence = manager(minutes=10)
    presence.tick(T0 + 10 * MINUTE)
    assert (presence.status, presence.effective, presence.auto_away) == (
        OwnStatus.ONLINE,
        PresenceStatus.AWAY,
        True,
    )


@pytest.mark.parametrize("chosen", [OwnStatus.BUSY, OwnStatus.INVISIBLE, OwnStatus.AWAY])
def test_auto_away_never_overrides_other_statuses(chosen: OwnStatus) -> None:
    presence = manager(chosen, minutes=10)
    assert presence.next_deadline() is None
    assert presence.tick(T0 + 60 * MINUTE) == []
    assert presence.status is chosen


@pytest.mark.parametrize("chosen", [OwnStatus.BUSY, OwnStatus.INVISIBLE, OwnStatus.AWAY])
def test_activity_never_overrides_a_chosen_status(chosen: OwnStatus) -> None:
    presence = manager(chosen, minutes=10)
    assert presence.activity(T0 + 60 * MINUTE) == []
    assert presence.status is chosen


def test_zero_minutes_disables_auto_away() -> None:
    presence = manager(minutes=0)
    assert presence.next_deadline() is None
    assert presence.tick(T0 + 1_000 * MINUTE) == []


def test_disabling_auto_away_ends_it() -> None:
    presence = manager(minutes=10)
    presence.tick(T0 + 10 * MINUTE)
    events = presence.set_auto_away_minutes(0, T0 + 11 * MINUTE)
    assert events == [OwnStatusChanged(OwnStatus.ONLINE, "", PresenceStatus.ONLINE, False)]


def test_changing_auto_away_minutes_moves_the_deadline() -> None:
    presence = manager(minutes=10)
    presence.set_auto_away_minutes(3, T0 + 1)
    assert presence.next_deadline() == T0 + 3 * MINUTE


def test_choosing_a_status_counts_as_activity() -> None:
    presence = manager(OwnStatus.BUSY, minutes=10)
    presence.set_status(OwnStatus.ONLINE, "", T0 + 9 * MINUTE)
    assert presence.tick(T0 + 10 * MINUTE) == []


def test_auto_away_is_published_to_contacts() -> None:
    presence = connected(minutes=10)
    presence.tick(T0 + 10 * MINUTE)
    [event] = presence.tick(T0 + 10 * MINUTE + WINDOW)
    assert isinstance(event, PublishPresence)
    assert event.record.status is PresenceStatus.AWAY


def test_auto_away_keeps_the_status_text() -> None:
    presence = connected(minutes=10)
    presence.set_status(OwnStatus.ONLINE, "back soon", T0)
    presence.tick(T0 + WINDOW)
    presence.tick(T0 + 10 * MINUTE)
    [event] = presence.tick(T0 + 10 * MINUTE + WINDOW)
    assert isinstance(event, PublishPresence)
    assert (event.record.status, event.record.text) == (PresenceStatus.AWAY, "back soon")
