"""The call state machine (pure): one call's states, its transition table, its outcome.

A :class:`Call` takes :class:`CallInput` steps with the time; an input its
state does not allow raises :class:`~kith.calls.errors.IllegalTransition`
and changes nothing. The runtime (:mod:`kith.runtime.calls`) turns local
steps into call frames and the peer's frames into steps.

::

    idle ──START──▶ ringing-out ──REMOTE_ACCEPT──▶ connecting ──MEDIA_UP──▶ connected
    idle ──RING───▶ ringing-in  ──LOCAL_ACCEPT───▶ connecting       ▲          │
                                                                   MEDIA_UP   MEDIA_DOWN
                                                                     └── reconnecting ◀┘
    any live state ──hang-up / decline / busy / timeout / failure──▶ ended (reason)
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from kith.calls.errors import IllegalTransition

__all__ = [
    "ANSWER_TIMEOUT",
    "CONNECT_TIMEOUT",
    "TRANSITIONS",
    "Call",
    "CallInput",
    "CallOutcome",
    "CallState",
    "EndReason",
    "outcome",
]

ANSWER_TIMEOUT: Final = 45.0
"""Seconds a call rings before it ends unanswered."""
CONNECT_TIMEOUT: Final = 30.0
"""Seconds from accepting (or losing media) until the media must flow."""


class CallState(enum.Enum):
    """Where a call is."""

    IDLE = "idle"
    RINGING_OUT = "ringing_out"
    RINGING_IN = "ringing_in"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ENDED = "ended"


class CallInput(enum.Enum):
    """A step: what the user, the peer or the page's media did."""

    START = "start"
    RING = "ring"
    LOCAL_ACCEPT = "local_accept"
    REMOTE_ACCEPT = "remote_accept"
    LOCAL_DECLINE = "local_decline"
    REMOTE_DECLINE = "remote_decline"
    REMOTE_BUSY = "remote_busy"
    REMOTE_UNAVAILABLE = "remote_unavailable"
    LOCAL_BUSY = "local_busy"
    LOCAL_HANGUP = "local_hangup"
    REMOTE_HANGUP = "remote_hangup"
    MEDIA_UP = "media_up"
    MEDIA_DOWN = "media_down"
    TIMEOUT = "timeout"
    CHANNEL_LOST = "channel_lost"
    UNREACHABLE = "unreachable"


class EndReason(enum.Enum):
    """Why a call ended (as each side sees it)."""

    HANGUP = "hangup"
    REMOTE_HANGUP = "remote_hangup"
    DECLINED = "declined"
    REMOTE_DECLINED = "remote_declined"
    BUSY = "busy"
    MISSED = "missed"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"
    FAILED = "failed"
    NOT_REACHABLE = "not_reachable"
    """No channel to the contact, or no page of theirs open: the call never rang
    (the callee logs it as missed)."""


S, In, R = CallState, CallInput, EndReason
_LIVE: Final = (S.RINGING_OUT, S.RINGING_IN, S.CONNECTING, S.CONNECTED, S.RECONNECTING)

TRANSITIONS: Final[dict[tuple[CallState, CallInput], tuple[CallState, EndReason | None]]] = {
    (S.IDLE, In.START): (S.RINGING_OUT, None),
    (S.IDLE, In.RING): (S.RINGING_IN, None),
    (S.IDLE, In.UNREACHABLE): (S.ENDED, R.NOT_REACHABLE),
    (S.RINGING_OUT, In.REMOTE_ACCEPT): (S.CONNECTING, None),
    (S.RINGING_OUT, In.REMOTE_DECLINE): (S.ENDED, R.REMOTE_DECLINED),
    (S.RINGING_OUT, In.REMOTE_BUSY): (S.ENDED, R.BUSY),
    (S.RINGING_OUT, In.REMOTE_UNAVAILABLE): (S.ENDED, R.NOT_REACHABLE),
    (S.RINGING_OUT, In.LOCAL_HANGUP): (S.ENDED, R.CANCELLED),
    (S.RINGING_OUT, In.REMOTE_HANGUP): (S.ENDED, R.FAILED),
    (S.RINGING_OUT, In.TIMEOUT): (S.ENDED, R.NO_ANSWER),
    (S.RINGING_OUT, In.CHANNEL_LOST): (S.ENDED, R.FAILED),
    (S.RINGING_IN, In.LOCAL_ACCEPT): (S.CONNECTING, None),
    (S.RINGING_IN, In.LOCAL_DECLINE): (S.ENDED, R.DECLINED),
    (S.RINGING_IN, In.LOCAL_BUSY): (S.ENDED, R.MISSED),
    (S.RINGING_IN, In.REMOTE_HANGUP): (S.ENDED, R.MISSED),
    (S.RINGING_IN, In.TIMEOUT): (S.ENDED, R.MISSED),
    (S.RINGING_IN, In.CHANNEL_LOST): (S.ENDED, R.MISSED),
    (S.CONNECTING, In.MEDIA_UP): (S.CONNECTED, None),
    (S.CONNECTING, In.MEDIA_DOWN): (S.CONNECTING, None),
    (S.CONNECTED, In.MEDIA_UP): (S.CONNECTED, None),
    (S.CONNECTED, In.MEDIA_DOWN): (S.RECONNECTING, None),
    (S.RECONNECTING, In.MEDIA_UP): (S.CONNECTED, None),
    (S.RECONNECTING, In.MEDIA_DOWN): (S.RECONNECTING, None),
}
"""Every allowed step; hang-ups, time-outs and channel loss of the later states follow."""
for _state in (S.CONNECTING, S.CONNECTED, S.RECONNECTING):
    TRANSITIONS[_state, In.LOCAL_HANGUP] = (S.ENDED, R.HANGUP)
    TRANSITIONS[_state, In.REMOTE_HANGUP] = (S.ENDED, R.REMOTE_HANGUP)
    TRANSITIONS[_state, In.TIMEOUT] = (S.ENDED, R.FAILED)
