"""When the chat side uses the sealed offline mailbox (``docs/p2p.md``, "Offline mailbox").

:class:`MailboxSync` decides *when*: it deposits what waits for a contact who
looks offline, fetches a contact's mailbox when the server connection comes
up, when the contact says messages wait and every ``mailbox_poll`` seconds for
contacts who look offline (how two invisible users reach each other), hands
fetched frames to the conversation exactly like frames from a channel (group
frames to the group hub, ``docs/groups.md``; file frames to the file
transfers, ``docs/files.md``), and acknowledges only what is stored. A small
file queued for a contact who looks offline is deposited whole beside the
message that carries it. Delivery receipts owed for mailbox frames go
back through the contact's mailbox. It announces our mailbox key for a
contact on each new session with them, takes the key they announce, and
deletes expired private keys (when the server connection comes up, then at
most hourly). The :class:`MailboxCourier` does the sealing and the requests;
the chat driver owns the conversations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial

from kith.chat import (
    Conversation,
    ConversationEvent,
    MalformedChatFrame,
    Receipt,
    StoreMessage,
    Text,
    Typing,
    decode_chat_frame,
    encode_chat_frame,
)
from kith.chat.frames import MAX_RECEIPT_IDS, decode_mailbox_key, encode_mailbox_key
from kith.contacts import contact_label
from kith.files import is_file_frame
from kith.groups.frames import is_group_frame
from kith.p2p import SecureChannel
from kith.runtime.chat.mailbox import MailboxCourier
from kith.runtime.chat.peer import ChatPeer, FileHost, GroupHost
from kith.signaling import SignalingError
from kith_proto.mailbox_seal import BadMailboxKeyError

__all__ = ["ConversationCall", "MailboxSync"]

ConversationCall = Callable[
    [ChatPeer, Sequence[str], Callable[[Conversation], list[ConversationEvent]]],
    asyncio.Future[None],
]
"""The chat driver's ``call``: run a conversation call with the messages it
needs loaded, persist its events, then act on them."""


class MailboxSync:
    """The chat side's use of the mailbox; every method is a no-op without one.

    Args:
        courier: Seals, deposits, fetches and acknowledges (None: no mailbox).
        groups: Takes group frames from the mailbox (None: they are dropped).
        files: Small files to deposit, file frames from the mailbox (None: no files).
        peers: The chat peers, as they are now.
        call: Feeds a frame to a conversation (the chat driver's ``call``).
        spawn: Runs a background task of the chat driver.
        stopped: Whether the chat driver has stopped.
        poll: Seconds between sweeps of the mailboxes of offline contacts.
        clock: Wall-clock seconds.
        log: Where problems go.
    """

    def __init__(
        self,
        *,
        courier: MailboxCourier | None,
        groups: GroupHost | None = None,
        files: FileHost | None = None,
        peers: Callable[[], Iterable[ChatPeer]],
        call: ConversationCall,
        spawn: Callable[[Awaitable[None]], None],
        stopped: Callable[[], bool],
        poll: float,
        clock: Callable[[], float],
        log: logging.Logger,
    ) -> None:
        self._courier = courier
        self._groups = groups
        self._files = files
        self._peers = peers
        self._call = call
        self._spawn = spawn
        self._stopped = stopped
        self._poll = poll
        self._clock = clock
        self._log = log
        self.refused_keys = 0
        """Mailbox key announcements refused since the start (not X-Wing keys)."""
        self._owed: dict[ChatPeer, list[str]] = {}
        self._parcels: set[tuple[str, str]] = set()
        """Outbox entries (contact, entry) whose small file is deposited, on its
        way, or that carry none: asked about once per run, not at every deposit."""
        self._fetching: set[str] = set()
        self._sweeper: asyncio.TimerHandle | None = None

    @property
    def present(self) -> bool:
        """Whether the node has a mailbox to use at all."""
        return self._courier is not None

    # -- the server connection ---------------------------------------------

    def connected(self) -> None:
        """Fetch every mailbox and deposit what waits for contacts who look
        offline; then sweep the mailboxes of offline contacts now and then."""
        if self._courier is None:
            return
        self._courier.connected()
        self._spawn(self._purge(force=True))
        for peer in self._peers():
            self.deposit_outbox(peer)
            self.fetch_soon(peer)
        self.stop_sweeping()
        self._sweeper = asyncio.get_running_loop().call_later(self._poll, self._sweep)

    def stop_sweeping(self) -> None:
        """The connection dropped, or the node stops."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None

    def _sweep(self) -> None:
        self._sweeper = None
        if self._courier is None or self._stopped():
            return
        self._spawn(self._purge())
        for peer in self._peers():
            if not peer.online and not peer.is_open:
                self.fetch_soon(peer)
        self._sweeper = asyncio.get_running_loop().call_later(self._poll, self._sweep)

    async def _purge(self, *, force: bool = False) -> None:
        assert self._courier is not None
        deleted = await self._courier.keys.purge(force=force)
        if deleted:
            self._log.info("deleted %d expired mailbox private keys", deleted)

    # -- mailbox keys ----------------------------------------------------------

    def announce(self, peer: ChatPeer, secure: SecureChannel) -> None:
        """A session with the contact is up: tell them our mailbox key for them
        (a new one if it is due)."""
        if self._courier is not None:
            self._spawn(self._announce(peer, secure))

    async def _announce(self, peer: ChatPeer, secure: SecureChannel) -> None:
        assert self._courier is not None
        public = await self._courier.keys.current(peer.contact_id)
        peer.send_frame(secure, encode_mailbox_key(public.public))

    def key_announced(self, peer: ChatPeer, data: bytes) -> None:
        """The contact announced their mailbox key (``data``: the frame):
        seal their items to it from now on. A bad one is refused (logged,
        counted) and changes nothing."""
        courier = self._courier
        if courier is None:
            return
        try:
            public = decode_mailbox_key(data).key
        except MalformedChatFrame as exc:
            self._refuse_key(peer, exc)
            return
        self._spawn(self._take_key(courier, peer, public))

    async def _take_key(self, courier: MailboxCourier, peer: ChatPeer, public: bytes) -> None:
        try:
            new = await courier.keys.announced(peer.contact_id, public)
        except BadMailboxKeyError as exc:
            self._refuse_key(peer, exc)
            return
        if new:
            self._log.info(
                "took a new mailbox key from %s (key %s)",
                contact_label(peer.contact_id),
                new.key_id.hex(),
            )

    def _refuse_key(self, peer: ChatPeer, exc: Exception) -> None:
        self.refused_keys += 1
        self._log.warning(
            "refused a mailbox key from %s (bad_mailbox_key; %d so far): %s",
            contact_label(peer.contact_id),
            self.refused_keys,
            exc,
        )

    # -- sending -------------------------------------------------------------

    def deposit_outbox(self, peer: ChatPeer) -> None:
        """Leave every outbox entry not yet deposited in the mailbox of a
        contact who looks offline (deposits are queued in outbox order)."""
        courier = self._courier
        if courier is None or not courier.available:
            return
        if peer.online or peer.is_open or peer.blocked:
            return
        for entry_id, frame in peer.conversation.outbox_frames():
            if not courier.was_deposited(peer.contact_id, entry_id):
                self._spawn(self._deposit(peer, frame, entry_id))
            if self._files is not None and (peer.contact_id, entry_id) not in self._parcels:
                self._parcels.add((peer.contact_id, entry_id))
                self._spawn(self._deposit_parcel(self._files, peer, entry_id))

    def retry_parcel(self, peer: ChatPeer, entry_id: str) -> None:
        """Our file ``entry_id`` may make a parcel now (the user resumed it):
        ask again, and deposit it if the contact looks offline."""
        if self._courier is None or self._courier.was_deposited(
            peer.contact_id, _parcel_entry(entry_id)
        ):
            return
        self._parcels.discard((peer.contact_id, entry_id))
        self.deposit_outbox(peer)

    def forget(self, peer: ChatPeer, entry_id: str) -> None:
        """An outbox entry was receipted: it needs no deposit any more."""
        if self._courier is not None:
            self._courier.forget(peer.contact_id, [entry_id, _parcel_entry(entry_id)])
            self._parcels.discard((peer.contact_id, entry_id))

    def owe_receipt(self, peer: ChatPeer, delivered: Sequence[str]) -> bool:
        """Take a delivery receipt (the IDs it names) for frames that came
        through the mailbox (False: there is no mailbox, send it another way)."""
        if self._courier is None:
            return False
        self._owed.setdefault(peer, []).extend(delivered)
        return True

    def send_owed_receipts(self) -> None:
        """Deposit the receipts taken since the last committed batch."""
        owed, self._owed = self._owed, {}
        for peer, ids in owed.items():
            for start in range(0, len(ids), MAX_RECEIPT_IDS):
                frame = encode_chat_frame(
                    Receipt("delivered", ids[start : start + MAX_RECEIPT_IDS])
                )
                self._spawn(self._deposit(peer, frame))

    async def _deposit(self, peer: ChatPeer, frame: bytes, entry_id: str | None = None) -> None:
        assert self._courier is not None
        await self._courier.deposit(peer.contact_id, peer.pair, frame, entry_id)

    async def _deposit_parcel(self, files: FileHost, peer: ChatPeer, entry_id: str) -> None:
        """Deposit the small file the outbox entry carries, if it carries one."""
        assert self._courier is not None
        parcel = await files.parcel(peer.contact_id, entry_id)
        if parcel is None:
            return  # no small file, or held: asked again only if resumed (retry_parcel)
        reachable = peer.online or peer.is_open
        if reachable or not await self._courier.deposit(
            peer.contact_id, peer.pair, parcel, _parcel_entry(entry_id)
        ):
            self._parcels.discard((peer.contact_id, entry_id))  # again at the next deposit

    # -- receiving -----------------------------------------------------------

    def fetch_soon(self, peer: ChatPeer) -> None:
        """Fetch the contact's mailbox unless a fetch is under way."""
        courier = self._courier
        if courier is None or not courier.available or self._stopped() or peer.blocked:
            return
        if peer.contact_id not in self._fetching:
            self._fetching.add(peer.contact_id)
            self._spawn(self._fetch(peer))

    async def _fetch(self, peer: ChatPeer) -> None:
        """Fetch, store and acknowledge a contact's items until none are left."""
        courier = self._courier
        assert courier is not None
        try:
            while not self._stopped():
                opened = await courier.fetch(peer.contact_id, peer.pair)
                stored = await self._take(peer, opened.frames)
                await courier.ack(peer.pair, [*opened.dropped, *stored])
                if not opened.more or not (stored or opened.dropped):
                    break
        except SignalingError as exc:
            if courier.available:
                self._log.info("could not fetch the mailbox of %s (%r)", peer, exc)
        finally:
            self._fetching.discard(peer.contact_id)

    async def _take(self, peer: ChatPeer, frames: list[tuple[int, bytes]]) -> list[int]:
        """Hand mailbox frames to the conversation as frames from the channel;
        the IDs of the items now stored (or unusable), to acknowledge."""
        held: set[int] = set()
        done: list[int] = []
        chat: list[tuple[int, bytes]] = []
        for item_id, frame in frames:
            if is_group_frame(frame):
                if await self._take_group(peer, frame):
                    done.append(item_id)
            elif is_file_frame(frame):
                if await self._take_file(peer, frame):
                    done.append(item_id)
            else:
                chat.append((item_id, frame))
        taken = [
            (item_id, self._receive(peer, frame, partial(held.add, item_id)))
            for item_id, frame in chat
        ]
        for item_id, future in taken:
            try:
                await future
            except MalformedChatFrame as exc:
                self._log.warning("dropped a mailbox frame from %s (%s)", peer, exc.code)
            except Exception as exc:  # a failed commit: not acknowledged, fetched again
                self._log.info("a mailbox frame from %s was not stored (%r)", peer, exc)
                continue
            if item_id not in held:
                done.append(item_id)
        return done

    async def _take_group(self, peer: ChatPeer, frame: bytes) -> bool:
        """Hand a group frame to the groups; whether it may be acknowledged
        (False: it was not handled, it is fetched again)."""
        if self._groups is None or peer.blocked:
            return True  # nobody takes it: drop it like a frame that cannot be read
        try:
            await self._groups.take(peer.contact_id, frame)
        except Exception as exc:
            self._log.info("a group frame from %s was not handled (%r)", peer, exc)
            return False
        return True

    async def _take_file(self, peer: ChatPeer, frame: bytes) -> bool:
        """Hand a file frame to the file transfers (a ``done`` owed for a small
        file goes back through the contact's mailbox); whether it may be
        acknowledged (False: it was not stored, it is fetched again)."""
        if self._files is None or peer.blocked:
            return True  # nobody takes it: drop it like a frame that cannot be read
        try:
            reply = await self._files.take_from_mailbox(peer.contact_id, frame)
        except Exception as exc:
            self._log.info("a file from %s was not stored (%r)", peer, exc)
            return False
        if reply is not None:
            self._spawn(self._deposit(peer, reply))
        return True

    def _receive(
        self, peer: ChatPeer, frame: bytes, held: Callable[[], None]
    ) -> asyncio.Future[None]:
        """Receive one mailbox frame; ``held`` is called if the conversation
        only holds it (an earlier one is missing): it is not stored yet, so its
        item stays on the server."""
        now = self._clock()

        def receive(conversation: Conversation) -> list[ConversationEvent]:
            events = conversation.receive(frame, now)
            if not events and not isinstance(decode_chat_frame(frame), Receipt | Typing):
                held()
            return _via_mailbox(events, frame)

        return self._call(peer, peer.conversation.needs(frame), receive)


def _parcel_entry(entry_id: str) -> str:
    """The courier's deposit key of the small file an outbox entry carries."""
    return f"{entry_id}/file"


def _via_mailbox(events: list[ConversationEvent], frame: bytes) -> list[ConversationEvent]:
    """Mark the message a mailbox ``Text`` frame stored as come ``via`` the mailbox."""
    try:
        text = decode_chat_frame(frame)
    except MalformedChatFrame:
        return events
    if not isinstance(text, Text):
        return events
    return [
        StoreMessage(replace(e.message, via="mailbox"))
        if isinstance(e, StoreMessage) and e.message.id == text.id
        else e
        for e in events
    ]
