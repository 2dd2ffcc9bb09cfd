"""The node's calls: the pure call machines run over the peers' secure channels.

:class:`CallSwitchboard` holds one :class:`~kith.calls.Call` per live call and
carries out its steps: call frames sealed on the contact's open
:class:`~kith.p2p.SecureChannel` (through the :class:`CallPeer` that handed
them in), live events for the page, and an entry in the call log when a
call ends. Media never passes through the node: the two pages exchange
their session descriptions and ICE candidates through here (so the
signaling server sees none of them) and then talk browser to browser.

A chat peer calls :meth:`channel_open` when a session is established,
:meth:`channel_closed` when it closes and :meth:`receive` for every call
frame. The user's side (start, accept, decline, hang up, relay the page's
signals) is :class:`~kith.runtime.calls.service.CallService`.

One call at a time: a ring while another call is live, or while the user's
status is busy, is answered ``busy`` without ringing and logged as missed; with
no page open to ring, it is answered ``unavailable`` (the caller is told the
contact is not reachable) and logged as missed.
Every ring is logged, so a contact's rings are rate limited
(:data:`RING_BURST`, then one every three seconds); those over it are dropped.

A call to a contact who cannot be reached is logged as unanswered here and
leaves a ``Missed`` notice, sent on the next channel to that contact (the chat
driver connects when they come online while one waits): their node then logs a
missed call. Notices are kept in the store with the call's log entry
(:meth:`~kith.store.call_log.CallLogRepository.notices`) and handed back in at
start, so a restart of our node still delivers them.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from kith.backend import OwnStatus
from kith.calls import (
    Answer,
    Call,
    CallError,
    CallFrame,
    CallInput,
    CallState,
    Decline,
    Hangup,
    Ice,
    IllegalTransition,
    MalformedCallFrame,
    Missed,
    Ring,
    Sdp,
    UnknownCall,
    decode_call_frame,
    encode_call_frame,
)
from kith.calls.frames import MAX_CANDIDATE, MAX_SDP
from kith.chat import InboundLimit, RateDecision
from kith.contacts import contact_label
from kith.p2p import SecureChannel
from kith.runtime.calls.events import CallEvent, CallSignalEvent
from kith.runtime.live import EventHub
from kith.runtime.store_writer import StoreRunner
from kith.store.call_log import CallRecord
from kith.store.store import Store

__all__ = ["CallPeer", "CallSwitchboard", "CallView"]

_MEDIA_STATES: Final = (CallState.CONNECTING, CallState.CONNECTED, CallState.RECONNECTING)
_DECLINES: Final = {
    "declined": CallInput.REMOTE_DECLINE,
    "busy": CallInput.REMOTE_BUSY,
    "unavailable": CallInput.REMOTE_UNAVAILABLE,
}
RING_BURST: Final = 10
"""Rings (and missed-call notices) a contact may send at once; each one is logged."""
RING_RATE: Final = 1 / 3
"""Rings per second a contact may send, sustained (one every three seconds)."""


class CallPeer(Protocol):
    """What the call side needs of a chat peer (:class:`~kith.runtime.chat.peer.ChatPeer`)."""

    contact_id: str

    @property
    def secure(self) -> SecureChannel | None:
        """The secure channel of the open channel, if any."""
        ...

    @property
    def is_open(self) -> bool:
        """Whether a channel is open with an established session."""
        ...

    def send_frame(self, secure: SecureChannel | None, data: bytes) -> None:
        """Seal and send ``data`` if ``secure`` is still the open channel."""
        ...


@dataclass(frozen=True, slots=True)
class CallView:
    """A call as the API shows it."""

    id: str
    contact_id: str
    direction: str
    video: bool
    state: str
    reason: str | None
    outcome: str | None
    created: float
    connected_at: float | None
    duration: float

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the API."""
        return {
            "id": self.id,
            "contact": self.contact_id,
            "direction": self.direction,
            "video": self.video,
            "state": self.state,
            "reason": self.reason,
            "outcome": self.outcome,
            "created": self.created,
            "connected_at": self.connected_at,
            "duration": round(self.duration, 1),
        }


