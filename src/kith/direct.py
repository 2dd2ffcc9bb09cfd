"""The backend that acts directly on the database (no node running)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from kith.backend import ContactDetails, ImportResult, OwnStatus
from kith.contact_list import CheckedEntry, ContactEntry, check_entries
from kith.contact_requests import (
    accept_request,
    block_id,
    decline_request,
    listed_requests,
    unblock_id,
)
from kith.contacts import canonical_id, clean_display_name, clean_name, new_contact_id
from kith.conversation_store import ChatMessage
from kith.direct_messages import DirectMessages
from kith.models import Contact, IdentityInfo, SettingState
from kith.safety import safety_number
from kith.settings import definition
from kith.store.store import Store

__all__ = ["DirectBackend"]


class DirectBackend:
    """Implements :class:`kith.backend.Backend` over an open :class:`Store`."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def identity(self) -> IdentityInfo:
        return self._store.call(lambda s: s.identity.info())

    def set_name(self, name: str) -> IdentityInfo:
        cleaned = clean_display_name(name)
        return self._store.call(lambda s: s.identity.set_name(cleaned))

    def status(self) -> OwnStatus:
        def read(s: Store) -> OwnStatus:
            return OwnStatus.stored(
                str(s.settings.get("user_status")), str(s.settings.get("status_text"))
            )

        return self._store.call(read)

    def set_status(self, status: str, text: str | None = None) -> OwnStatus:
        value = definition("user_status").parse(status)
        checked = None if text is None else definition("status_text").parse(text)

        def write(s: Store) -> None:
            with s.transaction():
                s.settings.set("user_status", value, self._clock())
                if checked is not None:
                    s.settings.set("status_text", checked, self._clock())

        self._store.call(write)
        return self.status()

    def contacts(self) -> list[Contact]:
        return self._store.call(lambda s: s.contacts.list())

    def contact(self, kith_id: str) -> ContactDetails:
        canonical, _ = canonical_id(kith_id)

        def read(s: Store) -> ContactDetails:
            contact = s.contacts.get(canonical)
            own = s.identity.info().public_key
            return ContactDetails(contact, safety_number(own, contact.public_key))

        return self._store.call(read)

    def add_contact(self, kith_id: str, name: str | None = None) -> Contact:
        nick = None if name is None else clean_name(name, "nickname")

        def add(s: Store) -> Contact:
            canonical, public_key = new_contact_id(kith_id, s.identity.info().kith_id)
            with s.transaction():
                s.requests.remove(canonical)  # adding answers their request
                return s.contacts.add(canonical, public_key, nick, self._clock())

        return self._store.call(add)

    def import_contacts(self, entries: Sequence[ContactEntry]) -> ImportResult:
        def run(s: Store) -> ImportResult:
            checked = check_entries(entries, s.identity.info().kith_id)
            with s.transaction():
                return _add_new(s, checked, self._clock())

        return self._store.call(run)

    def remove_contact(self, kith_id: str) -> None:
        canonical, _ = canonical_id(kith_id)
        self._store.call(lambda s: s.contacts.remove(canonical))

    def rename_contact(self, kith_id: str, name: str | None) -> Contact:
        canonical, _ = canonical_id(kith_id)
        nick = None if name is None else clean_name(name, "nickname")
        return self._store.call(lambda s: s.contacts.rename(canonical, nick))

    def verify_contact(self, kith_id: str, verified: bool = True) -> Contact:
        canonical, _ = canonical_id(kith_id)
        return self._store.call(lambda s: s.contacts.set_verified(canonical, verified))

    def requests(self) -> list[dict[str, Any]]:
        return self._store.call(listed_requests)

    def accept_request(self, kith_id: str) -> Contact:
        return self._store.call(lambda s: accept_request(s, kith_id, self._clock()))

    def decline_request(self, kith_id: str) -> None:
        self._store.call(lambda s: decline_request(s, kith_id))

    def block(self, kith_id: str) -> None:
        self._store.call(lambda s: block_id(s, kith_id, self._clock()))

    def unblock(self, kith_id: str) -> None:
        self._store.call(lambda s: unblock_id(s, kith_id))

    def settings(self) -> list[SettingState]:
        return self._store.call(lambda s: s.settings.all())

    def get_setting(self, key: str) -> SettingState:
        definition(key)
        return self._store.call(lambda s: s.settings.state(key))

    def set_setting(self, key: str, text: str) -> SettingState:
        value = definition(key).parse(text)
        return self._store.call(lambda s: s.settings.set(key, value, self._clock()))

    def reset_setting(self, key: str) -> SettingState:
        definition(key)
        return self._store.call(lambda s: s.settings.reset(key))

    # -- messages: queued in the database; a node sends them when it runs ------

    def _messages(self) -> DirectMessages:
        return DirectMessages(self._store, self._clock)

    def send_message(self, contact: str, text: str, reply_to: str | None = None) -> ChatMessage:
        return self._messages().send(contact, text, reply_to)

    def messages(self, contact: str, limit: int, before: str | None = None) -> list[ChatMessage]:
        return self._messages().page(contact, limit, before)

    def edit_message(self, message_id: str, text: str) -> ChatMessage:
        return self._messages().edit(message_id, text)

    def delete_message(self, message_id: str) -> None:
        self._messages().delete(message_id)

    def react(self, message_id: str, emoji: str, add: bool = True) -> ChatMessage:
        return self._messages().react(message_id, emoji, add)

    def search(self, text: str, limit: int = 50) -> list[ChatMessage]:
        from kith.history_search import search_history

        own_id = self.identity().kith_id
        return self._store.call(lambda s: search_history(s, own_id, text, limit))

    def close(self) -> None:
        self._store.close()


def _add_new(store: Store, entries: Sequence[CheckedEntry], now: float) -> ImportResult:
    """Add the entries that are not contacts yet (inside the caller's transaction).

    An entry whose contact exists, or that repeats an earlier entry, is skipped
    and counted; the first entry of a repeated ID gives its name.
    """
    known = {c.kith_id for c in store.contacts.list()}
    added = []
    for entry in entries:
        if entry.kith_id in known:
            continue
        known.add(entry.kith_id)
        added.append(store.contacts.add(entry.kith_id, entry.public_key, entry.name, now))
    return ImportResult(tuple(added), len(entries) - len(added))
