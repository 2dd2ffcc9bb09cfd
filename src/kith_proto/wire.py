"""Kith signaling wire schemas (protocol ``kith.v2``).

Every frame is one WebSocket text frame holding one JSON object whose
``type`` field names the message (a msgspec tagged union). Topics are opaque
32-byte values written as unpadded base64url (43 characters); payloads are
opaque bytes written as unpadded base64url. ``docs/protocol.md`` is the
normative description; a test keeps the two in step.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
from typing import Annotated, Final, TypeAlias

import msgspec

__all__ = [
    "DEFAULT_SIGNAL_PORT",
    "PAYLOAD_PATTERN",
    "SUBPROTOCOL",
    "TOPIC_LENGTH",
    "TOPIC_SIZE",
    "Ack",
    "Auth",
    "Bye",
    "Challenge",
    "ClientMessage",
    "CloseCode",
    "Error",
    "ErrorCode",
    "Event",
    "Gone",
    "Intro",
    "IntroReceived",
    "Limits",
    "MailboxAck",
    "MailboxDeposit",
    "MailboxFetch",
    "MailboxItem",
    "MailboxItems",
    "Publish",
    "PublishBatch",
    "PublishItem",
    "Relay",
    "Relayed",
    "Retained",
    "Retract",
    "ServerMessage",
    "Subscribe",
    "Subscribed",
    "TurnServer",
    "Unsubscribe",
    "Welcome",
    "WireFormatError",
    "decode_client_message",
    "decode_payload",
    "decode_server_message",
    "decode_topic",
    "encode",
    "encode_payload",
    "encode_topic",
    "payload_size",
    "token_topic",
]

SUBPROTOCOL: Final = "kith.v2"
"""The WebSocket subprotocol naming this protocol version. ``kith.v2`` is
``kith.v1`` with a publish token on ``publish``, ``publish_batch`` items and
``retract`` (see :func:`token_topic`)."""

DEFAULT_SIGNAL_PORT: Final = 8765
"""The port ``kith-signal`` listens on by default, and the one the node's
default ``signaling_url`` names (so the two defaults find each other)."""

TOPIC_SIZE: Final = 32
TOPIC_LENGTH: Final = 43
TOKEN_LABEL: Final = b"kith/v2/publish-token\x00"

# 32 bytes = 256 bits; 43 base64 characters carry 258, so the last character
# must leave its two low bits zero. Only canonical spellings are accepted.
_TOPIC_PATTERN: Final = r"^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
PAYLOAD_PATTERN: Final = r"^[A-Za-z0-9_-]*$"

Topic: TypeAlias = Annotated[str, msgspec.Meta(pattern=_TOPIC_PATTERN)]
Token: TypeAlias = Topic
"""A publish token: 32 secret bytes whose hash is the topic (same spelling)."""
Payload: TypeAlias = Annotated[str, msgspec.Meta(pattern=PAYLOAD_PATTERN)]
B64: TypeAlias = Annotated[str, msgspec.Meta(pattern=PAYLOAD_PATTERN, max_length=1024)]
Ref: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
Text: TypeAlias = Annotated[str, msgspec.Meta(max_length=512)]


class WireFormatError(ValueError):
    """A value is not in the wire format (bad base64, wrong topic size, bad frame)."""


class ErrorCode(enum.StrEnum):
    """Codes carried by ``error`` frames (and by close reasons)."""

    MALFORMED = "malformed"
    FRAME_TOO_LARGE = "frame_too_large"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    RATE_LIMITED = "rate_limited"
    NOT_AUTHENTICATED = "not_authenticated"
    ALREADY_AUTHENTICATED = "already_authenticated"
    BAD_TOKEN = "bad_token"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY_FORMAT = "unknown_key_format"
    REPLAYED_CHALLENGE = "replayed_challenge"
    CHALLENGE_EXPIRED = "challenge_expired"
    WRONG_SERVER = "wrong_server"
    AUTH_TIMEOUT = "auth_timeout"
    TOO_MANY_TOPICS = "too_many_topics"
    BATCH_TOO_LARGE = "batch_too_large"
    PEER_OFFLINE = "peer_offline"
    SERVER_FULL = "server_full"
    REPLACED = "replaced"
    SHUTTING_DOWN = "shutting_down"
    ABUSE = "abuse"
    SLOW_CONSUMER = "slow_consumer"
    UNSUPPORTED_PROTOCOL = "unsupported_protocol"
    INTERNAL = "internal"
    RETAINED_FULL = "retained_full"
    TOO_MANY_CONNECTIONS = "too_many_connections"
    MAILBOX_UNAVAILABLE = "mailbox_unavailable"
    MAILBOX_FULL = "mailbox_full"
    MAILBOX_STORE_FULL = "mailbox_store_full"
    BAD_ITEM_SIZE = "bad_item_size"


class CloseCode(enum.IntEnum):
    """WebSocket close codes used by the server."""

    NORMAL = 1000
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    UNSUPPORTED_PROTOCOL = 4000
    AUTH_FAILED = 4001
    AUTH_TIMEOUT = 4002
    REPLACED = 4003
    ABUSE = 4008
    SLOW_CONSUMER = 4009


class _Frame(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True, gc=False):
    """Base of every frame: a JSON object tagged by ``type``.

    ``gc=False``: frames hold strings, numbers and lists of other frames, never
    a cycle, so the garbage collector need not track the hundreds of thousands
    a busy server decodes and encodes every second.
    """


# -- client -> server -------------------------------------------------------


class Auth(_Frame, frozen=True, tag="auth"):
    """Answer to ``challenge``: an Ed25519 signature of the auth statement."""

    key_type: Text
    key: B64
    challenge: B64
    server: Text
    signature: B64


class Subscribe(_Frame, frozen=True, tag="subscribe"):
    """Subscribe to topics; the reply carries their retained values."""

    topics: list[Topic]
    ref: Ref | None = None


class Unsubscribe(_Frame, frozen=True, tag="unsubscribe"):
    """Stop receiving events for topics."""

    topics: list[Topic]
    ref: Ref | None = None


class Publish(_Frame, frozen=True, tag="publish"):
    """Set a topic's retained value and fan it out to its subscribers.

    ``token`` proves the right to publish: ``token_topic(token)`` must be ``topic``.
    """

    topic: Topic
    token: Token
    payload: Payload
    ref: Ref | None = None


class PublishItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One ``{topic, token, payload}`` of a ``publish_batch``."""

    topic: Topic
    token: Token
    payload: Payload


