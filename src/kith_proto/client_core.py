"""Sans-I/O client side of ``kith.v2``.

A :class:`ClientConnection` is fed the text of each frame received from the
server with :meth:`ClientConnection.receive` and returns typed events; the
frames it wants sent accumulate until :meth:`ClientConnection.data_to_send`
takes them. It never awaits, opens sockets or reads clocks: an adapter moves
frames between it and a WebSocket and decides when to reconnect.

Life of one connection::

    AWAIT_CHALLENGE --challenge--> AUTHENTICATING --welcome--> READY
          any state --bye / auth error / protocol violation / close--> CLOSED

Errors raised by this module (:class:`ClientStateError` for a request the
state does not allow, :class:`PayloadTooLargeError` and
:class:`BatchTooLargeError` for requests beyond the server's limits, and
:class:`~kith_proto.wire.WireFormatError` for bad topics) are *our* mistakes;
errors reported by the server arrive as :class:`ServerError` events and a
server that breaks the protocol yields :class:`ServerProtocolViolation`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from typing import Final

from kith_proto import wire
from kith_proto.auth import KEY_TYPE, sign_auth
from kith_proto.client_events import (
    Authenticated,
    AuthenticationFailed,
    ClientEvent,
    Disconnected,
    IntroductionReceived,
    MailboxFetched,
    RelayReceived,
    RequestAcked,
    ServerError,
    ServerGoodbye,
    ServerProtocolViolation,
    SubscriptionConfirmed,
    TopicGone,
    TopicValue,
)
from kith_proto.keys import IdentityKeys

__all__ = [
    "Authenticated",
    "AuthenticationFailed",
    "BatchTooLargeError",
    "ClientConnection",
    "ClientEvent",
    "ClientState",
    "ClientStateError",
    "Disconnected",
    "IntroductionReceived",
    "MailboxFetched",
    "PayloadTooLargeError",
    "RelayReceived",
    "RequestAcked",
    "ServerError",
    "ServerGoodbye",
    "ServerProtocolViolation",
    "SubscriptionConfirmed",
    "TopicGone",
    "TopicValue",
]


class ClientState(enum.Enum):
    """States of one client connection."""

    AWAIT_CHALLENGE = "await_challenge"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    CLOSED = "closed"


_S = ClientState
_ROUTED: Final = (
    wire.Subscribed,
    wire.Ack,
    wire.Event,
    wire.Gone,
    wire.Relayed,
    wire.IntroReceived,
    wire.MailboxItems,
    wire.Error,
)

# (state, server frame type) -> next state. A pair missing from the table is
# a protocol violation by the server. ``bye`` is accepted in every open state.
TRANSITIONS: Final[dict[tuple[ClientState, type[wire.ServerMessage]], ClientState]] = {
    (_S.AWAIT_CHALLENGE, wire.Challenge): _S.AUTHENTICATING,
    (_S.AWAIT_CHALLENGE, wire.Error): _S.CLOSED,
    (_S.AUTHENTICATING, wire.Welcome): _S.READY,
    (_S.AUTHENTICATING, wire.Error): _S.CLOSED,
    **{(_S.READY, kind): _S.READY for kind in _ROUTED},
    **{(state, wire.Bye): _S.CLOSED for state in (_S.AWAIT_CHALLENGE, _S.AUTHENTICATING, _S.READY)},
}

# Close codes after which reconnecting with the same identity is pointless.
_FINAL_CLOSE_CODES: Final = frozenset(
    {
        wire.CloseCode.UNSUPPORTED_PROTOCOL,
        wire.CloseCode.AUTH_FAILED,
        wire.CloseCode.REPLACED,
    }
)


# Authentication errors worth another attempt: a fresh connection brings a
# fresh challenge (the old one may have expired on a slow link).
_RETRYABLE_AUTH_ERRORS: Final = frozenset({wire.ErrorCode.CHALLENGE_EXPIRED})


class ClientStateError(RuntimeError):
    """The client core was asked to do something its state does not allow."""


class PayloadTooLargeError(ValueError):
    """A payload exceeds the limit the server announced."""


class BatchTooLargeError(ValueError):
    """A ``publish_batch`` has more items than the server takes in one frame."""


# -- the connection ----------------------------------------------------------


class ClientConnection:
    """One client connection's protocol state, without I/O.

    Args:
        keys: The identity that authenticates.
        server_url: The URL the client meant to reach (signed, so that the
            signature is worthless to any other server).
    """

    def __init__(self, keys: IdentityKeys, server_url: str) -> None:
        self._keys = keys
        self._server_url = server_url
        self._state = ClientState.AWAIT_CHALLENGE
        self._outgoing: list[str] = []
        self._next_ref = 1
        self._limits: wire.Limits | None = None
        self._turn: tuple[wire.TurnServer, ...] = ()
        self._goodbye: ServerGoodbye | None = None
        self._auth_error: str | None = None
        self.last_received: float | None = None

    @property
    def state(self) -> ClientState:
        """The current state."""
        return self._state

    @property
    def limits(self) -> wire.Limits | None:
        """The server's limits, known once authenticated."""
        return self._limits

    @property
    def turn(self) -> tuple[wire.TurnServer, ...]:
        """The TURN relays and credentials the server handed over (``welcome``)."""
        return self._turn

    def data_to_send(self) -> list[str]:
        """Take the frames waiting to be sent, oldest first."""
        frames, self._outgoing = self._outgoing, []
        return frames

    # -- inbound --

    def receive(self, data: str | bytes, now: float) -> list[ClientEvent]:
        """Handle one frame from the server and return the resulting events.

        A binary frame, or text that is not a valid ``kith.v2`` frame (invalid
        UTF-8 included), is a :class:`ServerProtocolViolation`, never an
        exception.
        """
        if self._state is ClientState.CLOSED:
            return []
        self.last_received = now
        if isinstance(data, bytes):
            return self._violation("kith.v2 frames are text frames, not binary")
        try:
            message = wire.decode_server_message(data)
        except wire.WireFormatError as exc:
            return self._violation(f"malformed frame: {exc}")
        next_state = TRANSITIONS.get((self._state, type(message)))
        if next_state is None:
            return self._violation(f"unexpected {type(message).__name__} in {self._state.value}")
        try:
            events = self._handle(message)
        except wire.WireFormatError as exc:
            return self._violation(f"bad value: {exc}")
        self._state = next_state
        return events

    def connection_closed(self, code: int | None, reason: str) -> list[ClientEvent]:
        """Report that the WebSocket closed; returns the final event."""
        self._state = ClientState.CLOSED
        if self._goodbye is not None:
            reconnect = self._goodbye.reconnect
        elif code == wire.CloseCode.AUTH_FAILED:
            reconnect = self._auth_error in _RETRYABLE_AUTH_ERRORS
        else:
            reconnect = code not in _FINAL_CLOSE_CODES
        return [Disconnected(code=code, reason=reason, reconnect=reconnect)]

    def _violation(self, detail: str) -> list[ClientEvent]:
        self._state = ClientState.CLOSED
        return [ServerProtocolViolation(detail)]

    def _handle(self, message: wire.ServerMessage) -> list[ClientEvent]:
        match message:
            case wire.Challenge():
                return self._on_challenge(message)
            case wire.Welcome(heartbeat_interval=interval, limits=limits, turn=turn):
                self._limits, self._turn = limits, tuple(turn)
                return [Authenticated(heartbeat_interval=interval, limits=limits)]
            case wire.Error(code=code, message=text, ref=ref):
                if self._state is ClientState.READY:
                    return [ServerError(code=code, message=text, ref=ref)]
                self._auth_error = code
                retryable = code in _RETRYABLE_AUTH_ERRORS
                return [AuthenticationFailed(code=code, message=text, retryable=retryable)]
            case wire.Bye(code=code, message=text, reconnect=reconnect):
                self._goodbye = ServerGoodbye(code=code, message=text, reconnect=reconnect)
                return [self._goodbye]
            case _:
                return [_routed_event(message)]

    def _on_challenge(self, challenge: wire.Challenge) -> list[ClientEvent]:
        nonce = wire.decode_payload(challenge.nonce)
        signature = sign_auth(self._keys, nonce, self._server_url)
        self._send(
            wire.Auth(
                key_type=KEY_TYPE,
                key=wire.encode_payload(self._keys.public_key),
                challenge=challenge.nonce,
                server=self._server_url,
                signature=wire.encode_payload(signature),
            )
        )
        return []

    # -- outbound requests --

    def subscribe(self, topics: Iterable[bytes]) -> int:
        """Subscribe to topics; answered by :class:`SubscriptionConfirmed`."""
        ref = self._take_ref()
        self._send(wire.Subscribe(topics=_topics(topics), ref=ref))
        return ref

    def unsubscribe(self, topics: Iterable[bytes]) -> int:
        """Stop receiving a topic's events; answered by :class:`RequestAcked`."""
        ref = self._take_ref()
        self._send(wire.Unsubscribe(topics=_topics(topics), ref=ref))
        return ref

    def publish(self, token: bytes, payload: bytes) -> int:
        """Set the retained value of the topic ``token`` opens
        (``wire.token_topic(token)``) and fan it out to its subscribers."""
        ref = self._take_ref()
        topic, token_text = _token_pair(token)
        self._send(
            wire.Publish(topic=topic, token=token_text, payload=self._payload(payload), ref=ref)
        )
        return ref

    def publish_batch(self, items: Sequence[tuple[bytes, bytes]]) -> int:
        """Publish several ``(token, payload)`` in one frame, in order.

        Raises:
            BatchTooLargeError: Empty, or more items than the server's ``max_batch``.
            PayloadTooLargeError: A payload beyond the server's limit.
        """
        ref = self._take_ref()
        limit = self._limits.max_batch if self._limits is not None else 0
        if not 0 < len(items) <= limit:
            raise BatchTooLargeError(f"a batch holds 1 to {limit} items, not {len(items)}")
        batch = [
            wire.PublishItem(*_token_pair(token), payload=self._payload(payload))
            for token, payload in items
        ]
        self._send(wire.PublishBatch(items=batch, ref=ref))
        return ref

    def retract(self, tokens: Iterable[bytes]) -> int:
        """Withdraw the values published with ``tokens``; their subscribers get ``gone``."""
        ref = self._take_ref()
        pairs = [_token_pair(token) for token in tokens]
        self._send(
            wire.Retract(topics=[p[0] for p in pairs], tokens=[p[1] for p in pairs], ref=ref)
        )
        return ref

    def relay(self, topic: bytes, payload: bytes) -> int:
        """Relay to a topic's subscribers; ``peer_offline`` error when there are none."""
        ref = self._take_ref()
        self._send(
            wire.Relay(topic=wire.encode_topic(topic), payload=self._payload(payload), ref=ref)
        )
        return ref

    def intro(self, topic: bytes, payload: bytes) -> int:
        """Send a contact request to an intro topic (always acknowledged)."""
        ref = self._take_ref()
        self._send(
            wire.Intro(topic=wire.encode_topic(topic), payload=self._payload(payload), ref=ref)
        )
        return ref

    def mailbox_deposit(self, topic: bytes, item: bytes) -> int:
        """Leave a sealed item in the mailbox ``topic``; acknowledged once stored."""
        ref = self._take_ref()
        self._send(
            wire.MailboxDeposit(
                topic=wire.encode_topic(topic), payload=self._payload(item), ref=ref
            )
        )
        return ref

    def mailbox_fetch(self, token: bytes) -> int:
        """Read the oldest items of the mailbox ``token`` opens (:class:`MailboxFetched`)."""
        ref = self._take_ref()
        topic, token_text = _token_pair(token)
        self._send(wire.MailboxFetch(topic=topic, token=token_text, ref=ref))
        return ref

    def mailbox_ack(self, token: bytes, ids: Sequence[int]) -> int:
        """Delete fetched items (we stored them); answered by :class:`RequestAcked`."""
        ref = self._take_ref()
        topic, token_text = _token_pair(token)
        self._send(wire.MailboxAck(topic=topic, token=token_text, ids=list(ids), ref=ref))
        return ref

    def _take_ref(self) -> int:
        if self._state is not ClientState.READY:
            raise ClientStateError(f"cannot send requests while {self._state.value}")
        ref, self._next_ref = self._next_ref, self._next_ref + 1
        return ref

    def _payload(self, payload: bytes) -> str:
        if self._limits is not None and len(payload) > self._limits.max_payload_bytes:
            raise PayloadTooLargeError(
                f"payload of {len(payload)} bytes exceeds the server's "
                f"{self._limits.max_payload_bytes}-byte limit"
            )
        return wire.encode_payload(payload)

    def _send(self, message: wire.ClientMessage) -> None:
        self._outgoing.append(wire.encode(message))


