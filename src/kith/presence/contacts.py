"""The contacts' presence map: what we know of each contact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from kith.presence.model import ContactPresence, ContactPresenceChanged, PresenceStatus
from kith_proto.pair import PresenceRecord

__all__ = ["ContactPresenceMap"]

_OFFLINE = ContactPresence()


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

    def apply_record(
        self, contact_id: str, record: PresenceRecord, now: float
    ) -> list[ContactPresenceChanged]:
        """Apply a contact's decrypted presence record received at ``now``."""
        if record.status is PresenceStatus.OFFLINE:
            return self._set(contact_id, PresenceStatus.OFFLINE, "", now)
        return self._set(contact_id, record.status, record.text, now)

    def gone(self, contact_id: str, now: float) -> list[ContactPresenceChanged]:
        """The contact's topic went away: they are offline, last seen ``now``."""
        return self._set(contact_id, PresenceStatus.OFFLINE, "", now)

    def all_offline(self, now: float) -> list[ContactPresenceChanged]:
        """Mark every contact offline (we lost the server)."""
        events: list[ContactPresenceChanged] = []
        for contact_id in list(self._known):
            events += self.gone(contact_id, now)
        return events

    def _set(
        self, contact_id: str, status: PresenceStatus, text: str, now: float
    ) -> list[ContactPresenceChanged]:
        old = self._known.get(contact_id)
        if old is None:
            return []
        was_online = old.status is not PresenceStatus.OFFLINE
        is_online = status is not PresenceStatus.OFFLINE
        last_seen = now if (was_online or is_online) else old.last_seen
        self._known[contact_id] = ContactPresence(status, text, last_seen)
        if (old.status, old.text) == (status, text):
            return []
        # A change always has an online side, so ``last_seen`` is ``now``.
        return [ContactPresenceChanged(contact_id, status, text, now)]
