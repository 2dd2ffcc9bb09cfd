"""``PeerLink``: one WebRTC data channel to one contact (thin aiortc adapter).

The link makes or answers offers, sealed with :class:`~kith.p2p.signals.SignalBox`
and handed to ``send_signal`` (the node relays them on the pair's relay
topic), and reports typed :data:`~kith.p2p.events.LinkEvent` values on a
queue. aiortc's string events stop here. The data channel is negotiated
out of band (id 0, ordered, reliable), so both sides make it the same way.

States (``_TRANSITIONS``)::

    IDLE ──open()──► OFFERING ──answer──► CONNECTING ──channel open──► OPEN
    IDLE ──offer───────────────────────► CONNECTING
    any ──close(), timeout, failure, remote close──► IDLE

Crossed offers resolve with :func:`~kith.p2p.tiebreak.on_crossed_offer`. A
new offer while connecting or open replaces the old connection (the peer
restarted or retried).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from aiortc import (
    InvalidStateError,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)

from kith.p2p.errors import ChannelNotOpen, FrameTooLarge, MalformedSignal
from kith.p2p.events import (
    ChannelClosed,
    ChannelOpen,
    CloseCause,
    ConnectFailed,
    FailureReason,
    FrameReceived,
    LinkEvent,
)
from kith.p2p.framing import MAX_FRAME_SIZE
from kith.p2p.ice import (
    NO_TURN,
    IcePath,
    TurnSource,
    ice_configuration,
    relay_candidates_only,
    selected_path,
)
from kith.p2p.signals import ATTEMPT_SIZE, Signal, SignalBox, SignalKind
from kith.p2p.tiebreak import GlareAction, on_crossed_offer
from kith_proto.keys import IdentityKeys

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "LinkState",
    "PeerLink",
    "failure_event",
]

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT: Final = 20.0
DEFAULT_IDLE_TIMEOUT: Final = 300.0
CHANNEL_LABEL: Final = "kith"

SendSignal = Callable[[bytes], Awaitable[None]]


class LinkState(enum.Enum):
    """Where a link stands."""

    IDLE = "idle"
    OFFERING = "offering"
    CONNECTING = "connecting"
    OPEN = "open"


_L = LinkState
_TRANSITIONS: Final[frozenset[tuple[LinkState, LinkState]]] = frozenset(
    {
        (_L.IDLE, _L.OFFERING),
        (_L.IDLE, _L.CONNECTING),
        (_L.OFFERING, _L.CONNECTING),
        (_L.CONNECTING, _L.OPEN),
        (_L.OFFERING, _L.IDLE),
        (_L.CONNECTING, _L.IDLE),
        (_L.OPEN, _L.IDLE),
    }
)


def failure_event(
    connection_state: str, ice_state: str, *, opened: bool
) -> ChannelClosed | ConnectFailed | None:
    """Convert aiortc's connection and ICE state strings into our event, if any.

    Only a ``"failed"`` connection state ends a connection: after the channel
    opened it is lost; before, ICE failing means no path was found, and
    anything else that fails is the DTLS handshake (a wrong fingerprint).
    """
    if connection_state != "failed":
        return None
    if opened:
        return ChannelClosed(CloseCause.CONNECTION_LOST)
    if ice_state == "failed":
        return ConnectFailed(FailureReason.ICE_FAILED)
    return ConnectFailed(FailureReason.DTLS_FAILED)


class PeerLink:
    """One peer connection with one data channel to one contact.

    Args:
        own: our identity keys.
        peer_public: the contact's Ed25519 public key.
        send_signal: delivers a sealed signal to the contact (the relay).
        ice_servers: STUN URLs (empty on loopback or a LAN).
        turn: The TURN relays to use, asked afresh for every attempt.
        relay_only: Gather and accept only relayed candidates, so the contact
            never learns our address; without a relay, no attempt is made
            (``ConnectFailed(NO_RELAY)``).
        connect_timeout: seconds from offer or answer to an open channel.
        idle_timeout: seconds without a frame either way before closing.
        clock: wall clock (seconds) for signal freshness.
    """

    def __init__(
        self,
        own: IdentityKeys,
        peer_public: bytes,
        send_signal: SendSignal,
        *,
        ice_servers: Sequence[str] = (),
        turn: TurnSource = NO_TURN,
        relay_only: bool = False,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._own = own.public_key
        self._peer = peer_public
        self._box = SignalBox(own, peer_public)
        self._send_signal = send_signal
        self._stun = tuple(ice_servers)
        self._turn = turn
        self._relay_only = relay_only
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self._state = LinkState.IDLE
        self._pc: RTCPeerConnection | None = None
        self._channel: RTCDataChannel | None = None
        self._attempt = b""
        self._offerer = False
        self._timer: asyncio.TimerHandle | None = None
        self._last_activity = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return f"PeerLink(state={self._state.value}, offerer={self._offerer})"

    @property
    def state(self) -> LinkState:
        """The current state."""
        return self._state

    @property
    def path(self) -> IcePath | None:
        """Whether the open connection runs through a TURN relay (``None``: not open)."""
        if self._state is not LinkState.OPEN or self._pc is None:
            return None
        return selected_path(self._pc)

    @property
    def offerer(self) -> bool:
        """Whether we made the offer of the current (or last) connection."""
        return self._offerer

    async def next_event(self) -> LinkEvent:
        """Wait for the next event."""
        return await self._events.get()

    def pending_events(self) -> list[LinkEvent]:
        """Take every event already queued, without waiting."""
        events = []
        while not self._events.empty():
            events.append(self._events.get_nowait())
        return events

    async def open(self) -> None:
        """Offer a connection (no-op unless idle); the outcome comes as an event.

        Raises:
            Exception: whatever ``send_signal`` raised (e.g. the relay says the
                contact is offline); the link is then idle again.
        """
        if self._state is not LinkState.IDLE or self._relay_missing():
            return
        pc = self._begin(os.urandom(ATTEMPT_SIZE), offerer=True, state=LinkState.OFFERING)
        try:
            await pc.setLocalDescription(await pc.createOffer())
        except InvalidStateError as exc:
            self._raise_if_current(pc, exc)
        if pc is self._pc:
            await self._send(SignalKind.OFFER, pc)

    async def accept(self, payload: bytes) -> None:
        """Handle one sealed signal relayed from the contact.

        Raises:
            PeerP2PError: the signal is malformed, tampered, for another
                direction, replayed or stale (the link is unchanged).
            Exception: whatever ``send_signal`` raised sending the answer.
        """
        signal = self._box.open(payload, self._clock())
        if signal.kind is SignalKind.OFFER:
            await self._on_offer(signal)
        else:
            await self._on_answer(signal)

    def send(self, frame: bytes) -> None:
        """Send one frame on the open channel.

        Raises:
            ChannelNotOpen: the channel is not open.
            FrameTooLarge: the frame exceeds ``MAX_FRAME_SIZE``.
        """
        if self._state is not LinkState.OPEN or self._channel is None:
            raise ChannelNotOpen("the data channel to this contact is not open")
        if len(frame) > MAX_FRAME_SIZE:
            raise FrameTooLarge(f"frames are limited to {MAX_FRAME_SIZE} bytes")
        self._channel.send(frame)
        self._touch()

    async def close(self) -> None:
        """Close the connection; reports ``ChannelClosed(LOCAL)`` if it was open."""
        was_open = self._state is LinkState.OPEN
        await self._teardown()
        if self._tasks:
            await asyncio.gather(*self._tasks)
        if was_open:
            self._emit(ChannelClosed(CloseCause.LOCAL))

    # -- negotiation --------------------------------------------------------

    async def _on_offer(self, signal: Signal) -> None:
        if self._state is LinkState.OFFERING:
            if on_crossed_offer(self._own, self._peer) is GlareAction.IGNORE_THEIRS:
                return
            await self._teardown()
        elif self._state is not LinkState.IDLE:
            was_open = self._state is LinkState.OPEN
            await self._teardown()
            if was_open:
                self._emit(ChannelClosed(CloseCause.REPLACED))
        if self._relay_missing():
            return
        pc = self._begin(signal.attempt, offerer=False, state=LinkState.CONNECTING)
        try:
            await self._describe(pc, signal.sdp, "offer")
            await pc.setLocalDescription(await pc.createAnswer())
        except InvalidStateError as exc:
            self._raise_if_current(pc, exc)
        if pc is self._pc:
            await self._send(SignalKind.ANSWER, pc)

    async def _on_answer(self, signal: Signal) -> None:
        pc = self._pc
        if self._state is not LinkState.OFFERING or signal.attempt != self._attempt or pc is None:
            log.debug("dropping an answer to no current offer")
            return
        self._move(LinkState.CONNECTING)
        try:
            await self._describe(pc, signal.sdp, "answer")
        except InvalidStateError as exc:
            self._raise_if_current(pc, exc)

    async def _describe(self, pc: RTCPeerConnection, sdp: str, kind: str) -> None:
        if self._relay_only:
            sdp = relay_candidates_only(sdp)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        except InvalidStateError:
            raise
        except Exception as exc:
            # A parse boundary on data from the peer: aiortc raises AssertionError
            # (a bad ``a=candidate:`` line), ValueError, KeyError, IndexError...
            log.debug("the peer's %s does not parse: %s", kind, type(exc).__name__)
            if pc is self._pc:
                await self._teardown()
                self._emit(ConnectFailed(FailureReason.BAD_SIGNAL))
            raise MalformedSignal(f"the peer's {kind} is not a usable description") from None

    def _raise_if_current(self, pc: RTCPeerConnection, exc: InvalidStateError) -> None:
        """aiortc refuses work on a closed connection; that is expected when a
        newer attempt replaced ``pc`` meanwhile, and a bug otherwise."""
        if pc is self._pc:
            raise exc

    async def _send(self, kind: SignalKind, pc: RTCPeerConnection) -> None:
        signal = Signal(kind, self._attempt, pc.localDescription.sdp)
        try:
            await self._send_signal(self._box.seal(signal, self._clock()))
        except BaseException:
            if pc is self._pc:
                await self._teardown()
            raise

    # -- connection lifetime ------------------------------------------------

    def _relay_missing(self) -> bool:
        """Relay-only without a relay: report it instead of connecting directly."""
        if not self._relay_only or self._turn.turn_servers():
            return False
        self._emit(ConnectFailed(FailureReason.NO_RELAY))
        return True

    def _begin(self, attempt: bytes, *, offerer: bool, state: LinkState) -> RTCPeerConnection:
        self._move(state)
        turn = self._turn.turn_servers()
        pc = RTCPeerConnection(ice_configuration(self._stun, turn, relay_only=self._relay_only))
        channel = pc.createDataChannel(CHANNEL_LABEL, negotiated=True, id=0)
        self._pc, self._channel = pc, channel
        self._attempt, self._offerer = attempt, offerer
        pc.on("connectionstatechange", lambda: self._on_connection_state(pc))
        channel.on("open", lambda: self._on_open(pc))
        channel.on("message", lambda message: self._on_message(pc, message))
        channel.on("close", lambda: self._on_channel_close(pc))
        self._arm(self._connect_timeout, lambda: self._on_connect_timeout(pc))
        return pc

    def _on_open(self, pc: RTCPeerConnection) -> None:
        if pc is not self._pc or self._state is not LinkState.CONNECTING:
            return
        self._move(LinkState.OPEN)
        self._touch()
        self._arm(self._idle_timeout, lambda: self._on_idle_check(pc))
        self._emit(ChannelOpen(offerer=self._offerer))

    def _on_message(self, pc: RTCPeerConnection, message: bytes | str) -> None:
        if pc is not self._pc:
            return
        if isinstance(message, str):
            log.debug("dropping a text message on the data channel")
            return
        self._touch()
        self._emit(FrameReceived(message))

    def _on_channel_close(self, pc: RTCPeerConnection) -> None:
        if pc is self._pc and self._state is LinkState.OPEN:
            self._end(ChannelClosed(CloseCause.REMOTE))

    def _on_connection_state(self, pc: RTCPeerConnection) -> None:
        if pc is not self._pc:
            return
        opened = self._state is LinkState.OPEN
        event = failure_event(pc.connectionState, pc.iceConnectionState, opened=opened)
        if event is not None:
            self._end(event)

    def _on_connect_timeout(self, pc: RTCPeerConnection) -> None:
        if pc is self._pc and self._state is not LinkState.OPEN:
            self._end(ConnectFailed(FailureReason.TIMEOUT))

    def _on_idle_check(self, pc: RTCPeerConnection) -> None:
        if pc is not self._pc or self._state is not LinkState.OPEN:
            return
        loop = asyncio.get_running_loop()
        remaining = self._last_activity + self._idle_timeout - loop.time()
        if remaining > 0:
            self._arm(remaining, lambda: self._on_idle_check(pc))
        else:
            self._end(ChannelClosed(CloseCause.IDLE))

    def _end(self, event: LinkEvent) -> None:
        """Report ``event`` and tear the connection down (from a callback)."""
        self._emit(event)
        task = asyncio.ensure_future(self._teardown())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _teardown(self) -> None:
        pc, self._pc, self._channel = self._pc, None, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._state is not LinkState.IDLE:
            self._move(LinkState.IDLE)
        if pc is not None:
            await pc.close()

    # -- helpers ------------------------------------------------------------

    def _move(self, target: LinkState) -> None:
        if (self._state, target) not in _TRANSITIONS:
            raise AssertionError(f"link cannot move from {self._state.value} to {target.value}")
        self._state = target

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def _touch(self) -> None:
        self._last_activity = asyncio.get_running_loop().time()

    def _emit(self, event: LinkEvent) -> None:
        self._events.put_nowait(event)
