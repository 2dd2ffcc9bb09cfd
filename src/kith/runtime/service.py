"""What the local API can ask of the running node.

Every operation acts on the store (through :class:`kith.direct.DirectBackend`
run on the store's worker thread, so the rules are the same as with no node)
and then on the live presence driver, so changes take effect at once: a new
status is published, a new contact is subscribed, a removed one stops seeing
us, a new ``auto_away_minutes`` applies immediately.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kith.backend import ContactDetails, ImportResult
from kith.backend import OwnStatus as OwnStatusView
from kith.contact_list import ContactEntry
from kith.contacts import canonical_id
from kith.direct import DirectBackend
from kith.models import Contact, IdentityInfo, SettingState
from kith.presence import OwnStatus
from kith.runtime.chat.driver import ChatDriver
from kith.runtime.chat.service import ChatService
from kith.runtime.live import ContactsChangedEvent, EventHub, OwnStatusEvent
from kith.runtime.presence.driver import PresenceDriver
from kith.runtime.requests import ContactRequests
from kith.runtime.store_writer import StoreRunner, StoreWriter
from kith.settings import definition
from kith.store.store import Store

__all__ = ["NodeService"]

T = TypeVar("T")


class NodeService:
    """The node's operations, as the local API exposes them.

    Args:
        store: The node's store (its single worker thread).
        writer: The presence driver's ordered writes (flushed before reads).
        presence: The live presence driver.
        hub: Live events (contact list changes).
        clock: Wall-clock epoch seconds.
        chat: The conversations (messaging endpoints), if the node has them.
        requests: Contact requests (a new contact is sent one), if the node has them.
    """

    def __init__(
        self,
        *,
        store: StoreRunner,
        writer: StoreWriter,
        presence: PresenceDriver,
        hub: EventHub,
        clock: Callable[[], float] = time.time,
        chat: ChatDriver | None = None,
        requests: ContactRequests | None = None,
    ) -> None:
        self._store = store
        self._writer = writer
        self._presence = presence
        self._hub = hub
        self._clock = clock
        self._chat = chat
        self._requests = requests
        self.chat = None if chat is None else ChatService(chat, clock)

    async def _direct(self, action: Callable[[DirectBackend], T]) -> T:
        await self._writer.flush()
        clock = self._clock

        def run(store: Store) -> T:
            return action(DirectBackend(store, clock))

        result: T = await self._store.run(run)
        return result

    def activity(self) -> None:
        """A request from the user arrived (counts against auto-away)."""
        self._presence.activity()

    # -- identity and status ------------------------------------------------

    async def identity(self) -> IdentityInfo:
        """The local identity."""
        return await self._direct(lambda b: b.identity())

    async def set_name(self, name: str) -> IdentityInfo:
        """Change the display name; contacts see it with our next presence record."""
        info = await self._direct(lambda b: b.set_name(name))
        self._presence.set_name(info.name)
        if self._requests is not None:
            self._requests.set_name(info.name)
        return info

    def status(self) -> OwnStatusView:
        """The live own status with the connection state."""
        return self._presence.own_status()

    def status_event(self) -> OwnStatusEvent:
        """The live own status as an event (the start of every event stream)."""
        return self._presence.own_status_event()

    async def set_status(self, status: str, text: str | None) -> OwnStatusView:
        """Choose a status (and text); published at once.

        Raises:
            SettingError: Not a status, or the text is too long or multi-line.
        """
        chosen = OwnStatus(str(definition("user_status").parse(status)))
        checked = None if text is None else str(definition("status_text").parse(text))
        view = self._presence.set_status(chosen, checked)
        await self._writer.flush()
        return view

    # -- contacts -------------------------------------------------------------

    async def contacts(self) -> list[Contact]:
        """All contacts with their live presence."""
        return await self._direct(lambda b: b.contacts())

    async def contact(self, kith_id: str) -> ContactDetails:
        """One contact with the safety number."""
        return await self._direct(lambda b: b.contact(kith_id))

    async def add_contact(self, kith_id: str, name: str | None) -> Contact:
        """Add a contact, subscribe to their presence at once and send them a request."""
        contact = await self._direct(lambda b: b.add_contact(kith_id, name))
        await self._track(contact, "added")
        if self._requests is not None:
            await self._requests.introduce(contact)
        return contact

    async def _track(self, contact: Contact, change: str) -> None:
        self._presence.add_contact(contact)
        if self._chat is not None:
            await self._chat.add_contact(contact)
        self._hub.publish(ContactsChangedEvent(contact.kith_id, change))

    async def _untrack(self, kith_id: str, change: str) -> None:
        self._presence.remove_contact(kith_id)
        if self._chat is not None:
            await self._chat.remove_contact(kith_id)
        self._hub.publish(ContactsChangedEvent(kith_id, change))

    # -- contact requests -----------------------------------------------------

    async def requests(self) -> list[dict[str, Any]]:
        """The contact requests waiting, with each pair's safety number."""
        return await self._direct(lambda b: b.requests())

    async def accept_request(self, kith_id: str) -> Contact:
        """Accept a request: the sender becomes a contact and presence flows both ways."""
        contact = await self._direct(lambda b: b.accept_request(kith_id))
        await self._track(contact, "accepted")
        return contact

    async def decline_request(self, kith_id: str) -> None:
        """Forget a request; the sender learns nothing."""
        canonical, _ = canonical_id(kith_id)
        await self._direct(lambda b: b.decline_request(canonical))
        self._hub.publish(ContactsChangedEvent(canonical, "declined"))

    async def block(self, kith_id: str) -> None:
        """Block an ID: its request goes, later ones are dropped unseen; a contact is removed."""
        canonical, _ = canonical_id(kith_id)
        was_contact = canonical in self._presence.contact_ids()
        await self._direct(lambda b: b.block(canonical))
        if was_contact:
            await self._untrack(canonical, "blocked")
        else:
            self._hub.publish(ContactsChangedEvent(canonical, "blocked"))

    async def unblock(self, kith_id: str) -> None:
        """Unblock an ID: its requests are received again."""
        canonical, _ = canonical_id(kith_id)
        await self._direct(lambda b: b.unblock(canonical))
        self._hub.publish(ContactsChangedEvent(canonical, "unblocked"))

    async def import_contacts(self, entries: Sequence[ContactEntry]) -> ImportResult:
        """Import a contact list (one transaction), then subscribe to all new ones at once."""
        result = await self._direct(lambda b: b.import_contacts(entries))
        if not result.added:
            return result
        self._presence.add_contacts(result.added)
        if self._chat is not None:
            await self._chat.add_contacts(result.added)
        # one event for the whole list: a page reloads its contact list once,
        # and a large import cannot overflow an event stream's queue
        self._hub.publish(ContactsChangedEvent("", "imported"))
        return result

    async def remove_contact(self, kith_id: str) -> None:
        """Remove a contact: they see us go offline and learn nothing more."""
        canonical, _ = canonical_id(kith_id)
        await self._direct(lambda b: b.remove_contact(canonical))
        await self._untrack(canonical, "removed")

    async def rename_contact(self, kith_id: str, name: str | None) -> Contact:
        """Set or clear a nickname."""
        contact = await self._direct(lambda b: b.rename_contact(kith_id, name))
        self._hub.publish(ContactsChangedEvent(contact.kith_id, "renamed"))
        return contact

    async def verify_contact(self, kith_id: str, verified: bool) -> Contact:
        """Mark the safety number as compared (or not)."""
        contact = await self._direct(lambda b: b.verify_contact(kith_id, verified))
        self._hub.publish(ContactsChangedEvent(contact.kith_id, "verified"))
        return contact

    # -- settings -------------------------------------------------------------

    async def settings(self) -> list[SettingState]:
        """Every setting."""
        return await self._direct(lambda b: b.settings())

    async def get_setting(self, key: str) -> SettingState:
        """One setting."""
        return await self._direct(lambda b: b.get_setting(key))

    async def set_setting(self, key: str, text: str) -> SettingState:
        """Set a setting from user text; presence settings apply live."""
        state = await self._direct(lambda b: b.set_setting(key, text))
        self._apply_setting(state)
        return state

    async def reset_setting(self, key: str) -> SettingState:
        """Return a setting to its default; presence settings apply live."""
        state = await self._direct(lambda b: b.reset_setting(key))
        self._apply_setting(state)
        return state

    def _apply_setting(self, state: SettingState) -> None:
        value = state.value
        if state.key == "user_status":
            self._presence.set_status(OwnStatus(str(value)), None)
        elif state.key == "status_text":
            self._presence.set_status(OwnStatus(self._presence.own_status().status), str(value))
        elif state.key == "auto_away_minutes" and isinstance(value, int):
            self._presence.set_auto_away_minutes(value)
        elif state.key == "read_receipts" and self._chat is not None:
            self._chat.set_read_receipts(value is True)
