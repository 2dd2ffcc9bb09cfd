"""One contact's chat machinery: a conversation, a lazy peer link, a secure channel.

A :class:`ChatPeer` owns the pure :class:`~kith.chat.Conversation` with
one contact, the :class:`~kith.p2p.PeerLink` to them (made on first use,
reused, closed when idle) and the :class:`~kith.p2p.SecureChannel` of the
channel currently open. It turns the link's events into conversation calls
and hands the conversation's events to its :class:`PeerHost` (the chat
link), which persists them before anything they imply is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import Protocol

from kith.calls.frames import is_call_frame
from kith.chat import (
    ChatFrame,
    Conversation,
    ConversationEvent,
    InboundLimit,
    MalformedChatFrame,
    RateDecision,
    Receipt,
    decode_chat_frame,
    encode_chat_frame,
)
from kith.chat.frames import MAX_RECEIPT_IDS, is_mailbox_key_frame
from kith.contacts import contact_label
from kith.files.frames import is_file_frame
from kith.groups.frames import is_group_frame
from kith.p2p import (
    ChannelClosed,
    ChannelNotOpen,
    ChannelOpen,
    ConnectFailed,
    FrameReceived,
    IcePath,
    LinkEvent,
    LinkState,
    MessageReceived,
    PeerClosing,
    PeerLink,
    PeerP2PError,
    SecureChannel,
    SecureState,
    SendData,
    SessionEstablished,
)
from kith.runtime.chat.peer_state import GateInput, PeerState
from kith.sessions import IdentityKeyChanged, PeerError
from kith.signaling import NotConnected, ReplyTimeout, SignalingError
from kith_proto.ids import parse_id
from kith_proto.keys import IdentityKeys
from kith_proto.pair import PairChannel

__all__ = [
    "CallHost",
    "ChatPeer",
    "FileHost",
    "GroupHost",
    "LinkFactory",
    "PeerHost",
    "is_delivery_receipt",
]


class PeerHost(Protocol):
    """What a peer needs from the chat driver that owns it."""

    def execute(self, peer: ChatPeer, events: list[ConversationEvent]) -> asyncio.Future[None]:
        """Persist the conversation's events, then act on them."""
        ...

    def key_changed(self, peer: ChatPeer, presented: bytes) -> None:
        """The peer proved another identity key: warn, send nothing."""
        ...

    def link_failed(self, peer: ChatPeer, reason: str) -> None:
        """A connection attempt failed for ``reason`` (tell the user)."""
        ...

    def link_changed(self, peer: ChatPeer) -> None:
        """The link opened, closed or failed (relay subscriptions may change)."""
        ...

    def recall(
        self, peer: ChatPeer, message_ids: Sequence[str], then: Callable[[], None]
    ) -> asyncio.Future[None]:
        """Read these messages back into the conversation, then run ``then``
        (after everything submitted before is stored)."""
        ...

    def rate_limited(self, peer: ChatPeer, notify: bool) -> None:
        """A frame over the contact's inbound limit was dropped (tell the user if ``notify``)."""
        ...

    def session_open(self, peer: ChatPeer, secure: SecureChannel) -> None:
        """A session is established on ``secure`` (announce our mailbox key on it)."""
        ...

    def mailbox_key(self, peer: ChatPeer, data: bytes) -> None:
        """The contact announced their mailbox key (``data``: the frame, unchecked)."""
        ...


class FileHost(Protocol):
    """Where a peer's file frames and channel news go: :class:`kith.runtime.files.FileTransfers`."""

    def channel_open(self, peer: ChatPeer) -> None:
        """A session was established on the peer's channel."""
        ...

    def channel_closed(self, peer: ChatPeer) -> None:
        """The peer's channel closed or failed."""
        ...

    def receive(self, peer: ChatPeer, plaintext: bytes) -> None:
        """A file frame (``kith.files.frames``) from the contact."""
        ...

    def pending(self, contact_id: str) -> bool:
        """Whether a transfer with the contact is unfinished (connect when they are online)."""
        ...

    def messages_deleted(self, contact_id: str, message_ids: list[str]) -> None:
        """These messages were deleted (stored): the files they carry go with them."""
        ...

    async def parcel(self, contact_id: str, file_id: str) -> bytes | None:
        """The mailbox frame of our small file ``file_id`` (None: it waits for a channel)."""
        ...

    async def take_from_mailbox(self, contact_id: str, frame: bytes) -> bytes | None:
        """A file frame from the contact's mailbox; the frame owed back through it, if any."""
        ...


