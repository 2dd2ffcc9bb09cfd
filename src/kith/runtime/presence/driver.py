"""The presence driver: runs the pure presence manager with real I/O.

It is the adapter between :class:`kith.presence.PresenceManager`, the
signaling client, the store and the rest of the node:

- inputs (signaling events, API calls, the timer) become manager calls with
  ``now`` from the injected clock;
- the manager's events become sealed publishes and retracts on each
  contact's pair topics, ordered store writes, live events for the UI, and
  presence news on the :class:`~kith.runtime.dispatch.EventBus` (the chat
  side learns "online", "messages waiting" and "invisible" only from there:
  a contact's record is opened here, once);
- after every call the single timer is moved to ``next_deadline()``.

The driver never awaits: store writes go through a :class:`StoreWriter`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import msgspec

from kith.backend import OwnStatus as OwnStatusView
from kith.contacts import contact_label
from kith.errors import ContactError
from kith.models import Contact
from kith.presence import (
    ConnectionChanged,
    ConnectionState,
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatus,
    OwnStatusChanged,
    PresenceEvent,
    PresenceManager,
    PresenceRecord,
    PublishPresence,
    RetractPresence,
)
from kith.runtime.dispatch import EventSink
from kith.runtime.live import (
    ConnectionEvent,
    ContactPresenceEvent,
    ContactsChangedEvent,
    EventHub,
    OwnStatusEvent,
)
from kith.runtime.pairs import PairChannels
from kith.runtime.presence.publication import Publication, PublicationQueue
from kith.runtime.store_writer import StoreWriter
from kith.store.state import PRESENCE_SEQ
from kith.store.store import Store
from kith_proto.envelope import MAX_DISPLAY_NAME_BYTES, fit_utf8
from kith_proto.pair import EnvelopeError, PairChannel, ReplayedEnvelopeError

__all__ = ["Cancellable", "PresenceDriver", "Scheduler", "SignalingPort"]


class SignalingPort(Protocol):
    """What the presence driver needs from the signaling client (topics are 32 raw bytes)."""

    def set_subscriptions(self, topics: Iterable[bytes]) -> None:
        """Make the subscribed set exactly ``topics`` (kept across reconnects)."""
        ...

    def publish(self, token: bytes, payload: bytes) -> None:
        """Set our retained value on the topic the publish ``token`` opens."""
        ...

    def retract(self, tokens: Iterable[bytes]) -> None:
        """Withdraw our values on the topics the publish ``tokens`` open."""
        ...


class Cancellable(Protocol):
    """A scheduled call that can be cancelled (``asyncio.TimerHandle``)."""

    def cancel(self) -> None:
        """Do not run the call."""
        ...


Scheduler = Callable[[float, Callable[[], None]], Cancellable]
"""Run a callback after a delay in seconds (``loop.call_later``)."""


class PresenceDriver:
    """Connects the presence manager to signaling, the store and live events.

    Args:
        pairs: Each contact's pair channel (shared with the chat driver).
        manager: The presence state machine, restored from the store.
        signaling: The signaling client.
        writer: Ordered store writes.
        hub: Live events for the local API.
        clock: Wall-clock epoch seconds (``time.time``).
        schedule: Timer for ``next_deadline()`` (``loop.call_later``).
        log: Where warnings go (never with key material).
        events: Where presence news goes (the node's event bus).
        name: Our display name, sealed into every record.
        names: The names contacts chose, as stored (to notice a change).
    """

    def __init__(
        self,
        *,
        pairs: PairChannels,
        manager: PresenceManager,
        signaling: SignalingPort,
        writer: StoreWriter,
        hub: EventHub,
        clock: Callable[[], float],
        schedule: Scheduler,
        log: logging.Logger,
        events: EventSink,
        name: str = "",
        names: dict[str, str] | None = None,
    ) -> None:
        self._pairs = pairs
        self._manager = manager
        self._signaling = signaling
        self._writer = writer
        self._hub = hub
        self._clock = clock
        self._schedule = schedule
        self._log = log
        self._channels: dict[str, PairChannel] = {}
        self._by_topic: dict[bytes, str] = {}
        self._early: dict[bytes, bytes | None] = {}
        self._timer: Cancellable | None = None
        self._timer_at = 0.0
        """When ``_timer`` fires (epoch seconds)."""
        self._saved = (manager.status, manager.text)
        self._events = events
        self._queued: set[str] = set()
        self._publications = PublicationQueue(signaling, log)
        self._published: PresenceRecord | None = None
        self._seq_floor = manager.last_seq
        self._floors: dict[str, int] = {}
        self._name = _sealable(name)
        self._names: dict[str, str] = dict(names or {})

    # -- snapshot ---------------------------------------------------------

    @property
    def connection(self) -> ConnectionState:
        """Whether the node is connected to the signaling server."""
        return self._manager.connection

    def own_status(self) -> OwnStatusView:
        """The own status as the CLI and API show it."""
        m = self._manager
        return OwnStatusView(m.status.value, m.text, m.effective.value, m.connection.value)

    def own_status_event(self) -> OwnStatusEvent:
        """The own status as a live event (sent first on every WebSocket)."""
        m = self._manager
        return OwnStatusEvent(m.status.value, m.text, m.effective.value, m.auto_away)

    def contact_ids(self) -> list[str]:
        """The contacts the presence driver tracks."""
        return list(self._channels)

    # -- contacts ---------------------------------------------------------

    def load(self, contacts: Sequence[Contact]) -> None:
        """Track the contacts read at start (the manager already knows them)."""
        for contact in contacts:
            self._open_channel(contact)
        self._resubscribe()

    def add_contact(self, contact: Contact) -> None:
        """A contact was added: subscribe at once and send them our presence."""
        if contact.kith_id in self._channels or not self._open_channel(contact):
            return
        self._resubscribe()
        self._apply(self._manager.contact_added(contact.kith_id, self._clock()))

    def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """Contacts were added (an import): subscribe once, publish to each."""
        added = [c for c in contacts if c.kith_id not in self._channels and self._open_channel(c)]
        if not added:
            return
        self._resubscribe()
        now = self._clock()
        for contact in added:
            self._apply(self._manager.contact_added(contact.kith_id, now))

    def remove_contact(self, contact_id: str) -> None:
        """A contact was removed: they see us go offline, then learn nothing more."""
        if contact_id not in self._channels:
            return
        self._apply(self._manager.contact_removed(contact_id, self._clock()))
        channel = self._channels.pop(contact_id)
        self._queued.discard(contact_id)
        self._by_topic.pop(channel.subscribe_topic.raw, None)
        self._early.pop(channel.subscribe_topic.raw, None)
        self._resubscribe()

    def _open_channel(self, contact: Contact) -> bool:
        channel = self._pairs.channel(contact)
        if channel is None:
            return False
        self._channels[contact.kith_id] = channel
        self._by_topic[channel.subscribe_topic.raw] = contact.kith_id
        return True

    def _resubscribe(self) -> None:
        self._signaling.set_subscriptions(c.subscribe_topic.raw for c in self._channels.values())

    # -- user input -------------------------------------------------------

    def set_status(self, status: OwnStatus, text: str | None) -> OwnStatusView:
        """The user chose a status (and text; None keeps the current text).

        Raises:
            InvalidStatusTextError: ``text`` is too long or not valid Unicode.
        """
        chosen = self._manager.text if text is None else text
        self._apply(self._manager.set_status(status, chosen, self._clock()))
        return self.own_status()

    def set_name(self, name: str) -> None:
        """Our display name changed: re-publish our record with it to every contact."""
        name = _sealable(name)
        if name == self._name:
            return
        self._name = name
        if self._published is None:
            return
        now_ms = int(self._clock() * 1000)
        record = msgspec.structs.replace(self._published, seq=now_ms, sent_at=now_ms)
        self._published = self._stamp(record)
        self._publications.submit(Publication(self._addressed(self._channels, self._published)))
        self._save_seq()

    def set_auto_away_minutes(self, minutes: int) -> None:
        """Apply a new ``auto_away_minutes`` at once."""
        self._apply(self._manager.set_auto_away_minutes(minutes, self._clock()))

    def activity(self) -> None:
        """The user did something (an API request).

        Usually that only moves the idle deadline later, which the running
        timer already covers (:meth:`_reschedule`): nothing else to do on
        the hot path of every request."""
        events = self._manager.activity(self._clock())
        if events or self._timer is None:
            self._apply(events)

    # -- signaling --------------------------------------------------------

    def connected(self) -> None:
        """The signaling client is authenticated and subscribed."""
        self._apply(self._manager.connected(self._clock()))
        early, self._early = self._early, {}
        for topic, payload in early.items():
            if payload is None:
                self.presence_gone(topic)
            else:
                self.presence_value(topic, payload)

    def disconnected(self) -> None:
        """The connection dropped: every contact shows offline.

        The server dropped our values with the connection; the client must not
        re-publish them on reconnect (the status may have changed meanwhile),
        so they leave its desired state too. ``connected`` publishes afresh.
        """
        self._publications.clear()
        self._signaling.retract(c.publish_token for c in self._channels.values())
        self._published = None
        self._apply(self._manager.disconnected(self._clock()))

    def presence_value(self, topic: bytes, payload: bytes) -> None:
        """A value arrived on a subscribed topic: open it and apply it."""
        contact_id = self._by_topic.get(topic)
        if contact_id is None:
            return
        if self._manager.connection is ConnectionState.DISCONNECTED:
            self._early[topic] = payload
            return
        record = self._open(contact_id, payload)
        if record is not None:
            self._save_replay_floor(contact_id)
            self._note_name(contact_id, record.name)
            self._apply(self._manager.contact_record(contact_id, record, self._clock()))

    def presence_gone(self, topic: bytes) -> None:
        """A subscribed topic's publisher retracted it or disconnected."""
        contact_id = self._by_topic.get(topic)
        if contact_id is None:
            return
        if self._manager.connection is ConnectionState.DISCONNECTED:
            self._early[topic] = None
            return
        self._channels[contact_id].ended()
        self._save_replay_floor(contact_id)
        self._apply(self._manager.contact_gone(contact_id, self._clock()))

    def _note_name(self, contact_id: str, name: str) -> None:
        """The contact's record names them: store and announce a new name."""
        shown = name.strip() if name.strip().isprintable() else ""
        if self._names.get(contact_id, "") == shown:
            return
        self._names[contact_id] = shown
        self._writer.submit(_name_writer(contact_id, shown), "a contact's name")
        self._hub.publish(ContactsChangedEvent(contact_id, "named"))

    def _open(self, contact_id: str, payload: bytes) -> PresenceRecord | None:
        try:
            return self._channels[contact_id].open(payload, self._clock())
        except ReplayedEnvelopeError:
            self._log.debug("dropped a replayed presence record from %s", contact_label(contact_id))
        except EnvelopeError as exc:
            self._log.warning(
                "rejected presence from %s: %s (%s)", contact_label(contact_id), exc, exc.code
            )
        return None

    # -- lifecycle --------------------------------------------------------

    def stop(self) -> None:
        """Clean shutdown: appear offline to every contact, stop the timer."""
        self._apply(self._manager.stop(self._clock()))
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def flush(self) -> None:
        """Wait until every record and retraction so far is handed to signaling."""
        await self._publications.flush()

    def _on_timer(self) -> None:
        self._timer = None
        self._apply(self._manager.tick(self._clock()))

    def _reschedule(self) -> None:
        """Keep a timer that fires no later than the next deadline: on each API
        request (activity) the idle deadline moves later, and a timer that
        fires early ticks in vain and schedules the next one; no timer churn
        per request."""
        deadline = self._manager.next_deadline()
        if self._timer is not None and deadline is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer_at = deadline
            self._timer = self._schedule(max(0.0, deadline - self._clock()), self._on_timer)

    # -- executing the manager's events -------------------------------------

    def _apply(self, events: Sequence[PresenceEvent]) -> None:
        presence: list[ContactPresenceChanged] = []
        for event in events:
            match event:
                case PublishPresence(record, recipients):
                    self._publish(record, recipients)
                case RetractPresence(record, recipients):
                    self._retract(record, recipients)
                case OwnStatusChanged():
                    self._own_changed(event)
                    self._events.emit(event)
                case ContactPresenceChanged():
                    presence.append(event)
                    self._hub.publish(
                        ContactPresenceEvent(
                            event.contact_id, event.status.value, event.text, event.last_seen
                        )
                    )
                    self._events.emit(event)
                case MessagesWaiting():
                    self._events.emit(event)
                case ConnectionChanged(state):
                    self._hub.publish(ConnectionEvent(state.value))
                    self._events.emit(event)
        if presence:
            self._save_presence(presence)
        self._reschedule()

    def _targets(self, recipients: tuple[str, ...] | None) -> list[PairChannel]:
        ids = self._channels if recipients is None else recipients
        return [self._channels[i] for i in ids if i in self._channels]

    def _publish(self, record: PresenceRecord, recipients: tuple[str, ...] | None) -> None:
        record = self._stamp(record)
        ids = self._channels if recipients is None else recipients
        self._publications.submit(Publication(self._addressed(ids, record)))
        if recipients is None or self._published is not None:
            self._published = record
        self._save_seq()

    def _addressed(
        self, ids: Iterable[str], record: PresenceRecord
    ) -> list[tuple[PairChannel, PresenceRecord]]:
        """Each contact's channel with the record for them: ``has_messages``
        is set only in the records of contacts for whom messages wait."""
        flagged = msgspec.structs.replace(record, has_messages=True)
        queued, channels = self._queued, self._channels
        return [(channels[i], flagged if i in queued else record) for i in ids if i in channels]

    def set_messages_queued(self, contact_id: str, queued: bool) -> None:
        """Messages started or stopped waiting for ``contact_id``: seal
        ``has_messages`` for them (only they can read it) and re-publish our
        current record to them (a fresh sequence number; nothing if we publish
        nothing)."""
        if queued == (contact_id in self._queued):
            return
        if queued:
            self._queued.add(contact_id)
        else:
            self._queued.discard(contact_id)
        if self._published is None or contact_id not in self._channels:
            return
        now_ms = int(self._clock() * 1000)
        record = msgspec.structs.replace(self._published, seq=now_ms, sent_at=now_ms)
        self._published = self._stamp(record)
        self._publications.submit(Publication(self._addressed([contact_id], self._published)))
        self._save_seq()

    def _stamp(self, record: PresenceRecord) -> PresenceRecord:
        """Keep sequence numbers increasing across manager and flag records;
        every record carries our display name."""
        if record.name != self._name:
            record = msgspec.structs.replace(record, name=self._name)
        if record.seq <= self._seq_floor:
            record = msgspec.structs.replace(record, seq=self._seq_floor + 1)
        self._seq_floor = record.seq
        return record

    def _retract(self, record: PresenceRecord, recipients: tuple[str, ...] | None) -> None:
        record = self._stamp(record)
        channels = self._targets(recipients)
        items = [(channel, record) for channel in channels]
        tokens = [channel.publish_token for channel in channels]
        self._publications.submit(Publication(items, tokens))
        if recipients is None:
            self._published = None
        self._save_seq()

    def _save_seq(self) -> None:
        seq = max(self._manager.last_seq, self._seq_floor)
        self._writer.submit(lambda s: s.state.set_int(PRESENCE_SEQ, seq), "the presence sequence")

    def _save_replay_floor(self, contact_id: str) -> None:
        """Keep the contact's replay floor, so that the guard restored at the
        next start refuses what this one refuses now. Changes arriving
        together (a reconnect brings one per contact) make one write."""
        floor = self._channels[contact_id].floor_to_keep
        if floor is None:
            return
        if not self._floors:
            self._schedule(0.0, self._write_replay_floors)
        self._floors[contact_id] = floor

    def _write_replay_floors(self) -> None:
        floors, self._floors = self._floors, {}
        self._writer.submit(_floors_writer(floors), "contacts' presence sequences")

    def _own_changed(self, event: OwnStatusChanged) -> None:
        self._hub.publish(
            OwnStatusEvent(event.status.value, event.text, event.effective.value, event.auto_away)
        )
        if (event.status, event.text) == self._saved:
            return
        self._saved = (event.status, event.text)
        self._writer.submit(_status_writer(event, self._clock()), "your status")

    def _save_presence(self, changes: list[ContactPresenceChanged]) -> None:
        self._writer.submit(_presence_writer(changes), "contacts' presence")


def _status_writer(event: OwnStatusChanged, now: float) -> Callable[[Store], None]:
    def write(store: Store) -> None:
        with store.transaction():
            store.settings.set("user_status", event.status.value, now)
            store.settings.set("status_text", event.text, now)

    return write


def _sealable(name: str) -> str:
    """Our display name as records carry it: a name stored before the byte
    limit of records existed is cut to fit (new ones are refused when set)."""
    return fit_utf8(name, MAX_DISPLAY_NAME_BYTES)


def _name_writer(contact_id: str, name: str) -> Callable[[Store], None]:
    def write(store: Store) -> None:
        store.contacts.set_own_name(contact_id, name)

    return write


def _floors_writer(floors: dict[str, int]) -> Callable[[Store], None]:
    def write(store: Store) -> None:
        with store.transaction():
            for contact_id, seq in floors.items():
                store.contacts.set_presence_seq(contact_id, seq)

    return write


def _presence_writer(changes: list[ContactPresenceChanged]) -> Callable[[Store], None]:
    def write(store: Store) -> None:
        with store.transaction():
            for change in changes:
                try:
                    store.contacts.update_presence(
                        change.contact_id, change.status.value, change.text, change.last_seen
                    )
                except ContactError:
                    continue  # removed meanwhile

    return write
