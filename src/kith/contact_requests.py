"""The rules of contact requests, on an open store (shared by the node and the CLI).

A request arrives sealed in an ``intro`` (``kith_proto.intro``); once opened
it is kept here until the user accepts it (the sender becomes a contact, so
presence flows both ways), declines it (it is forgotten) or blocks the
sender (later requests from them are dropped unseen). Requests from
contacts, from ourselves and from blocked IDs are never stored, and at most
``MAX_REQUESTS`` wait at once.
"""

from __future__ import annotations

from typing import Final

from kith.contacts import canonical_id, usable_key
from kith.errors import ContactError
from kith.models import Contact, ContactRequest
from kith.safety import safety_number
from kith.store.store import Store
from kith_proto.ids import format_id

__all__ = [
    "MAX_REQUESTS",
    "accept_request",
    "block_id",
    "decline_request",
    "listed_requests",
    "receive_request",
    "shown_name",
]

MAX_REQUESTS: Final = 200
"""How many unanswered requests a node keeps; more are refused until some are answered."""


def shown_name(name: str) -> str:
    """A sender-chosen name as it may be shown: printable, trimmed ('' if not)."""
    trimmed = name.strip()
    return trimmed if trimmed.isprintable() else ""


def receive_request(store: Store, sender: bytes, name: str, now: float) -> ContactRequest | None:
    """Keep an authentic request; return it when the user should hear of it.

    Returns None (and stores nothing) for a request from a contact, from
    ourselves, from a blocked ID or from an unusable key. A repeated request
    refreshes the stored one and is returned again.

    Raises:
        ContactError: ``too_many_requests`` when ``MAX_REQUESTS`` already wait.
    """
    kith_id = format_id(sender)
    ignored = (
        kith_id == store.identity.info().kith_id
        or store.blocked.contains(kith_id)
        or store.contacts.find(kith_id) is not None
        or not usable_key(sender)
    )
    if ignored:
        return None
    if store.requests.find(kith_id) is None and store.requests.count() >= MAX_REQUESTS:
        raise ContactError(
            f"{MAX_REQUESTS} contact requests already wait: answer some first",
            code="too_many_requests",
        )
    store.requests.put(kith_id, sender, shown_name(name), now)
    return store.requests.find(kith_id)


def listed_requests(store: Store) -> list[dict[str, object]]:
    """Every waiting request as ``kith contacts requests --json`` prints it."""
    own = store.identity.info().public_key
    return [r.to_json(safety_number(own, r.public_key)) for r in store.requests.list()]


def _waiting(store: Store, text: str) -> ContactRequest:
    kith_id, _ = canonical_id(text)
    request = store.requests.find(kith_id)
    if request is None:
        raise ContactError(f"no contact request from {kith_id} waits", code="unknown_request")
    return request


def accept_request(store: Store, text: str, now: float) -> Contact:
    """Make the sender a contact (keeping the name they chose) and forget the request.

    Raises:
        ContactError: ``malformed_id``/``id_checksum``, or ``unknown_request``.
    """
    with store.transaction():
        request = _waiting(store, text)
        store.contacts.add(request.kith_id, request.public_key, None, now)
        store.contacts.set_own_name(request.kith_id, request.name)
        store.requests.remove(request.kith_id)
        return store.contacts.get(request.kith_id)


def decline_request(store: Store, text: str) -> str:
    """Forget a request; the sender is not told. Returns the sender's ID.

    Raises:
        ContactError: ``malformed_id``/``id_checksum``, or ``unknown_request``.
    """
    request = _waiting(store, text)
    store.requests.remove(request.kith_id)
    return request.kith_id


def block_id(store: Store, text: str, now: float) -> tuple[str, bool]:
    """Block an ID: its waiting request and, if it is one, the contact go.

    Returns the canonical ID and whether it was a contact (the node then
    stops presence with it).

    Raises:
        ContactError: ``malformed_id``/``id_checksum``.
    """
    kith_id, _ = canonical_id(text)
    with store.transaction():
        store.blocked.add(kith_id, now)
        store.requests.remove(kith_id)
        was_contact = store.contacts.find(kith_id) is not None
        if was_contact:
            store.contacts.remove(kith_id)
    return kith_id, was_contact


def unblock_id(store: Store, text: str) -> str:
    """Unblock an ID: its requests are received again. Returns the canonical ID.

    Raises:
        ContactError: ``malformed_id``/``id_checksum``, or ``not_blocked``.
    """
    kith_id, _ = canonical_id(text)
    if not store.blocked.remove(kith_id):
        raise ContactError(f"{kith_id} is not blocked", code="not_blocked")
    return kith_id