def view_of(call: Call) -> CallView:
    """The API's view of ``call``."""
    entry = call.outcome()
    return CallView(
        call.id, call.contact_id, "out" if call.outgoing else "in", call.video,
        call.state.value, None if call.reason is None else call.reason.value,
        None if entry is None else entry.value, call.created, call.connected_at, call.duration(),
    )  # fmt: skip


class StatusSource(Protocol):
    """The user's own status (the presence driver): busy means do not disturb."""

    def own_status(self) -> OwnStatus:
        """The own status as the API shows it."""
        ...


@dataclass(eq=False)
class _Live:
    call: Call
    peer: CallPeer
    timer: asyncio.TimerHandle | None = None


class CallSwitchboard:
    """Every live call of the node.

    Args:
        store: The node's store (the call log).
        hub: Live events for the page.
        status: The user's own status (busy: rings are suppressed).
        clock: Wall-clock seconds.
        log: Where refused frames go (never their content).
        notices: The calls whose missed-call notice is still owed (read from the store
            at start).
    """

    def __init__(
        self,
        *,
        store: StoreRunner,
        hub: EventHub,
        status: StatusSource,
        clock: Callable[[], float],
        log: logging.Logger,
        notices: Sequence[CallRecord] = (),
    ) -> None:
        self._store = store
        self._hub = hub
        self._status = status
        self._clock = clock
        self._log = log
        self._calls: dict[str, _Live] = {}
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._notices: dict[str, list[Missed]] = {}
        for owed in notices:
            self._notices.setdefault(owed.contact_id, []).append(
                Missed(owed.id, owed.video, int(owed.started_at))
            )
        self._ring_limits: dict[str, InboundLimit] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the peers' side (CallHost) -------------------------------------------

    def channel_open(self, peer: CallPeer) -> None:
        """A session was established on the peer's channel: missed-call notices go out."""
        sent = self._notices.pop(peer.contact_id, [])
        for notice in sent:
            peer.send_frame(peer.secure, encode_call_frame(notice))
        if sent:
            self._write(lambda store: store.call_log.notices_sent([n.id for n in sent]))
        for waiter in self._waiting.pop(peer.contact_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def channel_closed(self, peer: CallPeer) -> None:
        """The peer's channel closed: calls still ringing or connecting with them fail."""
        for live in [c for c in self._calls.values() if c.call.contact_id == peer.contact_id]:
            self._step(live, CallInput.CHANNEL_LOST)

    def pending(self, contact_id: str) -> bool:
        """Whether a missed-call notice waits for a channel to the contact."""
        return contact_id in self._notices

    def receive(self, peer: CallPeer, plaintext: bytes) -> None:
        """A call frame (``kith.calls.frames``) from the contact."""
        try:
            frame = decode_call_frame(plaintext)
            self._on_frame(peer, frame)
        except (MalformedCallFrame, IllegalTransition, UnknownCall) as exc:
            self._log.warning(
                "refused a call frame from %s (%s)", contact_label(peer.contact_id), exc.code
            )

    def _on_frame(self, peer: CallPeer, frame: CallFrame) -> None:
        if isinstance(frame, Ring | Missed):
            limit = self._ring_limits.setdefault(
                peer.contact_id, InboundLimit(RING_RATE, RING_BURST)
            )
            if limit.admit(self._now()) is not RateDecision.ACCEPT:
                raise IllegalTransition("rings from this contact come too fast: dropped")
        if isinstance(frame, Ring):
            self._ring(peer, frame)
            return
        if isinstance(frame, Missed):
            self._missed(peer, frame)
            return
        live = self._calls.get(frame.id)
        if live is None or live.call.contact_id != peer.contact_id:
            raise UnknownCall("no such call with this contact")
        match frame:
            case Answer() if live.call.outgoing:
                self._step(live, CallInput.REMOTE_ACCEPT)
            case Decline(reason=reason) if live.call.outgoing:
                self._step(live, _DECLINES[reason])
            case Hangup():
                self._step(live, CallInput.REMOTE_HANGUP)
            case Sdp(kind=kind, sdp=sdp) if live.call.state in _MEDIA_STATES:
                self._hub.publish(CallSignalEvent(frame.id, kind, sdp))
            case Ice(candidate=candidate) if live.call.state in _MEDIA_STATES:
                self._hub.publish(CallSignalEvent(frame.id, "ice", candidate))
            case _:
                raise IllegalTransition(f"a {live.call.state.value} call cannot take that frame")

    def _ring(self, peer: CallPeer, ring: Ring) -> None:
        if ring.id in self._calls:
            raise IllegalTransition("that call is already ringing")
        call = Call(ring.id, peer.contact_id, outgoing=False, video=ring.video, created=self._now())
        live = _Live(call, peer)
        others = any(c.call.live for c in self._calls.values())
        self._calls[call.id] = live
        if others or self._status.own_status().status == "busy":
            call.step(CallInput.RING, call.created)  # never shown ringing: no sound, no banner
            self._step(live, CallInput.LOCAL_BUSY, Decline(call.id, "busy"))
        elif not self._hub.listening:
            call.step(CallInput.RING, call.created)  # no page open to ring
            self._step(live, CallInput.LOCAL_BUSY, Decline(call.id, "unavailable"))
        else:
            self._step(live, CallInput.RING)

    def _missed(self, peer: CallPeer, notice: Missed) -> None:
        now = self._now()
        at = float(min(max(notice.sent_at, 0), now))  # the caller's clock, never in our future
        call = Call(notice.id, peer.contact_id, outgoing=False, video=notice.video, created=at)
        call.step(CallInput.RING, at)
        call.step(CallInput.REMOTE_HANGUP, now)
        self._hub.publish(CallEvent(view_of(call).to_json()))
        self._keep(call)

    # -- the user's side ----------------------------------------------------

    def unreachable(self, contact_id: str, video: bool) -> None:
        """A call to the contact could not reach them: log it as unanswered here, and
        leave a notice for their node (a missed call there)."""
        now = self._now()
        call = Call(os.urandom(16).hex(), contact_id, outgoing=True, video=video, created=now)
        call.step(CallInput.UNREACHABLE, now)
        self._notices.setdefault(contact_id, []).append(Missed(call.id, video, int(now)))
        self._hub.publish(CallEvent(view_of(call).to_json()))
        self._keep(call, notice=True)

    def start(self, peer: CallPeer, video: bool) -> CallView:
        """Ring the contact on its open channel.

        Raises:
            CallError: another call is live (``in_call``).
        """
        if any(c.call.live for c in self._calls.values()):
            raise CallError("another call is going on", code="in_call")
        call = Call(os.urandom(16).hex(), peer.contact_id, True, video, self._now())
        live = _Live(call, peer)
        self._calls[call.id] = live
        self._step(live, CallInput.START)
        peer.send_frame(peer.secure, encode_call_frame(Ring(call.id, video, int(call.created))))
        return view_of(call)

    def accept(self, call_id: str) -> CallView:
        """Answer a ringing call (the caller's page then sends its offer)."""
        live = self._live(call_id)
        self._step(live, CallInput.LOCAL_ACCEPT, Answer(call_id))
        return view_of(live.call)

    def decline(self, call_id: str) -> CallView:
        """Refuse a ringing call."""
        live = self._live(call_id)
        self._step(live, CallInput.LOCAL_DECLINE, Decline(call_id))
        return view_of(live.call)

    def hang_up(self, call_id: str) -> CallView:
        """End a call (a call still ringing out is cancelled)."""
        live = self._live(call_id)
        ringing = live.call.state is CallState.RINGING_OUT
        frame = Hangup(call_id, "cancelled") if ringing else Hangup(call_id, "hangup")
        self._step(live, CallInput.LOCAL_HANGUP, frame)
        return view_of(live.call)

    def media(self, call_id: str, flowing: bool) -> CallView:
        """Our page's media connection came up (``flowing``) or was lost."""
        live = self._live(call_id)
        self._step(live, CallInput.MEDIA_UP if flowing else CallInput.MEDIA_DOWN)
        return view_of(live.call)

    def signal(self, call_id: str, kind: str, data: str) -> None:
        """Send our page's session description (``offer``/``answer``) or ICE
        candidate (``ice``) to the peer's page.

        Raises:
            MalformedCallFrame: an unknown kind, or over a size limit.
            IllegalTransition: the call is not being set up or running.
        """
        live = self._live(call_id)
        if live.call.state not in _MEDIA_STATES:
            raise IllegalTransition(f"a {live.call.state.value} call has no media to set up")
        frame: CallFrame
        if kind in ("offer", "answer") and len(data) <= MAX_SDP:
            frame = Sdp(call_id, "offer" if kind == "offer" else "answer", data)
        elif kind == "ice" and len(data) <= MAX_CANDIDATE:
            frame = Ice(call_id, data)
        else:
            raise MalformedCallFrame("an unknown signal kind, or too long")
        live.peer.send_frame(live.peer.secure, encode_call_frame(frame))

    def live_calls(self) -> list[CallView]:
        """The calls going on (at most one, plus any that ring unanswered)."""
        return [view_of(c.call) for c in self._calls.values()]

    async def wait_open(self, peer: CallPeer, within: float) -> bool:
        """Wait up to ``within`` seconds for a session with the peer (is one open?)."""
        if peer.is_open:
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(peer.contact_id, []).append(waiter)
        try:
            await asyncio.wait_for(waiter, within)
        except TimeoutError:
            return peer.is_open
        finally:
            waiters = self._waiting.get(peer.contact_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
        return peer.is_open

    async def history(self, contact_id: str, limit: int = 100) -> list[CallRecord]:
        """The logged calls with a contact, oldest first."""
        records: list[CallRecord] = await self._store.run(
            lambda store: store.call_log.list(contact_id, limit)
        )
        return records

    async def stop(self) -> None:
        """Hang up every call (the peers learn it if their channel is still open) and
        wait until their log entries are stored."""
        for call_id in [i for i, c in self._calls.items() if c.call.live]:
            self.hang_up(call_id)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- steps ----------------------------------------------------------------

    def _live(self, call_id: str) -> _Live:
        live = self._calls.get(call_id)
        if live is None:
            raise UnknownCall("no such call")
        return live

    def _now(self) -> float:
        return self._clock()

    def _step(self, live: _Live, event: CallInput, frame: CallFrame | None = None) -> None:
        """Take ``event`` (refused: nothing is sent), send ``frame``, tell the page."""
        call = live.call
        live.call.step(event, self._now())
        if frame is not None:
            live.peer.send_frame(live.peer.secure, encode_call_frame(frame))
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None
        deadline = call.deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self._now())
            live.timer = asyncio.get_running_loop().call_later(delay, self._timed_out, call.id)
        self._hub.publish(CallEvent(view_of(call).to_json()))
        if call.state is CallState.ENDED:
            del self._calls[call.id]
            self._keep(call)

    def _timed_out(self, call_id: str) -> None:
        live = self._calls.get(call_id)
        if live is None:
            return
        state = live.call.state
        frame: Hangup | None = Hangup(call_id, "failed")
        if state is CallState.RINGING_OUT:
            frame = Hangup(call_id, "timeout")
        elif state is CallState.RINGING_IN:
            frame = None  # the caller times out on its own
        self._step(live, CallInput.TIMEOUT, frame)

    def _keep(self, call: Call, *, notice: bool = False) -> None:
        entry = call.outcome()
        assert entry is not None
        assert call.reason is not None
        assert call.ended_at is not None
        record = CallRecord(
            call.id, call.contact_id, "out" if call.outgoing else "in", call.video, entry.value,
            call.reason.value, call.duration(), call.created, call.ended_at,
        )  # fmt: skip

        self._write(lambda store: store.call_log.add(record, notice=notice))

    def _write(self, change: Callable[[Store], object]) -> None:
        """Run ``change`` in a transaction of the store worker (in order, not awaited)."""

        def write(store: Store) -> None:
            with store.transaction():
                change(store)

        task = asyncio.ensure_future(self._store.run(write))
        self._tasks.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("could not log a call: %r", task.exception())