class PublishBatch(_Frame, frozen=True, tag="publish_batch"):
    """Several publishes in one frame (for a status change to many contacts)."""

    items: list[PublishItem]
    ref: Ref | None = None


class Retract(_Frame, frozen=True, tag="retract"):
    """Withdraw published values: subscribers get ``gone``.

    ``tokens[i]`` proves the right to retract ``topics[i]`` (as in ``publish``).
    """

    topics: list[Topic]
    tokens: list[Token]
    ref: Ref | None = None


class Relay(_Frame, frozen=True, tag="relay"):
    """Deliver an opaque payload to the current subscribers of a topic."""

    topic: Topic
    payload: Payload
    ref: Ref | None = None


class Intro(_Frame, frozen=True, tag="intro"):
    """Contact request to an intro topic; always acknowledged the same way."""

    topic: Topic
    payload: Payload
    ref: Ref | None = None


class MailboxDeposit(_Frame, frozen=True, tag="mailbox_deposit"):
    """Store a sealed item in a mailbox topic until its owner acknowledges it.

    Anyone who knows the topic may deposit; ``payload`` is one of the padded
    sizes of ``kith_proto.mailbox_seal.BUCKETS``. Acknowledged (``ack``) only
    once the item is durably stored.
    """

    topic: Topic
    payload: Payload
    ref: Ref | None = None


class MailboxFetch(_Frame, frozen=True, tag="mailbox_fetch"):
    """Read the oldest stored items of a mailbox topic (``mailbox_items``).

    ``token`` proves ownership: ``token_topic(token)`` must be ``topic``.
    """

    topic: Topic
    token: Token
    ref: Ref | None = None


class MailboxAck(_Frame, frozen=True, tag="mailbox_ack"):
    """Delete fetched items: the owner stored them. Ids not held are ignored."""

    topic: Topic
    token: Token
    ids: Annotated[list[Ref], msgspec.Meta(max_length=1024)]
    ref: Ref | None = None


# -- server -> client -------------------------------------------------------


class Challenge(_Frame, frozen=True, tag="challenge"):
    """Sent on connect: a fresh random nonce to sign, valid for ``expires_in`` s."""

    nonce: B64
    expires_in: float


class Limits(msgspec.Struct, frozen=True, gc=False):
    """The limits a server enforces, announced in ``welcome``.

    Unknown fields are ignored, so that a server may announce new limits
    without breaking older clients. ``max_batch`` 0 means the server takes
    no ``publish_batch``.
    """

    max_frame_bytes: int
    max_payload_bytes: int
    max_topics: int
    rate: float
    burst: int
    max_batch: int = 0
    batch_items_per_token: int = 1
    reply_bytes_per_token: int = 0


class TurnServer(msgspec.Struct, frozen=True, gc=False):
    """A TURN relay and short-lived credentials for it (inside ``welcome``).

    ``username`` is ``"<expiry unix time>:<random>"`` and ``credential`` its
    HMAC under the operator's shared secret (coturn's ``use-auth-secret``).
    """

    urls: list[str]
    username: str
    credential: str


class Welcome(_Frame, frozen=True, tag="welcome"):
    """Authentication succeeded; routing messages may follow.

    ``turn`` lists the TURN relays the node may use (empty: none).
    """

    heartbeat_interval: float
    limits: Limits
    turn: list[TurnServer] = []


