"""The chat driver: every conversation of the node, wired to the world.

It owns one :class:`~kith.runtime.chat.peer.ChatPeer` per contact and
connects them to presence news (online/offline, messages waiting, our own
invisibility: consumed as events, never decrypted here), the signaling relay,
the store (through the :class:`Committer`: events are persisted before the
frames they imply are sent) and the live events of the local API. It emits
:class:`~kith.runtime.dispatch.MessagesQueued` when messages start or stop
waiting for a contact it cannot reach. Helpers: ``directory`` (lookup),
``connector`` (when to connect; invisible rules), ``recovery`` (after a
failed save). See ``docs/p2p.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from kith.chat import (
    Conversation,
    ConversationEvent,
    DropOutbox,
    FrameRejected,
    InboundLimit,
    Message,
    OpenLink,
    SendFrame,
    StoreCursor,
    StoreMessage,
    StoreOutbox,
    UnknownMessage,
)
from kith.chat.events import must_reach_disk
from kith.contacts import contact_label
from kith.conversation_store import (
    ChatMessage,
    EventsWrite,
    history_page,
    merge_writes,
    message_owner,
    recall_messages,
    restore_conversation,
)
from kith.models import Contact
from kith.p2p import NO_TURN, LinkState, PeerLink, SecureChannel, TurnSource
from kith.presence import (
    ConnectionChanged,
    ConnectionState,
    ContactPresenceChanged,
    MessagesWaiting,
    OwnStatus,
    OwnStatusChanged,
    PresenceStatus,
)
from kith.runtime.chat.committer import Committer
from kith.runtime.chat.connector import Connector
from kith.runtime.chat.directory import PeerDirectory
from kith.runtime.chat.link_factory import ChatOptions, RelayPort, make_peer_link
from kith.runtime.chat.live import ChatNoticeEvent, failure_text, live_events
from kith.runtime.chat.mailbox import MailboxCourier
from kith.runtime.chat.mailbox_sync import MailboxSync
from kith.runtime.chat.peer import CallHost, ChatPeer, FileHost, GroupHost
from kith.runtime.chat.peer_state import GateInput
from kith.runtime.chat.recovery import ConversationRecovery, refused
from kith.runtime.dispatch import EventSink, MessagesQueued, PresenceNews
from kith.runtime.live import EventHub
from kith.runtime.pairs import PairChannels
from kith.runtime.store_writer import StoreRunner
from kith.runtime.subscriptions import SubscriptionMux
from kith.store.store import Store
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel

__all__ = ["ChatDriver"]

_STORING = (StoreMessage, StoreOutbox, DropOutbox, StoreCursor)


class ChatDriver:
    """Every conversation of the node.

    Args:
        keys: Our identity keys.
        pairs: Each contact's pair channel (shared with the presence driver).
        store: The node's store.
        hub: Live events for the local API.
        mux: The signaling subscriptions (relay inboxes are set here).
        relay: The signaling client (offers and answers).
        invisible: Whether the user is invisible at start (then
            :class:`~kith.presence.OwnStatusChanged` news keeps it current).
        events: Where :class:`MessagesQueued` goes (the node's event bus).
        options: Link settings.
        clock: Wall-clock seconds.
        log: Where problems go (never message text or keys).
        turn: The TURN relays the signaling server offers (none by default).
        mailbox: The sealed offline mailbox (none: frames wait for a channel).
        files: The file transfers, given to every peer (none: no files).
        calls: The call switchboard, given to every peer (none: no calls).
        groups: The group hub, given to every peer (none: no groups).
    """

    def __init__(
        self,
        *,
        keys: IdentityKeys,
        pairs: PairChannels,
        store: StoreRunner,
        hub: EventHub,
        mux: SubscriptionMux,
        relay: RelayPort,
        invisible: bool,
        events: EventSink,
        options: ChatOptions,
        clock: Callable[[], float],
        log: logging.Logger,
        turn: TurnSource = NO_TURN,
        mailbox: MailboxCourier | None = None,
        files: FileHost | None = None,
        calls: CallHost | None = None,
        groups: GroupHost | None = None,
    ) -> None:
        self._keys = keys
        self._groups = groups
        self._files = files
        self._calls = calls
        self._turn = turn
        self._own_id = keys.kith_id
        self._pairs = pairs
        self._store = store
        self._hub = hub
        self._relay = relay
        self._invisible = invisible
        self._events = events
        self._options = options
        self._clock = clock
        self._log = log
        self._connector = Connector(
            mux=mux,
            invisible=self.is_invisible,
            execute=self.execute,
            spawn=self._spawn,
            notice=self._notice,
            stopped=lambda: self._stopped,
            clock=clock,
            log=log,
        )
        self._recovery = ConversationRecovery(
            store=store,
            reader=self._reader,
            is_current=self._is_current,
            resume=self._resume,
            spawn=self._spawn,
            log=log,
        )
        self._committer: Committer[ChatPeer] = Committer(
            store, log, self._send_receipts, self._recovery.commit_failed, merge_writes
        )
        self._receipting: set[ChatPeer] = set()
        self._peers = PeerDirectory()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False
        self._mailbox = MailboxSync(
            courier=mailbox,
            groups=groups,
            files=files,
            peers=lambda: self._peers,
            call=self.call,
            spawn=self._spawn,
            stopped=lambda: self._stopped,
            poll=options.mailbox_poll,
            clock=clock,
            log=log,
        )

    # -- contacts ------------------------------------------------------------

    async def load(self, contacts: Sequence[Contact]) -> None:
        """Restore every contact's conversation from the store.

        Also deletes any session state an older version stored: sessions live
        only in memory, one per channel (see ``docs/p2p.md``, "Sessions").
        """
        cleared = await self._store.run(lambda store: store.sessions.clear())
        if cleared:
            self._log.info("deleted %d stored sessions an older version kept", cleared)
        await self.add_contacts(contacts)

    async def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """Track contacts, restoring any history kept from before: one store
        read for all of them, one update of the relay inboxes.

        A contact whose stored key is unusable (e.g. not a valid curve point)
        is skipped, so one bad row cannot stop the node.
        """
        fresh = [
            (c, p)
            for c in contacts
            if c.kith_id not in self._peers and (p := self._pairs.channel(c))
        ]
        read = self._reader
        restored = await self._store.run(lambda store: [read(c.kith_id)(store) for c, _ in fresh])
        for (contact, pair), (conversation, blocked) in zip(fresh, restored, strict=True):
            if contact.kith_id not in self._peers:  # not added meanwhile
                self._track(contact, pair, conversation, blocked)
        self._update_relay()

    async def add_contact(self, contact: Contact) -> None:
        """Track one contact (see :meth:`add_contacts`)."""
        await self.add_contacts([contact])

    def _track(
        self, contact: Contact, pair: PairChannel, conversation: Conversation, blocked: bool
    ) -> None:
        peer = ChatPeer(
            contact.kith_id,
            keys=self._keys,
            pair=pair,
            conversation=conversation,
            make_link=self._make_link,
            host=self,
            clock=self._clock,
            log=self._log,
            key_changed=blocked,
            limit=InboundLimit(self._options.inbound_rate, self._options.inbound_burst),
            files=self._files,
            calls=self._calls,
            groups=self._groups,
        )
        self._peers.add(peer)
        if peer.state.flagged:
            self._events.emit(MessagesQueued(contact.kith_id, True))

    def _reader(self, contact_id: str) -> Callable[[Store], tuple[Conversation, bool]]:
        receipts = self._options.read_receipts
        return lambda store: restore_conversation(store, contact_id, read_receipts=receipts)

    async def remove_contact(self, contact_id: str) -> None:
        """Stop tracking a contact (its history stays in the store)."""
        peer = self._peers.pop(contact_id)
        if peer is None:
            return
        self._update_relay()
        await peer.stop()

    def _make_link(self, pair: PairChannel) -> PeerLink:
        return make_peer_link(self._keys, pair, self._relay, self._options, self._clock, self._turn)

    def peer(self, contact: str) -> ChatPeer:
        """The peer of a contact named by ID (as typed); ``ContactError`` if none."""
        return self._peers.named(contact)

    def file_resumed(self, contact_id: str, file_id: str) -> None:
        """The user resumed our file ``file_id``: if the contact looks offline
        and it is small, it may go through their mailbox now."""
        peer = self._peers.get(contact_id)
        if peer is not None:
            self._mailbox.retry_parcel(peer, file_id)

    def owner(self, message_id: str) -> ChatPeer:
        """The peer holding ``message_id`` in memory; ``UnknownMessage`` if none."""
        return self._peers.owner(message_id)

    async def locate(self, message_id: str) -> ChatPeer:
        """The peer whose conversation has ``message_id``, held or only stored.

        Raises:
            UnknownMessage: no tracked conversation has it.
        """
        try:
            return self._peers.owner(message_id)
        except UnknownMessage:
            pass
        contact_id: str = await self._store.run(lambda store: message_owner(store, message_id))
        peer = self._peers.get(contact_id)
        if peer is None:
            raise UnknownMessage("there is no message with that ID")
        return peer

    def call(
        self,
        peer: ChatPeer,
        message_ids: Sequence[str],
        call: Callable[[Conversation], list[ConversationEvent]],
    ) -> asyncio.Future[None]:
        """Run ``call`` on the conversation with the messages ``message_ids``
        held (read back from the store first if needed), then :meth:`execute`
        its events. The future fails with what ``call`` raised."""
        missing = peer.conversation.missing(message_ids)
        if not missing:
            return self.execute(peer, call(peer.conversation))
        result: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def then() -> None:
            try:
                events = call(peer.conversation)
            except Exception as exc:
                result.set_exception(exc)
                return
            _chain(self.execute(peer, events), result)

        _chain(self.recall(peer, missing, then), result, errors_only=True)
        return result

    def view(self, peer: ChatPeer, message_id: str) -> ChatMessage:
        """A message of ``peer``'s conversation as the API shows it."""
        message = peer.conversation.message(message_id)
        if message is None:
            raise UnknownMessage("there is no message with that ID")
        return ChatMessage.of(message, self._own_id, peer.contact_id)

    # -- presence news and signaling ----------------------------------------

    def is_invisible(self) -> bool:
        """Whether the user is invisible (from the last own-status news)."""
        return self._invisible

    def presence_changed(self, event: PresenceNews) -> None:
        """Presence news from the presence driver (the dispatcher's port)."""
        match event:
            case ContactPresenceChanged(contact_id=contact_id, status=status):
                peer = self._peers.get(contact_id)
                if peer is not None:
                    self._set_online(peer, status is not PresenceStatus.OFFLINE)
                    self._mailbox.deposit_outbox(peer)
            case MessagesWaiting(contact_id=contact_id, waiting=waiting):
                self._messages_waiting(contact_id, waiting)
            case OwnStatusChanged(status=status):
                self._set_invisible(status is OwnStatus.INVISIBLE)
            case ConnectionChanged(state=ConnectionState.DISCONNECTED):
                self._mailbox.stop_sweeping()
                self._disconnected()
            case ConnectionChanged(state=ConnectionState.CONNECTED):
                self._mailbox.connected()
            case ConnectionChanged():
                pass

    def _messages_waiting(self, contact_id: str, waiting: bool) -> None:
        peer = self._peers.get(contact_id)
        if peer is None:
            return
        if waiting:
            self._mailbox.fetch_soon(peer)
        if waiting and peer.online and self._invisible:
            self._connector.pull(peer)

    def _set_invisible(self, invisible: bool) -> None:
        """Invisible users listen on fewer inboxes: recomputed once per change."""
        if invisible != self._invisible:
            self._invisible = invisible
            self._update_relay()

    def _disconnected(self) -> None:
        """The signaling connection dropped: every contact shows offline, but
        open channels stay open (they do not need the server)."""
        for peer in self._peers:
            self._set_online(peer, False, close=False)

    def relay_message(self, topic: bytes, payload: bytes) -> None:
        """A relayed offer or answer from a contact."""
        peer = self._peers.relay_source(topic)
        if peer is None or peer.blocked:
            return
        if peer.recovering:
            return  # the offerer retries; a channel must not open mid-rebuild
        self._spawn(peer.accept(payload))

    def set_read_receipts(self, enabled: bool) -> None:
        """Apply the ``read_receipts`` setting to every conversation at once."""
        for peer in self._peers:
            peer.conversation.read_receipts = enabled

    def _set_online(self, peer: ChatPeer, online: bool, *, close: bool = True) -> None:
        if not peer.state.set_online(online):
            return
        now = self._clock()
        if online:
            self.execute(peer, peer.conversation.contact_online(now))
            if self._files is not None and self._files.pending(peer.contact_id):
                self._connector.pull(peer)  # a file transfer to resume
            elif self._calls is not None and self._calls.pending(peer.contact_id):
                self._connector.pull(peer)  # a missed-call notice to deliver
            elif self._groups is not None and self._groups.pending(peer.contact_id):
                self._connector.pull(peer)  # group frames to deliver
            return
        self.execute(peer, peer.conversation.contact_offline(now))
        if close and peer.link_state is not LinkState.IDLE:
            self._spawn(peer.close())  # a crashed peer's channel would linger for long

    def _update_relay(self) -> None:
        self._connector.update_relay(self._peers)

    def connect(self, peer: ChatPeer) -> None:
        """Connect to a contact because the user asked to (a call), even while invisible."""
        self._spawn(self._connector.open(peer))

    def connect_for_typing(self, peer: ChatPeer) -> None:
        """Connect to a contact the user is typing to, where the status allows."""
        self._connector.for_typing(peer)

    # -- PeerHost --------------------------------------------------------------

    def execute(self, peer: ChatPeer, events: list[ConversationEvent]) -> asyncio.Future[None]:
        """Persist ``events`` in the next transaction, then act on them.

        The future fails if they could not be stored (then nothing they imply
        happens, and the conversation is rebuilt from the store), or at once
        while the conversation is being rebuilt after such a failure.
        """
        if peer.recovering:
            return refused()
        secure = peer.secure
        writes: list[Callable[[Store], None]] = []
        if any(isinstance(e, _STORING) for e in events):
            writes.append(EventsWrite(peer.contact_id, events))
        future = self._committer.submit(
            writes,
            lambda: self._act(peer, secure, events),
            peer,
            durable=must_reach_disk(events),
        )
        peer.reschedule(self._on_due)
        return future

    def key_changed(self, peer: ChatPeer, presented: bytes) -> None:
        """Warn, remember it, and send nothing to the contact until accepted."""
        peer.state.move(GateInput.KEY_CHANGED)
        contact_id, now = peer.contact_id, self._clock()
        self._log.warning(
            "the identity key of %s changed: sending nothing", contact_label(contact_id)
        )
        self._committer.submit(
            [lambda store: store.key_warnings.put(contact_id, presented, now)],
            lambda: self._notice(
                peer,
                "key_changed",
                "this contact's identity key changed (the safety number changed): "
                "nothing is sent until you accept it",
            ),
            peer,
        )

    def link_failed(self, peer: ChatPeer, reason: str) -> None:
        """Tell the user why a connection failed (it is retried later)."""
        self._log.info(
            "could not connect to %s (%s); retrying later", contact_label(peer.contact_id), reason
        )
        self._notice(peer, "connect_failed", failure_text(reason), reason)

    def link_changed(self, peer: ChatPeer) -> None:
        """An invisible user listens on a contact's inbox only while connecting to them."""
        self._update_relay()

    def recall(
        self, peer: ChatPeer, message_ids: Sequence[str], then: Callable[[], None]
    ) -> asyncio.Future[None]:
        """Read stored messages back into ``peer``'s conversation, then run ``then``.

        The read goes through the committer, so it sees every write submitted
        before it; ``then`` runs right after the messages are handed in (nothing
        trims them in between).
        """
        if peer.recovering:
            return refused()
        contact_id, ids = peer.contact_id, list(message_ids)
        found: list[Message] = []

        def read(store: Store) -> None:
            found.extend(recall_messages(store, contact_id, ids))

        def act() -> None:
            peer.conversation.recall(found)
            then()

        return self._committer.submit([read], act, peer)

    def rate_limited(self, peer: ChatPeer, notify: bool) -> None:
        """A frame over the contact's inbound limit was dropped; the sender
        resends it. The user hears of it at most once a minute per contact."""
        if notify:
            self._notice(
                peer,
                "rate_limited",
                f"this contact sends more than {self._options.inbound_rate:g} messages a second "
                f"(bursts of {self._options.inbound_burst}); the rest arrive as they slow down",
            )

    def session_open(self, peer: ChatPeer, secure: SecureChannel) -> None:
        """Announce our mailbox key for the contact on the new session."""
        self._mailbox.announce(peer, secure)

    def mailbox_key(self, peer: ChatPeer, data: bytes) -> None:
        """The contact announced their mailbox key: the mailbox side takes it."""
        self._mailbox.key_announced(peer, data)

    # -- acting after commit ----------------------------------------------------

    def _act(
        self, peer: ChatPeer, secure: SecureChannel | None, events: list[ConversationEvent]
    ) -> None:
        for event in events:
            match event:
                case SendFrame(delivered=delivered) if delivered is not None:
                    self._receipt(peer, secure, delivered)
                case SendFrame(data=data):
                    peer.send_frame(secure, data)
                case OpenLink():
                    self._spawn(self._connector.open(peer))
                case DropOutbox(id=entry_id):
                    self._mailbox.forget(peer, entry_id)
                case FrameRejected(reason=reason):
                    self._log.warning(
                        "%s sent a refused change: %s", contact_label(peer.contact_id), reason
                    )
        if self._hub.listening:  # no page open: nobody to build the UI's events for
            for live in live_events(events, self._own_id, peer.contact_id):
                self._hub.publish(live)
        if any(isinstance(event, StoreOutbox) for event in events):
            self._mailbox.deposit_outbox(peer)
        deleted = [
            e.message.id for e in events if isinstance(e, StoreMessage) and e.message.deleted
        ]
        if deleted and self._files is not None:
            self._files.messages_deleted(peer.contact_id, deleted)
        self._sync_flag(peer)

    def _sync_flag(self, peer: ChatPeer) -> None:
        """Set ``has_messages`` only for a contact we cannot reach otherwise:
        something waits, they look offline and no channel is open. So the flag
        (a presence re-publish the server sees) changes rarely, never per message."""
        pending = peer.conversation.has_outbox and not peer.online and not peer.is_open
        if peer.state.set_flagged(pending):
            self._events.emit(MessagesQueued(peer.contact_id, pending))

    def _send_receipts(self) -> None:
        """One delivery receipt per peer and committed batch, not one per frame."""
        peers, self._receipting = self._receipting, set()
        for peer in peers:
            peer.flush_receipts()
        self._mailbox.send_owed_receipts()

    def _receipt(
        self, peer: ChatPeer, secure: SecureChannel | None, delivered: Sequence[str]
    ) -> None:
        """A delivery receipt goes on the channel it came from, else on the open
        one, else (a frame from the mailbox) into the contact's mailbox."""
        if secure is None and peer.is_open:
            secure = peer.secure
        if secure is None and self._mailbox.owe_receipt(peer, delivered):
            return
        peer.queue_receipt(secure, delivered)
        self._receipting.add(peer)

    # -- a failed commit (see kith.runtime.chat.recovery) -------------------

    def _is_current(self, peer: ChatPeer) -> bool:
        return not self._stopped and self._peers.get(peer.contact_id) is peer

    def _resume(self, peer: ChatPeer, conversation: Conversation, blocked: bool) -> None:
        conversation.read_receipts = peer.conversation.read_receipts
        peer.restore(conversation, blocked)
        self.execute(peer, conversation.contact_online(self._clock()) if peer.online else [])

    def _on_due(self, peer: ChatPeer) -> None:
        self.execute(peer, peer.conversation.tick(self._clock()))

    def _notice(self, peer: ChatPeer, code: str, message: str, reason: str = "") -> None:
        self._hub.publish(ChatNoticeEvent(peer.contact_id, code, message, reason))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("a messaging task failed: %r", task.exception())

    async def accepted_key(self, peer: ChatPeer) -> None:
        """The user accepted the contact's changed key: sending resumes."""
        contact_id = peer.contact_id
        await self._store.run(lambda store: store.key_warnings.remove(contact_id))
        peer.state.move(GateInput.KEY_ACCEPTED)
        if peer.online:
            self.execute(peer, peer.conversation.contact_online(self._clock()))

    async def history(self, peer: ChatPeer, limit: int, before: str | None) -> list[ChatMessage]:
        """A page of the stored conversation, oldest first (what is still being
        committed arrives as live events once stored)."""
        own_id, contact_id = self._own_id, peer.contact_id
        page: list[ChatMessage] = await self._store.run(
            lambda store: history_page(store, own_id, contact_id, limit, before)
        )
        return page

    async def search(self, text: str, limit: int) -> list[ChatMessage]:
        """The newest stored messages holding every word of ``text`` (``bad_search``
        for text that cannot be searched)."""
        from kith.history_search import search_history

        own_id = self._own_id
        found: list[ChatMessage] = await self._store.run(
            lambda store: search_history(store, own_id, text, limit)
        )
        return found

    # -- lifecycle -------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until every conversation event so far is stored and acted on."""
        await self._committer.flush()

    async def stop(self) -> None:
        """Close every link and finish pending writes; later events find no peer."""
        peers = self._peers.clear()
        self._stopped = True
        self._mailbox.stop_sweeping()
        for peer in peers:
            await peer.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._committer.flush()


def _chain(
    source: asyncio.Future[None], target: asyncio.Future[None], *, errors_only: bool = False
) -> None:
    """Settle ``target`` as ``source`` settles (only on failure if ``errors_only``)."""

    def done(future: asyncio.Future[None]) -> None:
        if target.done():
            return
        error = None if future.cancelled() else future.exception()
        if error is not None:
            target.set_exception(error)
        elif not errors_only:
            target.set_result(None)

    source.add_done_callback(done)