class CallHost(Protocol):
    """Where a peer's call frames and channel news go (the call switchboard,
    :mod:`kith.runtime.calls.switchboard`)."""

    def channel_open(self, peer: ChatPeer) -> None:
        """A session was established on the peer's channel."""
        ...

    def channel_closed(self, peer: ChatPeer) -> None:
        """The peer's channel closed or failed."""
        ...

    def receive(self, peer: ChatPeer, plaintext: bytes) -> None:
        """A call frame (``kith.calls.frames``) from the contact."""
        ...

    def pending(self, contact_id: str) -> bool:
        """Whether a missed-call notice waits for the contact (connect when they are online)."""
        ...


class GroupHost(Protocol):
    """Where a peer's group frames and channel news go (:class:`kith.runtime.groups.GroupHub`)."""

    def channel_open(self, peer: ChatPeer) -> None:
        """A session was established on the peer's channel (send what waits)."""
        ...

    def channel_closed(self, peer: ChatPeer) -> None:
        """The peer's channel closed or failed."""
        ...

    def receive(self, peer: ChatPeer, plaintext: bytes) -> None:
        """A group frame (``kith.groups.frames``) from the contact."""
        ...

    def resume(self, peer: ChatPeer) -> None:
        """Group frames from the contact are taken again after some were dropped over
        the rate limit (ask for them again)."""
        ...

    async def take(self, contact_id: str, plaintext: bytes) -> None:
        """A group frame the contact left in the mailbox (handled when this returns)."""
        ...

    def pending(self, contact_id: str) -> bool:
        """Whether group frames wait for the contact (connect when they are online)."""
        ...


LinkFactory = Callable[[PairChannel], PeerLink]
"""Makes the peer link of a contact (the relay topics come from the channel)."""


def _failure_reason(exc: Exception) -> str:
    """A short reason for a failed offer: ``offline``, ``not_connected``, …"""
    code = str(getattr(exc, "code", ""))
    if code == "peer_offline":
        return "offline"
    if isinstance(exc, NotConnected):
        return "not_connected"
    if isinstance(exc, ReplyTimeout):
        return "timeout"
    return code or "failed"


_RECEIPT_PREFIX = encode_chat_frame(Receipt("delivered", []))[:-1]


def is_delivery_receipt(frame: bytes) -> bool:
    """Whether an encoded chat frame (our own) is a delivery receipt."""
    return frame.startswith(_RECEIPT_PREFIX)


