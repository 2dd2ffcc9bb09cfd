"""The contact-request driver: sends our requests and receives others'.

Adding a contact sends them a sealed request (``kith_proto.intro``) through
the signaling server's rate-limited ``intro``; the server answers every
intro the same way, so the sender learns nothing until the recipient
accepts (then presence flows both ways). Requests arriving on our intro
topic are opened here; authentic ones go to the store's rules
(:mod:`kith.contact_requests`) and, when the user should hear of them, out
as a live ``contacts`` event with ``change: "request"``. Anything that
cannot be opened is logged by its code and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final, Protocol

from kith.contact_requests import receive_request
from kith.contacts import contact_label
from kith.errors import ContactError
from kith.models import Contact, ContactRequest
from kith.runtime.live import ContactsChangedEvent
from kith.runtime.store_writer import StoreRunner
from kith.signaling.errors import SignalingError
from kith.store.store import Store
from kith_proto.intro import IntroError, open_intro, seal_intro
from kith_proto.keys import IdentityKeys
from kith_proto.pair import intro_topic

__all__ = ["INTROS_PER_CONNECT", "ContactRequests", "IntroSender", "LiveSink"]

INTROS_PER_CONNECT: Final = 5
"""Requests re-sent on each connection to contacts never seen yet (the server's burst)."""

INTRO_TIMEOUT: Final = 5.0


class IntroSender(Protocol):
    """What the driver needs of the signaling client."""

    async def intro(self, topic: bytes, payload: bytes, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send ``payload`` to the intro ``topic`` (always acknowledged alike)."""
        ...


class LiveSink(Protocol):
    """Where the UI hears of a request (the event hub)."""

    def publish(self, event: ContactsChangedEvent) -> None:
        """Deliver ``event`` to every open page."""
        ...


class ContactRequests:
    """Sends and receives contact requests.

    Args:
        keys: Our identity keys (requests are signed with them and opened with them).
        name: Our display name as it goes out in requests.
        store: The node's store (its worker thread).
        signaling: The signaling client (``intro``).
        hub: Live events for the UI.
        clock: Wall-clock epoch seconds.
        log: Where dropped requests are noted (by code, never their content).
    """

    def __init__(
        self,
        *,
        keys: IdentityKeys,
        name: str,
        store: StoreRunner,
        signaling: IntroSender,
        hub: LiveSink,
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self._keys = keys
        self._name = name
        self._store = store
        self._signaling = signaling
        self._hub = hub
        self._clock = clock
        self._log = log
        self._topic = intro_topic(keys.public_key).raw
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def topic(self) -> bytes:
        """Our intro topic (always subscribed)."""
        return self._topic

    def set_name(self, name: str) -> None:
        """Our display name changed: later requests carry the new one."""
        self._name = name

    # -- sending ----------------------------------------------------------

    async def introduce(self, contact: Contact) -> bool:
        """Send ``contact`` our request; return whether the server took it.

        A failure (not connected, rate limited) is logged; the request is
        sent again on a later connection while the contact was never seen.
        """
        payload = seal_intro(self._keys, contact.public_key, self._name, self._now_ms())
        topic = intro_topic(contact.public_key).raw
        try:
            await self._signaling.intro(topic, payload, timeout=INTRO_TIMEOUT)
        except (SignalingError, TimeoutError) as exc:
            label = contact_label(contact.kith_id)
            self._log.info("contact request to %s not sent yet: %s", label, exc)
            return False
        return True

    def connected(self) -> None:
        """Connected: re-send our request to the contacts never seen yet."""
        self._spawn(self._reintroduce())

    async def _reintroduce(self) -> None:
        unseen = await self._store.run(_never_seen)
        for contact in unseen[:INTROS_PER_CONNECT]:
            if not await self.introduce(contact):
                return

    # -- receiving --------------------------------------------------------

    def intro_message(self, topic: bytes, payload: bytes) -> None:
        """An intro arrived on our topic: open it, then keep it (in the background)."""
        if topic != self._topic:
            return
        try:
            request = open_intro(self._keys, payload)
        except IntroError as exc:
            self._log.warning("dropped a contact request: %s (%s)", exc, exc.code)
            return
        self._spawn(self._receive(request.sender, request.name))

    async def _receive(self, sender: bytes, name: str) -> None:
        now = self._clock()

        def keep(store: Store) -> ContactRequest | None:
            return receive_request(store, sender, name, now)

        try:
            kept = await self._store.run(keep)
        except ContactError as exc:
            self._log.warning("dropped a contact request: %s (%s)", exc, exc.code)
            return
        if kept is not None:
            self._hub.publish(ContactsChangedEvent(kept.kith_id, "request"))

    # -- lifecycle --------------------------------------------------------

    async def drain(self) -> None:
        """Wait for the requests being stored and sent (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        """Cancel what is still in flight."""
        for task in list(self._tasks):
            task.cancel()
        await self.drain()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("contact request work failed: %r", task.exception())

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)


def _never_seen(store: Store) -> list[Contact]:
    """Contacts whose presence never arrived, the most recently added first."""
    unseen = [c for c in store.contacts.list() if c.last_seen is None]
    return sorted(unseen, key=lambda c: c.added_at, reverse=True)
