"""Typed events the client core returns: one frozen dataclass per thing
that can happen on a connection. Errors the server *reports* are events
(:class:`ServerError`); a server that breaks the protocol is
:class:`ServerProtocolViolation`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from kith_proto import wire

__all__ = [
    "Authenticated",
    "AuthenticationFailed",
    "ClientEvent",
    "Disconnected",
    "IntroductionReceived",
    "MailboxFetched",
    "RelayReceived",
    "RequestAcked",
    "ServerError",
    "ServerGoodbye",
    "ServerProtocolViolation",
    "SubscriptionConfirmed",
    "TopicGone",
    "TopicValue",
]


@dataclass(frozen=True)
class Authenticated:
    """The server accepted our signature; routing requests may be sent."""

    heartbeat_interval: float
    limits: wire.Limits


@dataclass(frozen=True)
class AuthenticationFailed:
    """The server refused our authentication (it closes the connection next).

    ``retryable``: a new connection may succeed (``challenge_expired``: a slow
    link, and the next connection brings a fresh challenge).
    """

    code: str
    message: str
    retryable: bool = False


@dataclass(frozen=True)
class SubscriptionConfirmed:
    """Reply to :meth:`ClientConnection.subscribe` with current retained values."""

    ref: int | None
    topics: tuple[bytes, ...]
    retained: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True)
class RequestAcked:
    """The server accepted the request numbered ``ref``."""

    ref: int | None


@dataclass(frozen=True)
class TopicValue:
    """A subscribed topic's publisher set ``payload``."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class TopicGone:
    """A subscribed topic's publisher retracted it or disconnected."""

    topic: bytes


@dataclass(frozen=True)
class RelayReceived:
    """Someone relayed ``payload`` to a topic we subscribe to."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class IntroductionReceived:
    """A contact request arrived on an intro topic we subscribe to."""

    topic: bytes
    payload: bytes


@dataclass(frozen=True)
class MailboxFetched:
    """Reply to :meth:`ClientConnection.mailbox_fetch`: ``(id, item)`` pairs,
    oldest first; ``more`` when others wait (acknowledge, then fetch again)."""

    ref: int | None
    topic: bytes
    items: tuple[tuple[int, bytes], ...]
    more: bool


@dataclass(frozen=True)
class ServerError:
    """The server reported an error; ``ref`` names our request when it has one."""

    code: str
    message: str
    ref: int | None


@dataclass(frozen=True)
class ServerGoodbye:
    """The server is closing the connection; ``reconnect`` says if retrying helps."""

    code: str
    message: str
    reconnect: bool


@dataclass(frozen=True)
class ServerProtocolViolation:
    """The server sent a frame that is malformed or not allowed now."""

    detail: str


@dataclass(frozen=True)
class Disconnected:
    """The WebSocket closed; ``reconnect`` says whether an adapter should retry."""

    code: int | None
    reason: str
    reconnect: bool


ClientEvent: TypeAlias = (
    Authenticated
    | AuthenticationFailed
    | SubscriptionConfirmed
    | RequestAcked
    | TopicValue
    | TopicGone
    | RelayReceived
    | IntroductionReceived
    | MailboxFetched
    | ServerError
    | ServerGoodbye
    | ServerProtocolViolation
    | Disconnected
)