# media runs browser to browser: a connected call outlives the nodes' channel
TRANSITIONS[S.CONNECTING, In.CHANNEL_LOST] = (S.ENDED, R.FAILED)
TRANSITIONS[S.CONNECTED, In.CHANNEL_LOST] = (S.CONNECTED, None)
TRANSITIONS[S.RECONNECTING, In.CHANNEL_LOST] = (S.RECONNECTING, None)


class CallOutcome(enum.Enum):
    """How a call shows in the chat history."""

    ANSWERED = "answered"
    MISSED = "missed"
    DECLINED = "declined"
    UNANSWERED = "unanswered"
    FAILED = "failed"


def outcome(reason: EndReason, connected: bool) -> CallOutcome:
    """The history entry of a call that ended for ``reason`` (``connected``: media flowed)."""
    if connected:
        return CallOutcome.ANSWERED
    if reason is R.MISSED:
        return CallOutcome.MISSED
    if reason in (R.DECLINED, R.REMOTE_DECLINED):
        return CallOutcome.DECLINED
    if reason in (R.NO_ANSWER, R.CANCELLED, R.BUSY, R.NOT_REACHABLE):
        return CallOutcome.UNANSWERED
    return CallOutcome.FAILED


@dataclass
class Call:
    """One call with one contact.

    Attributes:
        id: 32 hex digits, chosen by the caller.
        contact_id: The other side.
        outgoing: Whether we called.
        video: Whether it is a video call.
        created: When it started ringing (seconds).
    """

    id: str
    contact_id: str
    outgoing: bool
    video: bool
    created: float
    state: CallState = CallState.IDLE
    reason: EndReason | None = None
    connected_at: float | None = None
    ended_at: float | None = None
    _since: float = 0.0

    def step(self, event: CallInput, now: float) -> bool:
        """Take ``event``; return whether the state changed.

        Raises:
            IllegalTransition: the state does not allow ``event``.
        """
        key = (self.state, event)
        if key not in TRANSITIONS:
            raise IllegalTransition(f"a {self.state.value} call cannot take {event.value}")
        state, reason = TRANSITIONS[key]
        changed = state is not self.state
        if changed:
            self._since = now
        if state is CallState.CONNECTED and self.connected_at is None:
            self.connected_at = now
        if state is CallState.ENDED:
            self.reason, self.ended_at = reason, now
        self.state = state
        return changed

    @property
    def live(self) -> bool:
        """Whether the call has started and not ended."""
        return self.state in _LIVE

    def deadline(self) -> float | None:
        """When :attr:`CallInput.TIMEOUT` is due (``None``: never in this state)."""
        if self.state in (CallState.RINGING_OUT, CallState.RINGING_IN):
            return self._since + ANSWER_TIMEOUT
        if self.state in (CallState.CONNECTING, CallState.RECONNECTING):
            return self._since + CONNECT_TIMEOUT
        return None

    def duration(self) -> float:
        """Seconds of media (0 if it never connected; up to now if still going)."""
        if self.connected_at is None:
            return 0.0
        end = self.ended_at if self.ended_at is not None else self._since
        return max(0.0, end - self.connected_at)

    def outcome(self) -> CallOutcome | None:
        """The history entry (``None`` until it ended)."""
        if self.reason is None:
            return None
        return outcome(self.reason, self.connected_at is not None)