class ChatPeer:
    """The conversation and connection with one contact.

    Args:
        contact_id: The contact's Kith ID.
        keys: Our identity keys.
        pair: The pair channel (relay topics, presence records).
        conversation: The conversation restored from the store.
        make_link: Builds the peer link on first use.
        host: The chat driver (persistence, events, notices).
        clock: Wall-clock seconds.
        log: Where peer errors go (never message content).
        key_changed: The store holds a key warning for the contact.
        limit: The contact's inbound rate limit.
        files: Where file frames and channel news go (none: file frames are dropped).
        calls: Where call frames and channel news go (none: call frames are dropped).
        groups: Where group frames and channel news go (none: group frames are dropped).
    """

    def __init__(
        self,
        contact_id: str,
        *,
        keys: IdentityKeys,
        pair: PairChannel,
        conversation: Conversation,
        make_link: LinkFactory,
        host: PeerHost,
        clock: Callable[[], float],
        log: logging.Logger,
        key_changed: bool = False,
        limit: InboundLimit | None = None,
        files: FileHost | None = None,
        calls: CallHost | None = None,
        groups: GroupHost | None = None,
    ) -> None:
        self.contact_id = contact_id
        self.public_key = parse_id(contact_id)
        self.pair = pair
        self.conversation = conversation
        self.state = PeerState(key_changed=key_changed, flagged=conversation.has_outbox)
        """The gate and facts (see :mod:`kith.runtime.chat.peer_state`); only
        its named moves change them."""
        self._keys = keys
        self._make_link = make_link
        self._host = host
        self._clock = clock
        self._log = log
        self._link: PeerLink | None = None
        self._secure: SecureChannel | None = None
        self._lock = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._receipts: list[str] = []
        self._receipt_channel: SecureChannel | None = None
        self._outgoing: list[bytes] = []
        self._outgoing_channel: SecureChannel | None = None
        self._limit = limit if limit is not None else InboundLimit()
        self._files = files
        self._calls = calls
        self._groups = groups
        self._groups_paused = False
        self._groups_resume: asyncio.TimerHandle | None = None
        self._inbound: deque[ChatFrame] = deque()
        self._recalling = False

    def __repr__(self) -> str:
        return f"ChatPeer({self.contact_id[:8]}, {self.link_state.value}, {self.state!r})"

    @property
    def online(self) -> bool:
        """Whether presence says the contact is online."""
        return self.state.online

    @property
    def blocked(self) -> bool:
        """Whether nothing may be sent (the contact's key changed)."""
        return self.state.blocked

    @property
    def recovering(self) -> bool:
        """Whether the conversation is being rebuilt after a failed commit
        (calls are refused, chat frames dropped)."""
        return self.state.rebuilding

    @property
    def opening(self) -> bool:
        """Whether a connection attempt is under way."""
        return self.state.opening

    @property
    def link_state(self) -> LinkState:
        """The link's state (idle before the first use)."""
        return LinkState.IDLE if self._link is None else self._link.state

    @property
    def path(self) -> IcePath | None:
        """Whether the open link runs through a TURN relay (``None``: not open)."""
        return None if self._link is None else self._link.path

    @property
    def secure(self) -> SecureChannel | None:
        """The secure channel of the open channel, if any."""
        return self._secure

    @property
    def is_open(self) -> bool:
        """Whether a channel is open with an established session."""
        return self._secure is not None and self._secure.state is SecureState.ESTABLISHED

    # -- connecting ---------------------------------------------------------

    async def open(self) -> None:
        """Offer a connection unless one exists; a failure is a conversation event."""
        async with self._lock:
            link = self._ensure_link()
            if link.state is not LinkState.IDLE:
                return
            self.state.set_opening(True)
            self._host.link_changed(self)
            failure = None
            try:
                await link.open()
            except (SignalingError, PeerP2PError) as exc:
                failure = _failure_reason(exc)
            finally:
                self.state.set_opening(False)
            if failure is not None:
                self._open_failed(failure)

    def _open_failed(self, reason: str) -> None:
        self._host.link_failed(self, reason)
        self._host.execute(self, self.conversation.connect_failed(self._clock()))
        self._host.link_changed(self)

    async def accept(self, payload: bytes) -> None:
        """Hand one relayed signal to the link (refused ones are logged)."""
        async with self._lock:
            try:
                await self._ensure_link().accept(payload)
            except PeerP2PError as exc:
                self._log.warning(
                    "refused a signal from %s (%s)", contact_label(self.contact_id), exc.code
                )
            except SignalingError as exc:
                self._log.info(
                    "could not answer %s: %s", contact_label(self.contact_id), type(exc).__name__
                )

    async def close(self) -> None:
        """Close the link (the conversation learns it from the link's event)."""
        self._flush_outgoing()
        if self._link is not None:
            await self._link.close()

    async def stop(self) -> None:
        """Close everything for good (the node is stopping or the contact was removed)."""
        self.cancel_timer()
        self._cancel_groups_resume()
        await self.close()
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    def _ensure_link(self) -> PeerLink:
        if self._link is None:
            self._link = self._make_link(self.pair)
            self._pump = asyncio.ensure_future(self._run_pump(self._link))
        return self._link

    # -- link events --------------------------------------------------------

    async def _run_pump(self, link: PeerLink) -> None:
        while True:
            event = await link.next_event()
            try:
                self._on_event(event)
            except Exception:
                self._log.exception(
                    "could not handle a link event from %s", contact_label(self.contact_id)
                )

    def _on_event(self, event: LinkEvent) -> None:
        now = self._clock()
        match event:
            case ChannelOpen(offerer=offerer):
                self._secure = SecureChannel(self._keys, self.public_key)
                if offerer:
                    self._send_raw(self._secure.start().data)
                self._host.link_changed(self)
            case FrameReceived(data=data):
                self._on_frame(data, now)
            case ChannelClosed():
                self._secure = None
                if self._files is not None:
                    self._files.channel_closed(self)
                if self._calls is not None:
                    self._calls.channel_closed(self)
                if self._groups is not None:
                    self._groups.channel_closed(self)
                self._host.execute(self, self.conversation.channel_closed(now))
                self._host.link_changed(self)
            case ConnectFailed(reason=reason):
                self._secure = None
                self._open_failed(reason.value)

    def _on_frame(self, data: bytes, now: float) -> None:
        secure = self._secure
        if secure is None:
            return
        try:
            events = secure.receive(data)
        except IdentityKeyChanged as exc:
            self._host.key_changed(self, exc.received_identity)
            self._close_soon()
            return
        except (PeerP2PError, PeerError) as exc:
            self._log.warning(
                "dropped a frame from %s (%s)", contact_label(self.contact_id), exc.code
            )
            if secure.state is SecureState.FAILED:
                self._close_soon()
            return
        for event in events:
            self._on_secure(secure, event, now)

    def _on_secure(self, secure: SecureChannel, event: object, now: float) -> None:
        match event:
            case SendData(data=data):
                self._send_raw(data)
            case SessionEstablished():
                # the session lives only in memory, for this channel: never stored
                if not self.blocked:
                    self._host.execute(self, self.conversation.channel_open(now))
                    self._host.session_open(self, secure)
                    if self._files is not None:
                        self._files.channel_open(self)
                    if self._calls is not None:
                        self._calls.channel_open(self)
                    if self._groups is not None:
                        self._groups_paused = False
                        self._cancel_groups_resume()
                        self._groups.channel_open(self)
            case MessageReceived(plaintext=plaintext):
                self._on_chat(plaintext, now)
            case PeerClosing():
                self._close_soon()

    def _on_chat(self, plaintext: bytes, now: float) -> None:
        """Take one chat frame, within the contact's rate limit, in order: a
        frame naming messages not held waits (with those after it) until the
        host has read them back."""
        if self.recovering:
            return  # not applied, not receipted: the sender resends it
        if is_call_frame(plaintext):  # before files: a call frame's mark starts with theirs
            if self._calls is not None and not self.blocked:
                self._calls.receive(self, plaintext)  # a few per call, never stored
            return
        if is_group_frame(plaintext):  # before files: a group frame's mark starts with theirs
            if self._groups is not None and not self.blocked and self._admit_group(now):
                self._groups.receive(self, plaintext)  # the hub orders and checks them
            return
        if is_file_frame(plaintext):
            if self._files is not None and not self.blocked:
                self._files.receive(self, plaintext)  # paced by its own window, not the limit
            return
        decision = self._limit.admit(now)
        if decision is not RateDecision.ACCEPT:
            self._host.rate_limited(self, decision is RateDecision.DROP_AND_NOTIFY)
            return  # not applied, not receipted: the sender resends it
        if is_mailbox_key_frame(plaintext):
            self._host.mailbox_key(self, plaintext)  # not a chat frame: never shown
            return
        try:
            frame = decode_chat_frame(plaintext)  # once: the conversation takes it decoded
        except MalformedChatFrame as exc:
            self._log.warning(
                "dropped a chat frame from %s (%s)", contact_label(self.contact_id), exc.code
            )
            return
        self._inbound.append(frame)
        if not self._recalling:
            self._drain_inbound()

    def _admit_group(self, now: float) -> bool:
        """A group frame costs one token of the contact's limit, like a chat frame.
        Over it, this and every later group frame are dropped (an acknowledgement
        covers every queued frame before it, so none may be taken after a dropped
        one) until the bucket is half full again: then the group hub asks the
        contact to send again all it has not had acknowledged, in order."""
        if self._groups_paused:
            return False
        decision = self._limit.admit(now)
        if decision is RateDecision.ACCEPT:
            return True
        self._groups_paused = True
        self._host.rate_limited(self, decision is RateDecision.DROP_AND_NOTIFY)
        delay = self._limit.next_allowed(now, self._limit.burst / 2) - now
        loop = asyncio.get_running_loop()
        self._groups_resume = loop.call_later(max(0.0, delay), self._resume_groups)
        return False

    def _resume_groups(self) -> None:
        self._groups_resume = None
        self._groups_paused = False
        if self._groups is not None:
            self._groups.resume(self)

    def _cancel_groups_resume(self) -> None:
        if self._groups_resume is not None:
            self._groups_resume.cancel()
            self._groups_resume = None

    def _drain_inbound(self) -> None:
        while self._inbound:
            needed = self.conversation.needs_frame(self._inbound[0])
            if needed:
                self._recalling = True
                self._host.recall(self, needed, self._recalled)
                return
            self._apply_chat(self._inbound.popleft())

    def _recalled(self) -> None:
        """The messages the first waiting frame names are held now (or not
        stored at all: the conversation refuses what names them)."""
        self._recalling = False
        if self._inbound:
            self._apply_chat(self._inbound.popleft())
        self._drain_inbound()

    def _apply_chat(self, frame: ChatFrame) -> None:
        self._host.execute(self, self.conversation.receive_frame(frame, self._clock()))

    def _close_soon(self) -> None:
        task = asyncio.ensure_future(self.close())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def restore(self, conversation: Conversation, key_changed: bool) -> None:
        """Take the conversation rebuilt from the store after a failed commit
        (the link was closed first, so no channel is open)."""
        self.conversation = conversation
        self._inbound.clear()  # never receipted: the sender resends them
        self._recalling = False
        self.state.move(GateInput.RESTORED_KEY_CHANGED if key_changed else GateInput.RESTORED)

    # -- sending --------------------------------------------------------------

    def send_frame(self, secure: SecureChannel | None, data: bytes) -> None:
        """Encrypt and send a chat frame on ``secure`` if it is still the open channel.

        Frames are gathered for the rest of the loop turn and sealed together
        (:meth:`SecureChannel.seal_all`: one ``BUNDLE`` for a burst, to a
        peer that takes them), in the order given. A frame meant for a
        channel that closed meanwhile is dropped: what it carried is still
        in the outbox and goes out on the next channel.

        Raises:
            FrameTooLarge: ``data`` exceeds what one message may carry.
        """
        if secure is None or secure is not self._secure or not self.is_open or self.blocked:
            return
        secure.check_sealable(data)
        if secure is not self._outgoing_channel:
            self._flush_outgoing()
            self._outgoing_channel = secure
        self._outgoing.append(data)
        if len(self._outgoing) == 1:
            asyncio.get_running_loop().call_soon(self._flush_outgoing)

    def _flush_outgoing(self) -> None:
        """Seal and send the gathered frames (only on the channel they were meant for)."""
        frames, self._outgoing = self._outgoing, []
        secure = self._outgoing_channel
        if not frames or secure is None or secure is not self._secure or self.blocked:
            return
        for sealed in secure.seal_all(frames):
            self._link_send(sealed.data)

    def queue_receipt(self, secure: SecureChannel | None, delivered: Sequence[str]) -> None:
        """Gather a delivery receipt (the IDs it names) for :meth:`flush_receipts`
        (same channel only)."""
        if secure is not self._receipt_channel:
            self.flush_receipts()
            self._receipt_channel = secure
        self._receipts += delivered

    def flush_receipts(self) -> None:
        """Send the gathered delivery receipts (at most 1,000 IDs per frame)."""
        ids, self._receipts = self._receipts, []
        for start in range(0, len(ids), MAX_RECEIPT_IDS):
            chunk = ids[start : start + MAX_RECEIPT_IDS]
            self.send_frame(self._receipt_channel, encode_chat_frame(Receipt("delivered", chunk)))

    def _send_raw(self, data: bytes) -> None:
        """Send a control frame after the frames gathered before it."""
        self._flush_outgoing()
        self._link_send(data)

    def _link_send(self, data: bytes) -> None:
        if self._link is None:
            return
        with contextlib.suppress(ChannelNotOpen):
            self._link.send(data)

    def keepalive(self) -> None:
        """Keep an open channel from idling out (a chat is on screen)."""
        if self._secure is not None:
            self._send_raw(self._secure.keepalive().data)

    # -- the conversation's timer -------------------------------------------

    def reschedule(self, on_due: Callable[[ChatPeer], None]) -> None:
        """Have the timer fire by the conversation's next deadline.

        A pending timer due no later than that is kept: a stream of messages
        and receipts moves the deadline on with every call, and a timer that
        fires early only makes ``on_due`` find nothing due and reschedule; so
        a busy conversation makes no timer per message.
        """
        deadline = self.conversation.next_deadline()
        if deadline is None:
            self.cancel_timer()
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, deadline - self._clock())
        if self._timer is not None and self._timer.when() <= loop.time() + delay:
            return
        self.cancel_timer()
        self._timer = loop.call_later(delay, self._fire, on_due)

    def _fire(self, on_due: Callable[[ChatPeer], None]) -> None:
        self._timer = None
        on_due(self)

    def cancel_timer(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
