"""The presence manager: one node's presence, as a pure state machine.

It owns the user's chosen status and text, auto-away, the effective status
contacts see, the connection state and the contacts' presence map. Every
method takes ``now`` (wall-clock seconds since the Unix epoch, a float) and
returns the events the caller must act on; nothing here does I/O or reads a
clock.

Driving it: call :meth:`PresenceManager.tick` at :meth:`next_deadline` (and
again whenever a method call may have moved it), :meth:`activity` on local
user activity, and the connection and contact methods as the signaling client
reports them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Final, TypeAlias

from kith.presence.coalescer import COALESCE_WINDOW, Coalescer, Desired
from kith.presence.contacts import ContactPresenceMap
from kith.presence.model import (
    ConnectionChanged,
    ConnectionState,
    ContactPresence,
    OwnStatus,
    OwnStatusChanged,
    PresenceEvent,
    PresenceStatus,
    PublishPresence,
    check_status_text,
    fit_stored_status_text,
)
from kith.presence.own_status import OwnStatusMachine
from kith_proto.pair import PresenceRecord

__all__ = ["PresenceManager"]

_Change: TypeAlias = Callable[[], None]


class _Link(enum.Enum):
    CONNECT = enum.auto()
    DISCONNECT = enum.auto()


_CONNECTION: Final[Mapping[tuple[ConnectionState, _Link], ConnectionState]] = {
    (ConnectionState.DISCONNECTED, _Link.CONNECT): ConnectionState.CONNECTED,
    (ConnectionState.CONNECTED, _Link.DISCONNECT): ConnectionState.DISCONNECTED,
}
"""Connection transitions; unlisted pairs are repeats and change nothing."""


class PresenceManager:
    """Own status, auto-away, connection state and contacts' presence.

    The manager starts disconnected, with every contact offline.

    Args:
        status: The chosen status restored from settings (``user_status``).
        text: The status text restored from settings (``status_text``); one
            stored before the 200-byte limit existed is cut to fit it.
        auto_away_minutes: Idle minutes before online becomes away; 0 disables.
        now: Current time, epoch seconds; counts as the last user activity.
        contacts: Kith IDs of the current contacts.
        last_seq: The last presence sequence number used, if persisted.
        coalesce_window: Seconds a change waits so that bursts publish once.

    Raises:
        InvalidStatusTextError: ``text`` is too long.
        ValueError: ``auto_away_minutes`` is negative.
    """

    def __init__(
        self,
        *,
        status: OwnStatus,
        text: str,
        auto_away_minutes: int,
        now: float,
        contacts: Iterable[str] = (),
        last_seq: int = 0,
        coalesce_window: float = COALESCE_WINDOW,
    ) -> None:
        _check_minutes(auto_away_minutes)
        restored = check_status_text(fit_stored_status_text(text))
        self._own = OwnStatusMachine(status, restored, auto_away_minutes, now)
        self._contacts = ContactPresenceMap(contacts)
        self._out = Coalescer(coalesce_window, last_seq)
        self._connection = ConnectionState.DISCONNECTED

    # -- snapshot -----------------------------------------------------------

    @property
    def status(self) -> OwnStatus:
        """The chosen status."""
        return self._own.chosen

    @property
    def text(self) -> str:
        """The status text."""
        return self._own.text

    @property
    def effective(self) -> PresenceStatus:
        """What contacts see (regardless of the connection)."""
        return self._own.effective

    @property
    def auto_away(self) -> bool:
        """Whether auto-away is in force."""
        return self._own.auto_away

    @property
    def connection(self) -> ConnectionState:
        """Whether the node is connected to the signaling server."""
        return self._connection

    @property
    def last_seq(self) -> int:
        """The last sequence number used; persist it to survive clock jumps."""
        return self._out.last_seq

    @property
    def contacts(self) -> Mapping[str, ContactPresence]:
        """Read-only live view of the contacts' presence, keyed by Kith ID."""
        return self._contacts.view

    def next_deadline(self) -> float | None:
        """When :meth:`tick` must next be called (epoch seconds), or None."""
        times = [self._own.idle_deadline(), self._out.deadline]
        return min((t for t in times if t is not None), default=None)

    # -- own status ---------------------------------------------------------

    def set_status(self, status: OwnStatus, text: str, now: float) -> list[PresenceEvent]:
        """The user chose a status and text; also counts as activity.

        Raises:
            InvalidStatusTextError: ``text`` is too long or not valid Unicode.
        """
        check_status_text(text)
        return self._own_change(lambda: self._own.choose(status, text, now), now)

    def set_auto_away_minutes(self, minutes: int, now: float) -> list[PresenceEvent]:
        """Change the auto-away delay; 0 disables it and ends auto-away.

        Raises:
            ValueError: ``minutes`` is negative.
        """
        _check_minutes(minutes)
        return self._own_change(lambda: self._own.set_auto_away_minutes(minutes), now)

    def activity(self, now: float) -> list[PresenceEvent]:
        """The user did something (UI, CLI, OS input); ends auto-away."""
        if not self._own.auto_away:  # the common case (every API request): the deadline moves
            self._own.activity(now)
            return []
        return self._own_change(lambda: self._own.activity(now), now)

    def tick(self, now: float) -> list[PresenceEvent]:
        """Start auto-away when due, then publish a coalesced change when due."""
        events = self._own_change(lambda: self._own.tick(now), now)
        if self._out.due(now):
            events += self._out.flush(self._desired(), now)
        return events

    def stop(self, now: float) -> list[PresenceEvent]:
        """The node is shutting down cleanly: appear offline first."""
        return list(self._out.flush(None, now))

    # -- connection ---------------------------------------------------------

    def connected(self, now: float) -> list[PresenceEvent]:
        """The signaling client is connected and authenticated: publish at once."""
        if not self._move(_Link.CONNECT):
            return []
        events: list[PresenceEvent] = [ConnectionChanged(self._connection)]
        return events + self._out.flush(self._desired(), now)

    def disconnected(self, now: float) -> list[PresenceEvent]:
        """The connection is lost: every contact is offline, last seen ``now``."""
        if not self._move(_Link.DISCONNECT):
            return []
        self._out.forget()
        events: list[PresenceEvent] = [ConnectionChanged(self._connection)]
        return events + self._contacts.all_offline(now)

    # -- contacts -----------------------------------------------------------

    def contact_record(
        self, contact_id: str, record: PresenceRecord, now: float
    ) -> list[PresenceEvent]:
        """A contact's record, already opened and replay-checked, arrived."""
        if self._connection is ConnectionState.DISCONNECTED:
            return []
        return list(self._contacts.apply_record(contact_id, record, now))

    def contact_gone(self, contact_id: str, now: float) -> list[PresenceEvent]:
        """The server reported a contact's topic gone: offline, last seen ``now``."""
        if self._connection is ConnectionState.DISCONNECTED:
            return []
        return list(self._contacts.gone(contact_id, now))

    def contact_added(self, contact_id: str, now: float) -> list[PresenceEvent]:
        """A new contact: they start offline and get our current record."""
        current = self._out.current
        if not self._contacts.add(contact_id) or current is None:
            return []
        return [PublishPresence(current, (contact_id,))]

    def contact_removed(self, contact_id: str, now: float) -> list[PresenceEvent]:
        """A contact was removed: they see us go offline and learn no more."""
        if not self._contacts.remove(contact_id):
            return []
        return list(self._out.retract_from(contact_id, now))

    # -- internals ----------------------------------------------------------

    def _desired(self) -> Desired:
        if self._own.effective is PresenceStatus.OFFLINE:
            return None
        return (self._own.effective, self._own.text)

    def _snapshot(self) -> OwnStatusChanged:
        own = self._own
        return OwnStatusChanged(own.chosen, own.text, own.effective, own.auto_away)

    def _own_change(self, change: _Change, now: float) -> list[PresenceEvent]:
        before, desired = self._snapshot(), self._desired()
        change()
        after = self._snapshot()
        if self._desired() != desired and self._connection is ConnectionState.CONNECTED:
            self._out.request(now)
        return [after] if after != before else []

    def _move(self, link: _Link) -> bool:
        new = _CONNECTION.get((self._connection, link))
        if new is None:
            return False
        self._connection = new
        return True


def _check_minutes(minutes: int) -> None:
    if minutes < 0:
        raise ValueError("auto_away_minutes must be 0 (off) or more")