class Retained(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A topic's current retained value (inside ``subscribed``)."""

    topic: Topic
    payload: Payload


class Subscribed(_Frame, frozen=True, tag="subscribed"):
    """Reply to ``subscribe``: the retained values of the requested topics."""

    topics: list[Topic]
    retained: list[Retained]
    ref: Ref | None = None


class Ack(_Frame, frozen=True, tag="ack"):
    """Reply to ``unsubscribe``, ``publish``, ``retract``, ``relay``, ``intro``."""

    ref: Ref | None = None


class Event(_Frame, frozen=True, tag="event"):
    """A publisher set a new value on a subscribed topic."""

    topic: Topic
    payload: Payload


class Gone(_Frame, frozen=True, tag="gone"):
    """A subscribed topic's publisher retracted it or disconnected."""

    topic: Topic


class Relayed(_Frame, frozen=True, tag="relayed"):
    """A relayed payload for a subscribed topic."""

    topic: Topic
    payload: Payload


class IntroReceived(_Frame, frozen=True, tag="intro_received"):
    """A contact request arrived on a subscribed intro topic."""

    topic: Topic
    payload: Payload


class MailboxItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One stored item of a mailbox (inside ``mailbox_items``)."""

    id: Ref
    payload: Payload


class MailboxItems(_Frame, frozen=True, tag="mailbox_items"):
    """Reply to ``mailbox_fetch``: the oldest items, oldest first.

    ``more``: further items wait (acknowledge these, then fetch again).
    """

    topic: Topic
    items: list[MailboxItem]
    more: bool
    ref: Ref | None = None


class Error(_Frame, frozen=True, tag="error"):
    """A request failed, or the last frame broke the protocol."""

    code: Text
    message: Text
    ref: Ref | None = None


class Bye(_Frame, frozen=True, tag="bye"):
    """The server is about to close the connection, and why."""

    code: Text
    message: Text
    reconnect: bool


ClientMessage: TypeAlias = (
    Auth
    | Subscribe
    | Unsubscribe
    | Publish
    | PublishBatch
    | Retract
    | Relay
    | Intro
    | MailboxDeposit
    | MailboxFetch
    | MailboxAck
)
ServerMessage: TypeAlias = (
    Challenge
    | Welcome
    | Subscribed
    | Ack
    | Event
    | Gone
    | Relayed
    | IntroReceived
    | MailboxItems
    | Error
    | Bye
)

_encoder: Final = msgspec.json.Encoder()
_client_decoder: Final[msgspec.json.Decoder[ClientMessage]] = msgspec.json.Decoder(ClientMessage)
_server_decoder: Final[msgspec.json.Decoder[ServerMessage]] = msgspec.json.Decoder(ServerMessage)


def encode(message: ClientMessage | ServerMessage) -> str:
    """Encode a message as the text of one frame."""
    return _encoder.encode(message).decode("utf-8")


# What msgspec raises on garbage: DecodeError (ValidationError included),
# UnicodeError for invalid UTF-8 in bytes or lone surrogates in a str, and
# RecursionError for arrays or objects nested a thousand deep.
_UNDECODABLE: Final = (msgspec.DecodeError, UnicodeError, RecursionError)


def decode_client_message(data: str | bytes) -> ClientMessage:
    """Decode and validate a client frame, or raise WireFormatError."""
    try:
        return _client_decoder.decode(data)
    except _UNDECODABLE as exc:
        raise WireFormatError(_reason(exc)) from None


def decode_server_message(data: str | bytes) -> ServerMessage:
    """Decode and validate a server frame, or raise WireFormatError."""
    try:
        return _server_decoder.decode(data)
    except _UNDECODABLE as exc:
        raise WireFormatError(_reason(exc)) from None


def _reason(exc: Exception) -> str:
    if isinstance(exc, UnicodeError):
        return "frame is not valid UTF-8"
    if isinstance(exc, RecursionError):
        return "frame is nested too deeply"
    return str(exc)


def encode_payload(data: bytes) -> str:
    """Write bytes as unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_payload(text: str) -> bytes:
    """Read unpadded base64url, or raise WireFormatError."""
    if len(text) % 4 == 1:
        raise WireFormatError("base64url text has an impossible length")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise WireFormatError(f"not base64url: {exc}") from None


def payload_size(text: str) -> int:
    """Decoded size in bytes of unpadded base64url text, without decoding it."""
    return len(text) * 3 // 4


def encode_topic(topic: bytes) -> str:
    """Write a 32-byte topic as 43 characters of base64url."""
    if len(topic) != TOPIC_SIZE:
        raise WireFormatError(f"a topic is {TOPIC_SIZE} bytes, got {len(topic)}")
    return encode_payload(topic)


def token_topic(token: bytes) -> bytes:
    """The topic a publish token opens: SHA-256 of a label and the token.

    The server checks every ``publish`` and ``retract`` with it, so only a
    holder of the token (derived from a pair's secret) can set or withdraw
    the topic's value; knowing the topic is not enough.
    """
    if len(token) != TOPIC_SIZE:
        raise WireFormatError(f"a publish token is {TOPIC_SIZE} bytes, got {len(token)}")
    return hashlib.sha256(TOKEN_LABEL + token).digest()


def decode_topic(text: str) -> bytes:
    """Read a topic, or raise WireFormatError."""
    raw = decode_payload(text)
    if len(raw) != TOPIC_SIZE or encode_payload(raw) != text:
        raise WireFormatError("a topic is 32 bytes written as 43 base64url characters")
    return raw
