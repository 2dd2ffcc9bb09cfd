"""Live node events for the local API's WebSocket (and later the UI).

The presence and chat drivers publish typed live events to an :class:`EventHub`; each
WebSocket holds one :class:`Subscription`. A subscriber that falls too far
behind is dropped rather than slowing the node down.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from kith.runtime.calls.events import CallEvent, CallSignalEvent
from kith.runtime.chat.live import ChatEvent
from kith.runtime.groups.events import GroupEvent, GroupMessageEvent, GroupTypingEvent

__all__ = [
    "ConnectionEvent",
    "ConnectionProblemEvent",
    "ContactPresenceEvent",
    "ContactsChangedEvent",
    "EventHub",
    "FileEvent",
    "NodeEvent",
    "OwnStatusEvent",
    "Subscription",
]

QUEUE_SIZE: Final = 1024


@dataclass(frozen=True, slots=True)
class OwnStatusEvent:
    """The user's own status, text or effective status changed."""

    status: str
    text: str
    effective: str
    auto_away: bool

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "status",
            "status": self.status,
            "text": self.text,
            "effective": self.effective,
            "auto_away": self.auto_away,
        }


@dataclass(frozen=True, slots=True)
class ContactPresenceEvent:
    """A contact's presence changed."""

    contact_id: str
    status: str
    text: str
    last_seen: float | None

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "presence",
            "id": self.contact_id,
            "status": self.status,
            "status_text": self.text,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """The node's connection to the signaling server came up or went down."""

    state: str

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "connection", "state": self.state}


@dataclass(frozen=True, slots=True)
class ConnectionProblemEvent:
    """An attempt to reach the signaling server failed for a reason the user can fix
    (a refused sign-in: ``detail`` names the URL dialled and the one the server expects).
    """

    reason: str
    detail: str
    retry_in: float | None

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {
            "type": "connection_problem",
            "reason": self.reason,
            "detail": self.detail,
            "retry_in": self.retry_in,
        }


@dataclass(frozen=True, slots=True)
class ContactsChangedEvent:
    """A contact was added, removed, renamed or verified, or a list was
    imported (``contact_id`` empty: one event for the whole list)."""

    contact_id: str
    change: str

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "contacts", "id": self.contact_id, "change": self.change}


@dataclass(frozen=True, slots=True)
class FileEvent:
    """A file transfer changed state or moved on (at most once per MiB; ``docs/files.md``)."""

    file: dict[str, Any]
    """The transfer as the API shows it (``kith.runtime.files.FileView.to_json``)."""

    def to_json(self) -> dict[str, Any]:
        """The WebSocket message."""
        return {"type": "file", "file": self.file}


NodeEvent: TypeAlias = (
    OwnStatusEvent
    | ContactPresenceEvent
    | ConnectionEvent
    | ConnectionProblemEvent
    | ContactsChangedEvent
    | ChatEvent
    | FileEvent
    | CallEvent
    | CallSignalEvent
    | GroupEvent
    | GroupMessageEvent
    | GroupTypingEvent
)


class Subscription:
    """One listener's queue of events; ``closed`` once the hub dropped it."""

    def __init__(self, size: int = QUEUE_SIZE) -> None:
        self.queue: asyncio.Queue[NodeEvent | None] = asyncio.Queue(size)
        self.closed = False

    async def next(self) -> NodeEvent | None:
        """The next event, or None once the subscription is closed."""
        if self.closed and self.queue.empty():
            return None
        return await self.queue.get()


class EventHub:
    """Fans node events out to every subscription."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()

    @property
    def listening(self) -> bool:
        """Whether anything subscribes (an open page, or a program watching events)."""
        return bool(self._subscriptions)

    def subscribe(self) -> Subscription:
        """A new subscription receiving every later event."""
        subscription = Subscription(self._queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to ``subscription`` and wake its reader."""
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            self._close(subscription)

    def publish(self, event: NodeEvent) -> None:
        """Deliver ``event`` to every subscription; drop those that are full."""
        for subscription in list(self._subscriptions):
            try:
                subscription.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.unsubscribe(subscription)

    def close(self) -> None:
        """Close every subscription (the node is stopping)."""
        for subscription in list(self._subscriptions):
            self.unsubscribe(subscription)

    @staticmethod
    def _close(subscription: Subscription) -> None:
        subscription.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            subscription.queue.put_nowait(None)
