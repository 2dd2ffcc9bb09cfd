"""The contacts' presence map: what we know of each contact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TypeAlias

from kith.presence.model import (
    ContactPresence,
    ContactPresenceChanged,
    MessagesWaiting,
    PresenceStatus,
)
from kith_proto.pair import PresenceRecord

__all__ = ["ContactPresenceMap"]

_OFFLINE = ContactPresence()

Change: TypeAlias = ContactPresenceChanged | MessagesWaiting
"""What a change to one contact's presence reports."""


class ContactPresenceMap:
    """Contacts' presence, keyed by Kith ID; every method returns change events.

    A change event is returned only when a contact's status or text changes.
    Unknown contacts are ignored.

    Args:
        contacts: The Kith IDs of the current contacts; all start offline.
    """

    def __init__(self, contacts: Iterable[str] = ()) -> None:
        self._known: dict[str, ContactPresence] = dict.fromkeys(contacts, _OFFLINE)

    @property
    def view(self) -> Mapping[str, ContactPresence]:
        """A read-only live view of the map."""
        return MappingProxyType(self._known)

    def add(self, contact_id: str) -> bool:
        """Start tracking a contact (offline); False if already tracked."""
        if contact_id in self._known:
            return False
        self._known[contact_id] = _OFFLINE
        return True

    def remove(self, contact_id: str) -> bool:
        """Stop tracking a contact; False if it was not tracked."""
        return self._known.pop(contact_id, None) is not None

    def apply_record(self, contact_id: str, record: PresenceRecord, now: float) -> list[Change]:
        """Apply a contact's decrypted presence record received at ``now``."""
        waiting = record.has_messages
        if record.status is PresenceStatus.OFFLINE:
            return self._set(contact_id, ContactPresence(text="", waiting=waiting), now)
        return self._set(
            contact_id, ContactPresence(record.status, record.text, None, waiting), now
        )

    def gone(self, contact_id: str, now: float) -> list[Change]:
        """The contact's topic went away: they are offline, last seen ``now``."""
        return self._set(contact_id, _OFFLINE, now)

    def all_offline(self, now: float) -> list[Change]:
        """Mark every contact offline (we lost the server)."""
        events: list[Change] = []
        for contact_id in list(self._known):
            events += self.gone(contact_id, now)
        return events

    def _set(self, contact_id: str, new: ContactPresence, now: float) -> list[Change]:
        """Store ``new`` (its ``last_seen`` is computed here) and report what changed."""
        old = self._known.get(contact_id)
        if old is None:
            return []
        was_online = old.status is not PresenceStatus.OFFLINE
        is_online = new.status is not PresenceStatus.OFFLINE
        last_seen = now if (was_online or is_online) else old.last_seen
        self._known[contact_id] = ContactPresence(new.status, new.text, last_seen, new.waiting)
        events: list[Change] = []
        if (old.status, old.text) != (new.status, new.text):
            # A change always has an online side, so ``last_seen`` is ``now``.
            events.append(ContactPresenceChanged(contact_id, new.status, new.text, now))
        if old.waiting != new.waiting:
            events.append(MessagesWaiting(contact_id, new.waiting))
        return events
