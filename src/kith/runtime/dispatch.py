"""Typed events between the node's components, and the one place that routes them.

Presence and chat need to hear from each other, in both directions:

- the presence side is the only one that opens a contact's presence record;
  it emits what it learnt (:class:`~kith.presence.ContactPresenceChanged`,
  :class:`~kith.presence.MessagesWaiting`), what the user chose
  (:class:`~kith.presence.OwnStatusChanged`) and the connection state
  (:class:`~kith.presence.ConnectionChanged`);
- the chat side emits :class:`MessagesQueued` when messages start or stop
  waiting for a contact it cannot reach, which the presence side seals into
  the record that contact reads (``has_messages``).

Neither holds the other. Both are built with the :class:`EventBus` (built
first), and the :class:`Dispatcher`, built last with both, delivers each
event to the component that consumes it, in the order emitted, on the next
turn of the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from kith.presence import (
    ConnectionChanged,
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatusChanged,
)

__all__ = [
    "ChatPresencePort",
    "Dispatcher",
    "EventBus",
    "EventSink",
    "MessagesQueued",
    "PresenceFlagPort",
    "PresenceNews",
    "RuntimeEvent",
]


@dataclass(frozen=True, slots=True)
class MessagesQueued:
    """Messages started or stopped waiting for a contact we cannot reach.

    Attributes:
        contact_id: The contact's Kith ID.
        queued: Whether something waits (sealed as ``has_messages`` for them).
    """

    contact_id: str
    queued: bool


PresenceNews: TypeAlias = (
    ContactPresenceChanged | MessagesWaiting | OwnStatusChanged | ConnectionChanged
)
"""What the presence side tells the rest of the node."""

RuntimeEvent: TypeAlias = PresenceNews | MessagesQueued
"""Every event that crosses from one component to another."""


class EventSink(Protocol):
    """Where a component emits its events (the :class:`EventBus`)."""

    def emit(self, event: RuntimeEvent) -> None:
        """Queue ``event`` for delivery."""
        ...


class ChatPresencePort(Protocol):
    """What the chat side consumes from presence."""

    def presence_changed(self, event: PresenceNews) -> None:
        """A contact's presence, our own status or the connection changed."""
        ...


class PresenceFlagPort(Protocol):
    """What the presence side consumes from chat."""

    def set_messages_queued(self, contact_id: str, queued: bool) -> None:
        """Seal ``has_messages`` for ``contact_id`` from now on (or stop)."""
        ...


class EventBus:
    """A FIFO of runtime events; never blocks the component that emits."""

    def __init__(self) -> None:
        self._queue: deque[RuntimeEvent] = deque()
        self._ready = asyncio.Event()

    def emit(self, event: RuntimeEvent) -> None:
        """Queue ``event`` (the :class:`EventSink` port)."""
        self._queue.append(event)
        self._ready.set()

    def take(self) -> list[RuntimeEvent]:
        """Everything queued so far, oldest first."""
        events = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        return events

    async def wait(self) -> None:
        """Return once something is queued."""
        await self._ready.wait()


class Dispatcher:
    """Delivers each runtime event to the component that consumes it.

    Args:
        bus: Where the components emit.
        presence: Consumes :class:`MessagesQueued`.
        chat: Consumes presence news.
        log: Where a failure to handle one event goes (a bug: logged with its
            traceback; the events after it are still delivered).
    """

    def __init__(
        self,
        bus: EventBus,
        presence: PresenceFlagPort,
        chat: ChatPresencePort,
        log: logging.Logger,
    ) -> None:
        self._bus = bus
        self._presence = presence
        self._chat = chat
        self._log = log

    def route(self, event: RuntimeEvent) -> None:
        """Deliver one event."""
        try:
            self._deliver(event)
        except Exception:
            self._log.exception("could not handle %s", type(event).__name__)

    def _deliver(self, event: RuntimeEvent) -> None:
        match event:
            case MessagesQueued(contact_id=contact_id, queued=queued):
                self._presence.set_messages_queued(contact_id, queued)
            case _:
                self._chat.presence_changed(event)

    def route_pending(self) -> None:
        """Deliver everything queued so far (events emitted meanwhile wait)."""
        for event in self._bus.take():
            self.route(event)

    async def run(self) -> None:
        """Deliver events as they are emitted, until cancelled."""
        while True:
            await self._bus.wait()
            self.route_pending()
