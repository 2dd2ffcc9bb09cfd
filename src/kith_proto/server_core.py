"""Sans-I/O server side of ``kith.v2``: one object per connection.

A :class:`ServerConnection` takes each received frame and a ``now`` and
returns actions: frames to send, a close, or routing *requests* for the
broker (which holds all routing state; the connection holds none). Each
request knows how to phrase the broker's outcome as a reply frame, so the
adapter only moves values between the core, the broker and the socket.

Life of one connection::

    AWAIT_AUTH --valid auth--> READY
    AWAIT_AUTH --bad auth / auth timeout--> CLOSED
    any --abuse / replaced / shutdown--> CLOSED

The public key of an authenticated client is never kept: the core turns it
into a keyed hash (``identity_tag``) that only serves the one-login rule.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from typing import Final

from kith_proto import wire
from kith_proto.auth import CHALLENGE_SIZE, KEY_TYPE, verify_auth
from kith_proto.limits import ServerConfig, refill
from kith_proto.mailbox_seal import BUCKETS
from kith_proto.server_actions import (
    Action,
    Close,
    IntroRequest,
    Login,
    MailboxAckRequest,
    MailboxDepositRequest,
    MailboxFetchRequest,
    MailboxRequest,
    PublishBatchRequest,
    PublishRequest,
    RelayRequest,
    Request,
    RetractRequest,
    Send,
    SubscribeRequest,
    UnsubscribeRequest,
)
from kith_proto.wire import CloseCode, ErrorCode

__all__ = [
    "AUTH_ERROR_CODES",
    "Action",
    "Close",
    "IntroRequest",
    "Login",
    "MailboxAckRequest",
    "MailboxDepositRequest",
    "MailboxFetchRequest",
    "MailboxRequest",
    "PublishBatchRequest",
    "PublishRequest",
    "RelayRequest",
    "Request",
    "RetractRequest",
    "Send",
    "ServerConfig",
    "ServerConnection",
    "ServerState",
    "SubscribeRequest",
    "UnsubscribeRequest",
    "address_full",
    "identity_tag",
    "server_full",
]

IDENTITY_TAG_SIZE: Final = 16
SIGNATURE_SIZE: Final = 64

AUTH_ERROR_CODES: Final = frozenset(
    {
        ErrorCode.BAD_SIGNATURE,
        ErrorCode.UNKNOWN_KEY_FORMAT,
        ErrorCode.REPLAYED_CHALLENGE,
        ErrorCode.CHALLENGE_EXPIRED,
        ErrorCode.WRONG_SERVER,
        ErrorCode.AUTH_TIMEOUT,
    }
)


class ServerState(enum.Enum):
    """States of one server-side connection."""

    AWAIT_AUTH = "await_auth"
    READY = "ready"
    CLOSED = "closed"


_ROUTING: Final = (
    wire.Subscribe,
    wire.Unsubscribe,
    wire.Publish,
    wire.PublishBatch,
    wire.Retract,
    wire.Relay,
    wire.Intro,
    wire.MailboxDeposit,
    wire.MailboxFetch,
    wire.MailboxAck,
)

# (state, client frame type) -> state after a successful handling. Pairs not
# in the table are answered with ``not_authenticated`` or
# ``already_authenticated``. Failed authentication always leads to CLOSED.
TRANSITIONS: Final[dict[tuple[ServerState, type[wire.ClientMessage]], ServerState]] = {
    (ServerState.AWAIT_AUTH, wire.Auth): ServerState.READY,
    **{(ServerState.READY, kind): ServerState.READY for kind in _ROUTING},
}


def identity_tag(key: bytes, public_key: bytes) -> bytes:
    """Keyed hash of a public key: enough for one-login, useless without ``key``."""
    return hashlib.blake2b(public_key, key=key, digest_size=IDENTITY_TAG_SIZE).digest()


def server_full() -> list[Action]:
    """What to do with a connection that exceeds ``--max-connections``."""
    bye = wire.Bye(code=ErrorCode.SERVER_FULL, message="server is full", reconnect=True)
    return [Send(bye), Close(CloseCode.TRY_AGAIN_LATER, ErrorCode.SERVER_FULL)]


def address_full() -> list[Action]:
    """What to do with a connection beyond ``--max-connections-per-address``."""
    code = ErrorCode.TOO_MANY_CONNECTIONS
    bye = wire.Bye(code=code, message="too many connections from this address", reconnect=True)
    return [Send(bye), Close(CloseCode.TRY_AGAIN_LATER, code)]


# -- the connection ----------------------------------------------------------


class ServerConnection:
    """One connection's protocol state, without I/O.

    Args:
        config: Limits and the public URL signatures must name.
        nonce: A fresh random challenge (``CHALLENGE_SIZE`` bytes).
        tag_key: The per-process key of :func:`identity_tag`.
        now: The time of connection, on the caller's monotonic clock.
        turn: TURN relays and credentials to hand over in ``welcome``.
    """

    # Plain numbers, not bucket objects: thousands of connections live for
    # hours, and every long-lived object costs the garbage collector.
    __slots__ = (
        "_config",
        "_intros",
        "_issued",
        "_messages",
        "_nonce",
        "_stamp",
        "_state",
        "_strikes",
        "_tag_key",
        "_turn",
    )

    def __init__(
        self,
        config: ServerConfig,
        *,
        nonce: bytes,
        tag_key: bytes,
        now: float,
        turn: tuple[wire.TurnServer, ...] = (),
    ) -> None:
        if len(nonce) != CHALLENGE_SIZE:
            raise ValueError(f"challenge nonce must be {CHALLENGE_SIZE} bytes")
        self._config = config
        self._nonce = wire.encode_payload(nonce)
        self._tag_key = tag_key
        self._issued = now
        self._state = ServerState.AWAIT_AUTH
        self._stamp = now
        self._messages = float(config.burst)
        self._intros = float(config.intro_burst)
        self._strikes = float(config.max_strikes)
        self._turn = turn

    @property
    def state(self) -> ServerState:
        """The current state."""
        return self._state

    @property
    def deadline(self) -> float | None:
        """When :meth:`tick` must next be called, if ever."""
        if self._state is ServerState.AWAIT_AUTH:
            return self._issued + self._config.auth_timeout
        return None

    def start(self) -> list[Action]:
        """The first frame: the challenge."""
        ttl = self._config.challenge_ttl
        return [Send(wire.Challenge(nonce=self._nonce, expires_in=ttl))]

    def tick(self, now: float) -> list[Action]:
        """Enforce the auth timeout."""
        deadline = self.deadline
        if deadline is None or now < deadline:
            return []
        return self._fail_auth(
            ErrorCode.AUTH_TIMEOUT, "no authentication in time", CloseCode.AUTH_TIMEOUT
        )

    def replaced(self) -> list[Action]:
        """The same identity logged in on another connection."""
        return self._bye(
            ErrorCode.REPLACED, "this identity connected elsewhere", False, CloseCode.REPLACED
        )

    def shutdown(self) -> list[Action]:
        """The server is stopping; the client should reconnect."""
        message = "server restarting; reconnect"
        return self._bye(ErrorCode.SHUTTING_DOWN, message, True, CloseCode.SERVICE_RESTART)

    def slow_consumer(self) -> list[Action]:
        """The client does not read its frames fast enough."""
        message = "too many frames waiting to be sent"
        return self._bye(ErrorCode.SLOW_CONSUMER, message, True, CloseCode.SLOW_CONSUMER)

    def subscribed(
        self, request: SubscribeRequest, retained: Sequence[wire.Retained], now: float
    ) -> Send:
        """The broker subscribed; pay for the reply's retained bytes, reply.

        The frame paid one token on arrival and the broker kept the reply
        within ``request.max_reply_bytes``, so the tokens are there.
        """
        size = sum(len(value.topic) + len(value.payload) for value in retained)
        self._refill(now)
        self._messages = max(0.0, self._messages - (self._config.reply_cost(size) - 1))
        return request.reply(retained)

    def _refill(self, now: float) -> None:
        """Bring the three token buckets (messages, intros, strikes) up to ``now``."""
        elapsed, config = now - self._stamp, self._config
        if elapsed <= 0:
            return
        self._stamp = now
        self._messages = refill(self._messages, elapsed, config.rate, config.burst)
        self._intros = refill(self._intros, elapsed, config.intro_rate, config.intro_burst)
        self._strikes = refill(self._strikes, elapsed, config.strike_refill, config.max_strikes)

    def _take_message(self, now: float, cost: float = 1.0) -> bool:
        self._refill(now)
        if self._messages < cost:
            return False
        self._messages -= cost
        return True

    def _take_intro(self, now: float) -> bool:
        self._refill(now)
        if self._intros < 1:
            return False
        self._intros -= 1
        return True

    def _take_strike(self, now: float) -> bool:
        self._refill(now)
        if self._strikes < 1:
            return False
        self._strikes -= 1
        return True

    def receive(self, data: str | bytes, now: float) -> list[Action]:
        """Handle one received frame and return the resulting actions."""
        if self._state is ServerState.CLOSED:
            return []
        if not self._take_message(now):
            return self._fault(ErrorCode.RATE_LIMITED, "too many messages; slow down", None, now)
        if _too_large(data, self._config.max_frame_bytes):
            limit = self._config.max_frame_bytes
            return self._fault(
                ErrorCode.FRAME_TOO_LARGE, f"frames are limited to {limit} bytes", None, now
            )
        if isinstance(data, bytes):
            return self._fault(ErrorCode.MALFORMED, "kith.v2 frames are text frames", None, now)
        try:
            message = wire.decode_client_message(data)
        except wire.WireFormatError as exc:
            return self._fault(ErrorCode.MALFORMED, str(exc)[:200], None, now)
        return self._dispatch(message, now)

    def _dispatch(self, message: wire.ClientMessage, now: float) -> list[Action]:
        if (self._state, type(message)) not in TRANSITIONS:
            if isinstance(message, wire.Auth):
                return self._fault(
                    ErrorCode.ALREADY_AUTHENTICATED, "already authenticated", None, now
                )
            ref = getattr(message, "ref", None)
            return self._fault(ErrorCode.NOT_AUTHENTICATED, "authenticate first", ref, now)
        if isinstance(message, wire.Auth):
            return self._authenticate(message, now)
        return self._route(message, now)

    # -- authentication --

    def _authenticate(self, auth: wire.Auth, now: float) -> list[Action]:
        public_key = _decode_key(auth)
        if public_key is None:
            return self._fail_auth(ErrorCode.UNKNOWN_KEY_FORMAT, f"expected a raw {KEY_TYPE} key")
        if auth.challenge != self._nonce:
            return self._fail_auth(ErrorCode.REPLAYED_CHALLENGE, "not this connection's challenge")
        if now > self._issued + self._config.challenge_ttl:
            return self._fail_auth(ErrorCode.CHALLENGE_EXPIRED, "the challenge expired")
        if auth.server != self._config.public_url:
            message = f"signature names another server; this one is {self._config.public_url}"
            return self._fail_auth(ErrorCode.WRONG_SERVER, message[:500])
        if not _signature_valid(auth, public_key, self._config.public_url):
            return self._fail_auth(ErrorCode.BAD_SIGNATURE, "signature does not verify")
        self._state = ServerState.READY
        welcome = wire.Welcome(
            heartbeat_interval=self._config.heartbeat_interval,
            limits=self._config.limits,
            turn=list(self._turn),
        )
        self._turn = ()
        return [Login(identity_tag(self._tag_key, public_key)), Send(welcome)]

    def _fail_auth(
        self, code: ErrorCode, message: str, close: CloseCode = CloseCode.AUTH_FAILED
    ) -> list[Action]:
        self._state = ServerState.CLOSED
        return [Send(wire.Error(code=code, message=message)), Close(close, code)]

    # -- routing --

    def _route(self, message: wire.ClientMessage, now: float) -> list[Action]:
        match message:
            case wire.Subscribe(topics=topics, ref=ref):
                return self._topics_request(SubscribeRequest(ref, tuple(topics)), now)
            case wire.Unsubscribe(topics=topics, ref=ref):
                return self._topics_request(UnsubscribeRequest(ref, tuple(topics)), now)
            case wire.Retract(topics=topics, tokens=tokens, ref=ref):
                if len(tokens) != len(topics) or not all(map(_token_opens, topics, tokens)):
                    return self._bad_token(ref, now)
                return self._topics_request(RetractRequest(ref, tuple(topics)), now)
            case wire.Publish(topic=topic, token=token, payload=payload, ref=ref):
                if not _token_opens(topic, token):
                    return self._bad_token(ref, now)
                return self._payload_request(PublishRequest(ref, topic, payload), now)
            case wire.PublishBatch(items=items, ref=ref):
                return self._batch_request(items, ref, now)
            case wire.Relay(topic=topic, payload=payload, ref=ref):
                return self._payload_request(RelayRequest(ref, topic, payload), now)
            case wire.Intro(topic=topic, payload=payload, ref=ref):
                if not self._take_intro(now):
                    return self._fault(ErrorCode.RATE_LIMITED, "too many introductions", ref, now)
                return self._payload_request(IntroRequest(ref, topic, payload), now)
            case wire.MailboxDeposit() | wire.MailboxFetch() | wire.MailboxAck():
                return self._mailbox_request(message, now)
        raise AssertionError(f"unroutable {type(message).__name__}")  # pragma: no cover

    def _topics_request(
        self, request: SubscribeRequest | UnsubscribeRequest | RetractRequest, now: float
    ) -> list[Action]:
        if len(request.topics) > self._config.max_topics:
            message = f"at most {self._config.max_topics} topics per connection"
            return self._fault(ErrorCode.TOO_MANY_TOPICS, message, request.ref, now)
        if isinstance(request, SubscribeRequest):
            budget = self._config.reply_budget(self._messages)
            return [SubscribeRequest(request.ref, request.topics, max_reply_bytes=budget)]
        return [request]

    def _payload_request(
        self, request: PublishRequest | RelayRequest | IntroRequest, now: float
    ) -> list[Action]:
        if wire.payload_size(request.payload) > self._config.max_payload_bytes:
            message = f"payloads are limited to {self._config.max_payload_bytes} bytes"
            return self._fault(ErrorCode.PAYLOAD_TOO_LARGE, message, request.ref, now)
        return [request]

    def _batch_request(
        self, items: list[wire.PublishItem], ref: int | None, now: float
    ) -> list[Action]:
        config = self._config
        if not items:
            return self._fault(ErrorCode.MALFORMED, "a publish_batch needs items", ref, now)
        if len(items) > config.max_batch:
            message = f"at most {config.max_batch} items per publish_batch"
            return self._fault(ErrorCode.BATCH_TOO_LARGE, message, ref, now)
        limit = config.max_payload_bytes
        if any(wire.payload_size(item.payload) > limit for item in items):
            message = f"payloads are limited to {limit} bytes"
            return self._fault(ErrorCode.PAYLOAD_TOO_LARGE, message, ref, now)
        # The frame already paid one token on arrival; a batch pays for its size.
        if not self._take_message(now, config.batch_cost(len(items)) - 1):
            message = "too many published items; slow down"
            return self._fault(ErrorCode.RATE_LIMITED, message, ref, now)
        if not all(_token_opens(item.topic, item.token) for item in items):
            return self._bad_token(ref, now)
        pairs = tuple((item.topic, item.payload) for item in items)
        return [PublishBatchRequest(ref, pairs)]

    def _mailbox_request(
        self, message: wire.MailboxDeposit | wire.MailboxFetch | wire.MailboxAck, now: float
    ) -> list[Action]:
        """Check a mailbox frame: the item's size bucket, or the owner's token."""
        request: MailboxRequest
        match message:
            case wire.MailboxDeposit(topic=topic, payload=payload, ref=ref):
                size = wire.payload_size(payload)
                if size > min(BUCKETS[-1], self._config.max_payload_bytes):
                    text = f"mailbox items are limited to {BUCKETS[-1]} bytes"
                    return self._fault(ErrorCode.PAYLOAD_TOO_LARGE, text, ref, now)
                if size not in BUCKETS:
                    sizes = ", ".join(map(str, BUCKETS))
                    text = f"a mailbox item is padded to one of {sizes} bytes"
                    return self._fault(ErrorCode.BAD_ITEM_SIZE, text, ref, now)
                request = MailboxDepositRequest(ref, topic, payload)
            case wire.MailboxFetch(topic=topic, token=token, ref=ref):
                if not _token_opens(topic, token):
                    return self._bad_token(ref, now)
                budget = self._config.reply_bytes_per_token
                request = MailboxFetchRequest(ref, topic, max_reply_bytes=budget)
            case wire.MailboxAck(topic=topic, token=token, ids=ids, ref=ref):
                if not _token_opens(topic, token):
                    return self._bad_token(ref, now)
                request = MailboxAckRequest(ref, topic, tuple(ids))
        return [request]

    def _bad_token(self, ref: int | None, now: float) -> list[Action]:
        message = "a token does not match its topic: only the topic's owner may write it"
        return self._fault(ErrorCode.BAD_TOKEN, message, ref, now)

    # -- faults and closes --

    def _fault(self, code: ErrorCode, message: str, ref: int | None, now: float) -> list[Action]:
        actions: list[Action] = [Send(wire.Error(code=code, message=message, ref=ref))]
        if not self._take_strike(now):
            actions += self._bye(
                ErrorCode.ABUSE, "too many protocol errors", False, CloseCode.ABUSE
            )
        return actions

    def _bye(
        self, code: ErrorCode, message: str, reconnect: bool, close: CloseCode
    ) -> list[Action]:
        if self._state is ServerState.CLOSED:
            return []
        self._state = ServerState.CLOSED
        bye = wire.Bye(code=code, message=message, reconnect=reconnect)
        return [Send(bye), Close(close, code)]


def _too_large(data: str | bytes, limit: int) -> bool:
    if len(data) > limit:
        return True
    if isinstance(data, bytes) or len(data) * 4 <= limit:
        return False
    return len(data.encode("utf-8", "surrogatepass")) > limit


def _token_opens(topic: str, token: str) -> bool:
    """Whether ``token`` is the publish token of ``topic`` (one hash; the
    schema already checked both spellings)."""
    return wire.token_topic(wire.decode_payload(token)) == wire.decode_payload(topic)


def _decode_key(auth: wire.Auth) -> bytes | None:
    if auth.key_type != KEY_TYPE:
        return None
    try:
        key = wire.decode_payload(auth.key)
    except wire.WireFormatError:
        return None
    return key if len(key) == 32 else None


def _signature_valid(auth: wire.Auth, public_key: bytes, public_url: str) -> bool:
    try:
        signature = wire.decode_payload(auth.signature)
        challenge = wire.decode_payload(auth.challenge)
    except wire.WireFormatError:
        return False
    if len(signature) != SIGNATURE_SIZE:
        return False
    return verify_auth(public_key, signature, challenge, public_url)