def _topics(topics: Iterable[bytes]) -> list[str]:
    return [wire.encode_topic(topic) for topic in topics]


def _token_pair(token: bytes) -> tuple[str, str]:
    """The wire spelling of the topic ``token`` opens, and of the token."""
    return wire.encode_topic(wire.token_topic(token)), wire.encode_topic(token)


def _routed_event(message: wire.ServerMessage) -> ClientEvent:
    match message:
        case wire.Subscribed(topics=topics, retained=retained, ref=ref):
            return SubscriptionConfirmed(
                ref=ref,
                topics=tuple(wire.decode_topic(t) for t in topics),
                retained=tuple(
                    (wire.decode_topic(r.topic), wire.decode_payload(r.payload)) for r in retained
                ),
            )
        case wire.Ack(ref=ref):
            return RequestAcked(ref=ref)
        case wire.Event(topic=topic, payload=payload):
            return TopicValue(wire.decode_topic(topic), wire.decode_payload(payload))
        case wire.Gone(topic=topic):
            return TopicGone(wire.decode_topic(topic))
        case wire.Relayed(topic=topic, payload=payload):
            return RelayReceived(wire.decode_topic(topic), wire.decode_payload(payload))
        case wire.IntroReceived(topic=topic, payload=payload):
            return IntroductionReceived(wire.decode_topic(topic), wire.decode_payload(payload))
        case wire.MailboxItems(topic=topic, items=items, more=more, ref=ref):
            pairs = tuple((item.id, wire.decode_payload(item.payload)) for item in items)
            return MailboxFetched(ref, wire.decode_topic(topic), pairs, more)
    raise AssertionError(f"unrouted message {type(message).__name__}")  # pragma: no cover
